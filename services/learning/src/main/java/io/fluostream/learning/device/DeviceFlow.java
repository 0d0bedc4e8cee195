package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.OpticalFlow;
import io.fluostream.imaging.flow.PyramidalFlow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The flow stage's variational method on the device: coarse-to-fine iterative Lucas–Kanade with a
 * Gaussian window and confidence-weighted smoothing, the same estimator as {@link PyramidalFlow}
 * (see there for the method, its settings and accuracy) in tensor operations, so the same code
 * runs on CUDA and, for tests, on libtorch's CPU kernels.
 *
 * <p>How each piece maps: Gaussian blurs (pre-smoothing, pyramid reduction) are separable
 * convolutions with replicated edges ({@link DeviceGaussian}); the wide LK window and smoothing
 * blur on reduced grids ({@link DeviceWideGaussian}); the per-pixel 2 × 2 normal equations are
 * elementwise arithmetic on the windowed structure tensor; the warp gathers the 4 (bilinear) or
 * 16 (Keys bicubic, last step at the finest computed level) neighbours of every displaced pixel
 * from an edge-padded copy of the next frame; the robust gradient-energy scale (99.5th percentile
 * clip) takes the order statistic from a sort on the device and its 1/16-octave bin edge on the
 * host — one small download per pyramid level.
 *
 * <p>Both directions of a pair ({@link #estimatePair}) run as one batch of two: the frames go up
 * once, both pyramids are built once, and every operation serves both directions. Each
 * Gauss–Newton step runs in its own scope, so the frame's peak device memory is one step's. Not
 * thread-safe (one per stream thread); {@link #close()} frees the device memory.
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
    private final DeviceGaussian presmooth;
    private final DeviceGaussian reduce;
    private final DeviceGaussian firstReduction;
    /**
     * Window and smoothing blurs per finest computed level f (their σ is scaled by 2^−f); kept,
     * not replaced, when the frame size changes f, so their device taps are never orphaned.
     */
    private final Map<Integer, DeviceWideGaussian[]> blursByFinest = new HashMap<>();
    private DeviceWideGaussian window;
    private DeviceWideGaussian smoothing;

    /** Forward flow, backward flow and the forward estimate's texture support. */
    public record Pair(FlowField forward, FlowField backward, Image support) {
    }

    public DeviceFlow(PyramidalFlow.Settings settings, Device device) {
        this.settings = settings;
        this.workspace = new DeviceWorkspace(device, "flow");
        this.maps = new AxisMaps(workspace);
        this.presmooth = settings.presmoothSigma() > 0 ? new DeviceGaussian(settings.presmoothSigma(), workspace, maps) : null;
        this.reduce = new DeviceGaussian(REDUCE_SIGMA, workspace, maps);
        this.firstReduction = new DeviceGaussian(Math.hypot(REDUCE_SIGMA, settings.presmoothSigma()), workspace, maps);
    }

    public PyramidalFlow.Settings settings() {
        return settings;
    }

    public Device device() {
        return workspace.device();
    }

    @Override
    public void estimate(Image previous, Image next, FlowField out) {
        if (out.height() != previous.height() || out.width() != previous.width()) {
            throw new IllegalArgumentException("output " + out + " does not match frames " + previous);
        }
        float[] uv = run(previous, next, false)[0];
        System.arraycopy(uv, 0, out.asImage().data(), 0, uv.length);
    }

    /**
     * The forward flow (previous → next), the backward flow (next → previous) and the forward
     * estimate's texture support (see {@link PyramidalFlow#textureSupport}), with one upload and
     * one download.
     */
    public Pair estimatePair(Image previous, Image next) {
        float[][] r = run(previous, next, true);
        int h = previous.height();
        int w = previous.width();
        int n = h * w;
        float[] forward = new float[2 * n];
        float[] backward = new float[2 * n];
        System.arraycopy(r[0], 0, forward, 0, n);            // u of direction 0
        System.arraycopy(r[0], 2 * n, forward, n, n);        // v of direction 0
        System.arraycopy(r[0], n, backward, 0, n);           // u of direction 1
        System.arraycopy(r[0], 3 * n, backward, n, n);       // v of direction 1
        return new Pair(new FlowField(new Image(2, h, w, forward)), new FlowField(new Image(2, h, w, backward)),
                new Image(1, h, w, r[1]));
    }

    /**
     * One direction: {u, v} as one array. Both: {[u_f, u_b, v_f, v_b], support of the forward}.
     */
    private float[][] run(Image previous, Image next, boolean both) {
        requireFrame(previous, "previous");
        requireFrame(next, "next");
        if (previous.height() != next.height() || previous.width() != next.width()) {
            throw new IllegalArgumentException("frames differ in shape: previous " + previous + ", next " + next
                    + "; flow needs two frames of one stream at one size");
        }
        int h = previous.height();
        int w = previous.width();
        int[] heights = levelSizes(h, w, true);
        int[] widths = levelSizes(h, w, false);
        int levels = heights.length;
        int finest = Math.min(settings.finestLevel(), levels - 1);
        prepareBlurs(finest);
        int batch = both ? 2 : 1;
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDArray frames = workspace.upload(frame, new Shape(2, h, w), previous.data(), next.data());
            NDArray[] pyramid = pyramid(frames, levels, finest);
            // Direction b estimates from frames[from[b]] to frames[to[b]].
            NDArray from = frame.manager().create(both ? new long[] {0, 1} : new long[] {0});
            NDArray to = frame.manager().create(both ? new long[] {1, 0} : new long[] {1});
            NDArray flow = null; // (2, B, h, w): u, v of each direction at the level in hand
            NDArray support = null;
            for (int k = levels - 1; k >= finest; k--) {
                int lh = heights[k];
                int lw = widths[k];
                flow = flow == null ? frame.manager().zeros(new Shape(2, batch, lh, lw))
                        : DeviceWideGaussian.upsample(flow.reshape(2L * batch, flow.getShape().get(2), flow.getShape().get(3)),
                                lh, lw, maps).mul(2f).reshape(2, batch, lh, lw);
                NDArray[] refined = refine(pyramid[k].get(new NDIndex("{}", from)), pyramid[k].get(new NDIndex("{}", to)),
                        flow, lh, lw, k == finest);
                flow = refined[0];
                support = refined[1];
            }
            for (int k = finest - 1; k >= 0; k--) {
                flow = DeviceWideGaussian.upsample(flow.reshape(2L * batch, heights[k + 1], widths[k + 1]),
                        heights[k], widths[k], maps).mul(2f).reshape(2, batch, heights[k], widths[k]);
                support = DeviceWideGaussian.upsample(support, heights[k], widths[k], maps);
            }
            if (!both) {
                return new float[][] {flow.toFloatArray()};
            }
            NDArray out = NDArrays.concat(new NDList(flow.reshape(-1), support.get(0).reshape(-1)));
            float[] all = out.toFloatArray();
            int n = h * w;
            return new float[][] {Arrays.copyOf(all, 4 * n), Arrays.copyOfRange(all, 4 * n, 5 * n)};
        }
    }

    /** The frames (2 × H × W) reduced by factors of 2, as the pure-Java {@code ImagePyramid}. */
    private NDArray[] pyramid(NDArray frames, int levels, int finest) {
        NDArray[] p = new NDArray[levels];
        if (finest == 0) {
            p[0] = presmooth != null ? presmooth.apply(frames) : frames;
            if (levels > 1) {
                p[1] = reduce.apply(p[0]).get(":, ::2, ::2");
            }
        } else {
            p[1] = firstReduction.apply(frames).get(":, ::2, ::2");
        }
        for (int k = 2; k < levels; k++) {
            p[k] = reduce.apply(p[k - 1]).get(":, ::2, ::2");
        }
        return p;
    }

    /**
     * Gauss–Newton steps on one level's flow (2 × B × h × w), each followed by confidence-weighted
     * smoothing; returns {flow, texture support (B × h × w)}.
     */
    private NDArray[] refine(NDArray i1, NDArray i2, NDArray flow, int h, int w, boolean finest) {
        long batch = i1.getShape().get(0);
        NDArray ix = gradient(i1, w, true);
        NDArray iy = gradient(i1, h, false);
        NDArray xx = ix.square();
        NDArray xy = ix.mul(iy);
        NDArray yy = iy.square();

        // λ per direction from the gradient energy with its top 0.5% clipped to the 1/16-octave
        // bin edge above the 99.5th percentile, as the pure-Java histogram does.
        long n = (long) h * w;
        NDArray energy = xx.add(yy).reshape(batch, n);
        int target = (int) Math.ceil(0.995 * n);
        float[] found = NDArrays.concat(new NDList(energy.sort(1).get(":, " + (target - 1)), energy.max(new int[] {1})))
                .toFloatArray();
        float[] clips = new float[(int) batch];
        float[] flat = new float[(int) batch];
        boolean anyTexture = false;
        for (int b = 0; b < batch; b++) {
            clips[b] = Float.intBitsToFloat(((Float.floatToRawIntBits(found[b]) >>> HISTOGRAM_SHIFT) + 1) << HISTOGRAM_SHIFT);
            flat[b] = found[(int) batch + b] > 0 ? 0 : 1;
            anyTexture |= flat[b] == 0;
        }
        NDManager fm = i1.getManager();
        if (!anyTexture) {
            // A perfectly flat level carries no motion information: the flow there is 0.
            return new NDArray[] {flow.zerosLike(), fm.zeros(new Shape(batch, h, w))};
        }
        NDArray flatMask = fm.create(flat).reshape(batch, 1, 1);
        // A flat direction gets a stand-in λ = 1 (its results are zeroed below).
        NDArray lambda = energy.toType(DataType.FLOAT64, false).minimum(fm.create(clips).reshape(batch, 1)
                        .toType(DataType.FLOAT64, false)).mean(new int[] {1})
                .mul(settings.regularisation() * 0.5).toType(DataType.FLOAT32, false).reshape(batch, 1, 1)
                .add(flatMask);

        NDArray tensor = window.apply(NDArrays.concat(new NDList(xx, xy, yy))); // (3B, h, w)
        NDArray a = tensor.get("0:" + batch);
        NDArray b = tensor.get(batch + ":" + 2 * batch);
        NDArray c = tensor.get(2 * batch + ":");
        NDArray half = a.add(c).mul(0.5f);
        NDArray diff = a.sub(c).mul(0.5f);
        NDArray disc = diff.square().add(b.square()).sqrt();
        NDArray minEigen = half.sub(disc).maximum(0f);
        NDArray weight = minEigen.div(minEigen.add(lambda));
        // det(A + λI) = det A + λ(trace A + λ), det A clamped at 0 against rounding.
        NDArray invDet = fm.create(1f).div(a.mul(c).sub(b.square()).maximum(0f).add(lambda.mul(a.add(c).add(lambda))));
        NDArray ia = c.add(lambda).mul(invDet);
        NDArray ib = b.neg().mul(invDet);
        NDArray ic = a.add(lambda).mul(invDet);
        NDArray weightSum = smoothing != null ? smoothing.apply(weight) : null;
        NDArray norm = weightSum != null ? fm.create(1f).div(weightSum.maximum(MIN_NEIGHBOUR_WEIGHT)) : null;
        NDArray padded = padNext(i2, h, w);
        NDArray[] uv = {flow.get(0), flow.get(1)};
        for (int it = 0; it < settings.iterations(); it++) {
            NDArray u0 = uv[0];
            NDArray v0 = uv[1];
            // Bicubic only on the last step of the finest computed level, as the pure-Java estimator.
            boolean cubic = finest && it == settings.iterations() - 1;
            uv = DeviceWorkspace.step(() -> {
                NDArray temporal = warpedDifference(padded, i1, u0, v0, h, w, cubic);
                NDArray rhs = window.apply(NDArrays.concat(new NDList(ix.mul(temporal), iy.mul(temporal))));
                NDArray bx = rhs.get("0:" + batch);
                NDArray by = rhs.get(batch + ":");
                NDArray u = u0.sub(ia.mul(bx).add(ib.mul(by)));
                NDArray v = v0.sub(ib.mul(bx).add(ic.mul(by)));
                if (smoothing == null) {
                    return new NDArray[] {u, v};
                }
                NDArray smoothed = smoothing.apply(NDArrays.concat(new NDList(weight.mul(u), weight.mul(v))));
                return new NDArray[] {smoothed.get("0:" + batch).mul(norm), smoothed.get(batch + ":").mul(norm)};
            });
        }
        NDArray keep = fm.create(1f).sub(flatMask);
        NDArray support = (weightSum != null ? weightSum : weight).mul(keep);
        return new NDArray[] {NDArrays.stack(new NDList(uv[0].mul(keep), uv[1].mul(keep))), support};
    }

    /** Central differences along x or y, one-sided at the edges, as the pure-Java pyramid. */
    private NDArray gradient(NDArray planes, int length, boolean alongX) {
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
            return AxisMaps.columns(planes, ahead).sub(AxisMaps.columns(planes, behind)).mul(scale.reshape(1, 1, length));
        }
        return AxisMaps.rows(planes, ahead).sub(AxisMaps.rows(planes, behind)).mul(scale.reshape(1, length, 1));
    }

    /** The next frames with their edges replicated {@value #PAD} px out, flattened for gathers. */
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
        long batch = u.getShape().get(0);
        NDArray xs = maps.cachedFloats("x:" + w, () -> ramp(w)).reshape(1, 1, w);
        NDArray ys = maps.cachedFloats("y:" + h, () -> ramp(h)).reshape(1, h, 1);
        NDArray sx = u.add(xs);
        NDArray sy = v.add(ys);
        NDArray inside = sx.gte(0f).logicalAnd(sy.gte(0f)).logicalAnd(sx.lte(w - 1f)).logicalAnd(sy.lte(h - 1f));
        // Positions outside are clamped only so that their (unused) gathers stay in range.
        NDArray cx = sx.clip(0, w - 1);
        NDArray cy = sy.clip(0, h - 1);
        NDArray x0 = cx.floor();
        NDArray y0 = cy.floor();
        NDArray fx = cx.sub(x0);
        NDArray fy = cy.sub(y0);
        long pw = w + 2L * PAD;
        long plane = (h + 2L * PAD) * pw;
        NDArray offsets = fm.arange(0, (int) batch, 1, DataType.INT64).mul(plane).reshape(batch, 1, 1);
        NDArray base = y0.toType(DataType.INT64, false).add(PAD).mul(pw)
                .add(x0.toType(DataType.INT64, false).add(PAD)).add(offsets);
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
        return NDArrays.where(inside, sample.sub(previous), fm.create(0f));
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

    /** Window and smoothing σ in pixels of the finest computed level (and the same at coarser ones). */
    private void prepareBlurs(int finest) {
        DeviceWideGaussian[] blurs = blursByFinest.computeIfAbsent(finest, f -> {
            double scale = 1.0 / (1 << f);
            return new DeviceWideGaussian[] {
                new DeviceWideGaussian(settings.windowSigma() * scale, workspace, maps),
                settings.smoothingSigma() > 0 ? new DeviceWideGaussian(settings.smoothingSigma() * scale, workspace, maps)
                        : null,
            };
        });
        window = blurs[0];
        smoothing = blurs[1];
    }

    /** Heights (or widths) of the pyramid levels: the coarsest keeps at least 16 px a side. */
    private int[] levelSizes(int h, int w, boolean heights) {
        List<Integer> sizes = new ArrayList<>();
        int lh = h;
        int lw = w;
        sizes.add(heights ? lh : lw);
        while (sizes.size() < settings.levels()) {
            int nh = (lh + 1) / 2;
            int nw = (lw + 1) / 2;
            if (Math.min(nh, nw) < PyramidalFlow.MIN_LEVEL_SIZE) {
                break;
            }
            lh = nh;
            lw = nw;
            sizes.add(heights ? lh : lw);
        }
        return sizes.stream().mapToInt(Integer::intValue).toArray();
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
