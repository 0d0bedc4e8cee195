package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.OpticalFlow;
import io.fluostream.imaging.flow.PyramidalFlow;

/**
 * The flow stage's variational method on the device: coarse-to-fine iterative Lucas–Kanade with a
 * Gaussian window and confidence-weighted smoothing, the same estimator as {@link PyramidalFlow}
 * (see there for the method and its accuracy) written in tensor operations, so the same code runs
 * on CUDA and, for tests, on libtorch's CPU kernels.
 *
 * <p>How each piece maps: Gaussian blurs (pre-smoothing, pyramid reduction, the LK window, the
 * smoothing) are separable convolutions with replicated edges ({@link DeviceGaussian}); the
 * per-pixel 2 × 2 normal equations are elementwise arithmetic on the windowed structure tensor;
 * the warp gathers the 4 (bilinear) or 16 (Keys bicubic, finest level) neighbours of every
 * displaced pixel from an edge-padded copy of the next frame; the robust gradient-energy scale
 * (99.5th percentile clip) takes the order statistic from a sort on the device and its
 * 1/16-octave bin edge on the host — one small download per pyramid level.
 *
 * <p>Per frame the two frames go up once and the flow field comes down once. Each Gauss–Newton
 * step runs in its own scope so the frame's peak device memory is one step's, not all of them.
 * Not thread-safe (one per stream thread); {@link #close()} frees the device memory.
 */
public final class DeviceFlow implements OpticalFlow, AutoCloseable {

    /** Normalised-convolution floor, as the pure-Java estimator. */
    private static final float MIN_NEIGHBOUR_WEIGHT = 1e-2f;
    /** Float bits dropped for the gradient-energy bins: exponent and 4 mantissa bits. */
    private static final int HISTOGRAM_SHIFT = 19;
    private static final double REDUCE_SIGMA = 1.0;
    /** Border (px) of the padded next frame the warp samples. */
    private static final int PAD = 2;

    private final PyramidalFlow.Settings settings;
    private final DeviceWorkspace workspace;
    private final AxisMaps maps;
    private final DeviceGaussian window;
    private final DeviceGaussian smoothing;
    private final DeviceGaussian presmooth;
    private final DeviceGaussian reduce;

    public DeviceFlow(PyramidalFlow.Settings settings, Device device) {
        this.settings = settings;
        this.workspace = new DeviceWorkspace(device, "flow");
        this.maps = new AxisMaps(workspace);
        this.window = new DeviceGaussian(settings.windowSigma(), workspace, maps);
        this.smoothing = settings.smoothingSigma() > 0 ? new DeviceGaussian(settings.smoothingSigma(), workspace, maps) : null;
        this.presmooth = settings.presmoothSigma() > 0 ? new DeviceGaussian(settings.presmoothSigma(), workspace, maps) : null;
        this.reduce = new DeviceGaussian(REDUCE_SIGMA, workspace, maps);
    }

    public PyramidalFlow.Settings settings() {
        return settings;
    }

    public Device device() {
        return workspace.device();
    }

    @Override
    public void estimate(Image previous, Image next, FlowField out) {
        requireFrame(previous, "previous");
        requireFrame(next, "next");
        if (previous.height() != next.height() || previous.width() != next.width()) {
            throw new IllegalArgumentException("frames differ in shape: previous " + previous + ", next " + next
                    + "; flow needs two frames of one stream at one size");
        }
        if (out.height() != previous.height() || out.width() != previous.width()) {
            throw new IllegalArgumentException("output " + out + " does not match frames " + previous);
        }
        int h = previous.height();
        int w = previous.width();
        int levels = levels(h, w);
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDManager fm = frame.manager();
            NDArray pair = workspace.upload(frame, new Shape(2, h, w), previous.data(), next.data());
            if (presmooth != null) {
                pair = presmooth.apply(pair);
            }
            NDArray[] pyramid = new NDArray[levels];
            pyramid[0] = pair;
            for (int k = 1; k < levels; k++) {
                pyramid[k] = reduce.apply(pyramid[k - 1]).get(":, ::2, ::2");
            }
            NDArray flow = null; // (2, h, w): u, v at the level in hand
            for (int k = levels - 1; k >= 0; k--) {
                NDArray level = pyramid[k];
                int lh = (int) level.getShape().get(1);
                int lw = (int) level.getShape().get(2);
                flow = flow == null ? fm.zeros(new Shape(2, lh, lw)) : upsample(flow, lh, lw);
                flow = refine(level, flow, lh, lw, k == 0);
            }
            float[] uv = flow.toFloatArray();
            System.arraycopy(uv, 0, out.asImage().data(), 0, uv.length);
        }
    }

    /** Gauss–Newton steps on one level's flow, each followed by confidence-weighted smoothing. */
    private NDArray refine(NDArray level, NDArray flow, int h, int w, boolean cubic) {
        NDArray i1 = level.get(0);
        NDArray i2 = level.get(1);
        NDArray ix = gradient(i1, w, true);
        NDArray iy = gradient(i1, h, false);
        NDArray xx = ix.square();
        NDArray xy = ix.mul(iy);
        NDArray yy = iy.square();

        // λ from the gradient energy with its top 0.5% clipped to the 1/16-octave bin edge above
        // the 99.5th percentile, as the pure-Java histogram does; the order statistic comes back.
        NDArray energy = xx.add(yy).reshape(-1);
        long n = (long) h * w;
        int target = (int) Math.ceil(0.995 * n);
        float[] found = NDArrays.stack(new NDList(energy.sort().get(target - 1), energy.max())).toFloatArray();
        if (!(found[1] > 0)) {
            return flow.zerosLike(); // a perfectly flat level carries no motion information
        }
        float clip = Float.intBitsToFloat(((Float.floatToRawIntBits(found[0]) >>> HISTOGRAM_SHIFT) + 1) << HISTOGRAM_SHIFT);
        NDArray lambda = energy.toType(DataType.FLOAT64, false).minimum(clip).mean()
                .mul(settings.regularisation() * 0.5).toType(DataType.FLOAT32, false);

        NDArray tensor = window.apply(NDArrays.stack(new NDList(xx, xy, yy)));
        NDArray a = tensor.get(0);
        NDArray b = tensor.get(1);
        NDArray c = tensor.get(2);
        NDArray half = a.add(c).mul(0.5f);
        NDArray diff = a.sub(c).mul(0.5f);
        NDArray disc = diff.square().add(b.square()).sqrt();
        NDArray minEigen = half.sub(disc).maximum(0f);
        NDArray weight = minEigen.div(minEigen.add(lambda));
        // det(A + λI) = det A + λ(trace A + λ), det A clamped at 0 against rounding.
        NDArray invDet = a.mul(c).sub(b.square()).maximum(0f).add(lambda.mul(a.add(c).add(lambda))).pow(-1f);
        NDArray ia = c.add(lambda).mul(invDet);
        NDArray ib = b.neg().mul(invDet);
        NDArray ic = a.add(lambda).mul(invDet);
        NDArray weightSum = smoothing != null ? smoothing.apply(weight.expandDims(0)).get(0) : null;
        NDArray padded = padNext(i2, h, w);
        NDArray[] uv = {flow.get(0), flow.get(1)};
        for (int it = 0; it < settings.iterations(); it++) {
            NDArray u0 = uv[0];
            NDArray v0 = uv[1];
            uv = DeviceWorkspace.step(() -> {
                NDArray temporal = warpedDifference(padded, i1, u0, v0, h, w, cubic);
                NDArray rhs = window.apply(NDArrays.stack(new NDList(ix.mul(temporal), iy.mul(temporal))));
                NDArray bx = rhs.get(0);
                NDArray by = rhs.get(1);
                NDArray u = u0.sub(ia.mul(bx).add(ib.mul(by)));
                NDArray v = v0.sub(ib.mul(bx).add(ic.mul(by)));
                if (smoothing == null) {
                    return new NDArray[] {u, v};
                }
                NDArray smoothed = smoothing.apply(NDArrays.stack(new NDList(weight.mul(u), weight.mul(v))));
                NDArray norm = weightSum.maximum(MIN_NEIGHBOUR_WEIGHT).pow(-1f);
                return new NDArray[] {smoothed.get(0).mul(norm), smoothed.get(1).mul(norm)};
            });
        }
        return NDArrays.stack(new NDList(uv[0], uv[1]));
    }

    /** Central differences along x or y, one-sided at the edges, as the pure-Java estimator. */
    private NDArray gradient(NDArray plane, int length, boolean alongX) {
        NDArray ahead = maps.clampedShift(length, 1);
        NDArray behind = maps.clampedShift(length, -1);
        NDArray scale = maps.cachedFloats("gradient-scale:" + length, () -> {
            float[] s = new float[length];
            for (int i = 0; i < length; i++) {
                s[i] = i == 0 || i == length - 1 ? 1f : 0.5f;
            }
            return s;
        });
        if (alongX) {
            return AxisMaps.columns(plane, ahead).sub(AxisMaps.columns(plane, behind)).mul(scale.reshape(1, length));
        }
        return AxisMaps.rows(plane, ahead).sub(AxisMaps.rows(plane, behind)).mul(scale.reshape(length, 1));
    }

    /** The next frame with its edges replicated {@value #PAD} px out, flattened for gathers. */
    private NDArray padNext(NDArray next, int h, int w) {
        NDArray rows = AxisMaps.rows(next, maps.replicatePad(h, PAD));
        return AxisMaps.columns(rows, maps.replicatePad(w, PAD)).reshape(-1);
    }

    /**
     * {@code next(p + flow(p)) − previous(p)} where the sample falls inside the frame, 0 elsewhere;
     * bicubic (Keys, a = −½) or bilinear sampling.
     */
    private NDArray warpedDifference(NDArray padded, NDArray previous, NDArray u, NDArray v, int h, int w,
            boolean cubic) {
        NDManager fm = u.getManager();
        NDArray xs = maps.cachedFloats("x:" + w, () -> ramp(w)).reshape(1, w);
        NDArray ys = maps.cachedFloats("y:" + h, () -> ramp(h)).reshape(h, 1);
        NDArray sx = u.add(xs);
        NDArray sy = v.add(ys);
        NDArray inside = sx.gte(0f).logicalAnd(sy.gte(0f)).logicalAnd(sx.lte(w - 1f)).logicalAnd(sy.lte(h - 1f));
        // Positions outside are clamped only so their (unused) gathers stay in range.
        NDArray cx = sx.clip(0, w - 1);
        NDArray cy = sy.clip(0, h - 1);
        NDArray x0 = cx.floor();
        NDArray y0 = cy.floor();
        NDArray fx = cx.sub(x0);
        NDArray fy = cy.sub(y0);
        long pw = w + 2L * PAD;
        NDArray base = y0.toType(DataType.INT64, false).add(PAD).mul(pw).add(x0.toType(DataType.INT64, false).add(PAD));
        NDArray sample;
        if (cubic) {
            NDArray[] wx = keys(fx);
            NDArray[] wy = keys(fy);
            sample = null;
            for (int j = 0; j < 4; j++) {
                NDArray row = null;
                for (int i = 0; i < 4; i++) {
                    NDArray p = padded.take(base.add((j - 1) * pw + (i - 1)));
                    NDArray term = wx[i].mul(p);
                    row = row == null ? term : row.add(term);
                }
                NDArray term = wy[j].mul(row);
                sample = sample == null ? term : sample.add(term);
            }
        } else {
            NDArray p00 = padded.take(base);
            NDArray p01 = padded.take(base.add(1));
            NDArray p10 = padded.take(base.add(pw));
            NDArray p11 = padded.take(base.add(pw + 1));
            NDArray top = p00.add(fx.mul(p01.sub(p00)));
            NDArray bottom = p10.add(fx.mul(p11.sub(p10)));
            sample = top.add(fy.mul(bottom.sub(top)));
        }
        NDArray difference = sample.sub(previous);
        return NDArrays.where(inside, difference, fm.create(0f));
    }

    /** Keys cubic convolution weights (a = −½) of the taps at −1, 0, 1, 2 for fraction t. */
    private static NDArray[] keys(NDArray t) {
        NDArray t2 = t.square();
        return new NDArray[] {
            t.mul(t.mul(t.mul(-0.5f).add(1f)).add(-0.5f)),
            t2.mul(t.mul(1.5f).add(-2.5f)).add(1f),
            t.mul(t.mul(t.mul(-1.5f).add(2f)).add(0.5f)),
            t2.mul(t.mul(0.5f).add(-0.5f)),
        };
    }

    /**
     * The coarser level's flow on this level's grid, doubled: fine pixel 2c on coarse pixel c,
     * 2c + 1 halfway to c + 1 (the last coarse pixel repeated at the edge).
     */
    private NDArray upsample(NDArray coarse, int h, int w) {
        int ch = (int) coarse.getShape().get(1);
        int cw = (int) coarse.getShape().get(2);
        NDArray left = maps.cached("up-a:" + w + ":" + cw, () -> upsampleMap(w, cw, false));
        NDArray right = maps.cached("up-b:" + w + ":" + cw, () -> upsampleMap(w, cw, true));
        NDArray widened = AxisMaps.columns(coarse, left).add(AxisMaps.columns(coarse, right)).mul(0.5f);
        NDArray above = maps.cached("up-a:" + h + ":" + ch, () -> upsampleMap(h, ch, false));
        NDArray below = maps.cached("up-b:" + h + ":" + ch, () -> upsampleMap(h, ch, true));
        return AxisMaps.rows(widened, above).add(AxisMaps.rows(widened, below));
    }

    private static long[] upsampleMap(int fine, int coarse, boolean next) {
        long[] m = new long[fine];
        for (int i = 0; i < fine; i++) {
            m[i] = Math.min((i >> 1) + (next ? (i & 1) : 0), coarse - 1);
        }
        return m;
    }

    /** Pyramid levels for this frame size: the coarsest keeps at least 16 px a side. */
    private int levels(int h, int w) {
        int levels = 1;
        int lh = h;
        int lw = w;
        while (levels < settings.levels()) {
            int nh = (lh + 1) / 2;
            int nw = (lw + 1) / 2;
            if (Math.min(nh, nw) < PyramidalFlow.MIN_LEVEL_SIZE) {
                break;
            }
            lh = nh;
            lw = nw;
            levels++;
        }
        return levels;
    }

    private static float[] ramp(int n) {
        float[] r = new float[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static void requireFrame(Image frame, String name) {
        if (frame.channels() != 1) {
            throw new IllegalArgumentException(name + " frame must be single-channel (sum the label channels first), got "
                    + frame);
        }
        float[] d = frame.data();
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                throw new IllegalArgumentException(name + " frame has a non-finite sample " + d[i] + " at row "
                        + (i / frame.width()) + ", column " + (i % frame.width()));
            }
        }
    }

    /** Arrays held between frames (for leak checks): constant once every map is built. */
    int heldArrays() {
        return workspace.heldArrays();
    }

    @Override
    public void close() {
        workspace.close();
    }
}
