package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.GeneralisedAnscombe;
import io.fluostream.imaging.denoise.NoiseEstimator;
import io.fluostream.imaging.denoise.NoiseModel;
import java.util.ArrayList;
import java.util.List;

/**
 * The denoise stage's classical path on the device: the same reconstruction as
 * {@link ClassicalDenoiser} — variance stabilisation (generalised Anscombe), translation-invariant
 * Haar wavelet shrinkage (hard-threshold pilot, then empirical Wiener) and the exact unbiased
 * inverse — with every per-pixel step in tensor operations, all channels at once.
 *
 * <p>What stays on the host: the noise fit ({@link NoiseEstimator}, statistics over 8×8 blocks of
 * the raw frame, which is on the host anyway) and the inverse transform's table: the host
 * tabulates {@link GeneralisedAnscombe#inverse} at {@value #INVERSE_POINTS} points over the range
 * the denoised values actually span (two numbers per channel come back for that), and the device
 * interpolates. Per frame the raw pixels go up once and the denoised ones come down once.
 *
 * <p>The wavelet is the undecimated ("à trous") Haar transform with half-sample mirrored edges:
 * each level is two gathers (the partner sample {@code s} away along x, then along y) and four
 * sums; the inverse averages the two Haar pairs covering each sample, selected by row and column
 * masks where the Java code branches. Not thread-safe; {@link #close()} frees the device memory.
 */
public final class DeviceDenoiser implements AutoCloseable {

    /** Points of the tabulated inverse transform per channel (linear interpolation between them). */
    static final int INVERSE_POINTS = 8192;
    /** Half-width of the Wiener step's local energy window (5 × 5). */
    private static final int ENERGY_RADIUS = 2;

    private final ClassicalDenoiser.Settings settings;
    private final NoiseEstimator estimator;
    private final DeviceWorkspace workspace;
    private final AxisMaps maps;

    public DeviceDenoiser(ClassicalDenoiser.Settings settings, Device device) {
        this.settings = settings;
        this.estimator = new NoiseEstimator(settings.noiseBlockSize());
        this.workspace = new DeviceWorkspace(device, "denoise");
        this.maps = new AxisMaps(workspace);
    }

    public ClassicalDenoiser.Settings settings() {
        return settings;
    }

    public Device device() {
        return workspace.device();
    }

    /**
     * Denoises a raw frame, as {@link ClassicalDenoiser#denoise(Image, double)}.
     *
     * @param offsetAdu camera offset in ADU, or NaN to estimate it per channel
     * @throws IllegalArgumentException on a non-finite sample or an infinite offset
     */
    public ClassicalDenoiser.Result denoise(Image raw, double offsetAdu) {
        if (Double.isInfinite(offsetAdu)) {
            throw new IllegalArgumentException("offset must be finite ADU or NaN (unknown), got " + offsetAdu);
        }
        requireFinite(raw);
        int channels = raw.channels();
        int h = raw.height();
        int w = raw.width();
        int n = raw.planeSize();
        NoiseModel[] models = new NoiseModel[channels];
        GeneralisedAnscombe[] transforms = new GeneralisedAnscombe[channels];
        double sigmaSum = 0;
        for (int c = 0; c < channels; c++) {
            models[c] = estimator.estimate(raw.data(), raw.planeOffset(c), h, w, offsetAdu);
            transforms[c] = new GeneralisedAnscombe(models[c]);
            sigmaSum += models[c].sigmaAt(mean(raw.data(), raw.planeOffset(c), n));
        }
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDManager fm = frame.manager();
            NDArray pixels = workspace.upload(frame, raw);
            List<NDArray> planes = new ArrayList<>(channels);
            for (int c = 0; c < channels; c++) {
                planes.add(stabilise(pixels.get(c), models[c]));
            }
            NDArray stabilised = NDArrays.stack(new NDList(planes));
            NDArray denoised = shrink(stabilised, h, w);

            // The inverse transform, tabulated on the host over the range that came out.
            NDArray flat = denoised.reshape(channels, n);
            NDArray range = NDArrays.stack(new NDList(flat.min(new int[] {1}), flat.max(new int[] {1})));
            float[] bounds = range.toFloatArray(); // [min_0 … min_{C-1}, max_0 … max_{C-1}]
            float[] table = new float[channels * INVERSE_POINTS];
            float[] lows = new float[channels];
            float[] steps = new float[channels];
            for (int c = 0; c < channels; c++) {
                float lo = bounds[c];
                float hi = bounds[channels + c];
                float step = hi > lo ? (hi - lo) / (INVERSE_POINTS - 1) : 1f;
                float[] at = new float[INVERSE_POINTS];
                for (int i = 0; i < INVERSE_POINTS; i++) {
                    at[i] = lo + i * step;
                }
                transforms[c].inverse(at, 0, table, c * INVERSE_POINTS, INVERSE_POINTS);
                lows[c] = lo;
                steps[c] = step;
            }
            NDArray out = interpolate(denoised, fm.create(table), fm.create(lows).reshape(channels, 1, 1),
                    fm.create(steps).reshape(channels, 1, 1), channels);
            Image result = DeviceWorkspace.download(out, channels, h, w);
            return new ClassicalDenoiser.Result(result, List.of(models), sigmaSum / channels);
        }
    }

    /** The shifted generalised Anscombe transform of one raw plane (see {@link GeneralisedAnscombe}). */
    private static NDArray stabilise(NDArray raw, NoiseModel model) {
        NDArray z = raw.sub((float) model.offset());
        if (model.gain() == 0) {
            return z.div((float) Math.sqrt(model.readVariance()));
        }
        z = z.div((float) model.gain());
        double sigma2 = model.readVariance() / (model.gain() * model.gain());
        double rootK = Math.sqrt(0.375 + sigma2);
        double sigma = Math.sqrt(sigma2);
        double tailStart = 2 * sigma - 2 * rootK;
        // 2z/(√(z + k) + √k) above z = −3/8; the tangent line below. The clamp keeps the root's
        // argument positive where the tail applies (the unused branch must not be NaN).
        NDArray root = z.mul(2f).div(z.maximum(-0.375f).add((float) (rootK * rootK)).sqrt().add((float) rootK));
        NDArray tail = sigma > 0 ? z.add(0.375f).div((float) sigma).add((float) tailStart)
                : z.zerosLike().add((float) tailStart);
        return NDArrays.where(z.gte(-0.375f), root, tail);
    }

    /** Removes unit-variance Gaussian noise from {@code C × H × W} planes, as {@code WaveletDenoiser}. */
    private NDArray shrink(NDArray noisy, int h, int w) {
        int used = usableLevels(h, w);
        float threshold = (float) settings.pilotThreshold();
        float noisePower = (float) settings.wienerStrength();
        NDArray[][] bands = new NDArray[used][];
        NDArray approx = noisy;
        for (int j = 0; j < used; j++) {
            NDArray[] level = forward(approx, 1 << j, h, w);
            approx = level[0];
            bands[j] = new NDArray[] {level[1], level[2], level[3]};
        }
        NDArray noisyApprox = approx;
        // Step 1: a pilot from the large coefficients only.
        NDArray pilot = approx;
        for (int j = used - 1; j >= 0; j--) {
            NDArray[] kept = new NDArray[3];
            for (int b = 0; b < 3; b++) {
                kept[b] = bands[j][b].mul(bands[j][b].abs().gt(threshold));
            }
            pilot = inverse(pilot, kept, 1 << j, h, w);
        }
        // Step 2: Wiener-scale the noisy bands by the pilot's local coefficient energy.
        NDArray[][] scaled = new NDArray[used][3];
        for (int j = 0; j < used; j++) {
            NDArray[] level = forward(pilot, 1 << j, h, w);
            pilot = level[0];
            for (int b = 0; b < 3; b++) {
                NDArray energy = localEnergy(level[1 + b], h, w);
                scaled[j][b] = bands[j][b].mul(energy.div(energy.add(noisePower)));
            }
        }
        NDArray out = noisyApprox;
        for (int j = used - 1; j >= 0; j--) {
            out = inverse(out, scaled[j], 1 << j, h, w);
        }
        return out;
    }

    /** One undecimated Haar level with step {@code s}: {next approximation, LH, HL, HH}. */
    private NDArray[] forward(NDArray a, int s, int h, int w) {
        NDArray partner = AxisMaps.columns(a, maps.halfSampleShift(w, s));
        NDArray low = a.add(partner);
        NDArray high = a.sub(partner);
        NDArray yMap = maps.halfSampleShift(h, s);
        NDArray low1 = AxisMaps.rows(low, yMap);
        NDArray high1 = AxisMaps.rows(high, yMap);
        return new NDArray[] {
            low.add(low1).mul(0.5f),
            low.sub(low1).mul(0.5f),
            high.add(high1).mul(0.5f),
            high.sub(high1).mul(0.5f),
        };
    }

    /**
     * Inverse of {@link #forward}: each sample is covered by the Haar pair starting at it and the one
     * ending at it (step {@code s} before); where both exist the two reconstructions are averaged.
     */
    private NDArray inverse(NDArray a, NDArray[] band, int s, int h, int w) {
        NDArray lh = band[0];
        NDArray hl = band[1];
        NDArray hh = band[2];
        NDArray rowsBack = maps.clampedShift(h, -s);
        NDArray hasRowPair = rowMask(h, s);
        NDArray loStart = a.add(lh);
        NDArray hiStart = hl.add(hh);
        NDArray lo = select(hasRowPair, loStart.add(AxisMaps.rows(a.sub(lh), rowsBack)).mul(0.5f), loStart);
        NDArray hi = select(hasRowPair, hiStart.add(AxisMaps.rows(hl.sub(hh), rowsBack)).mul(0.5f), hiStart);
        NDArray sum = lo.add(hi);
        NDArray paired = sum.add(AxisMaps.columns(lo.sub(hi), maps.clampedShift(w, -s))).mul(0.25f);
        return select(columnMask(w, s), paired, sum.mul(0.5f));
    }

    /** {@code where} with the condition broadcast to the operands (DJL's own does not broadcast it). */
    static NDArray select(NDArray condition, NDArray whenTrue, NDArray whenFalse) {
        return NDArrays.where(condition.broadcast(whenTrue.getShape()), whenTrue, whenFalse);
    }

    /** Mean of {@code p²} over the 5 × 5 window, half-sample mirrored at the borders. */
    private NDArray localEnergy(NDArray p, int h, int w) {
        NDArray sq = p.square();
        NDArray across = null;
        for (int d = -ENERGY_RADIUS; d <= ENERGY_RADIUS; d++) {
            NDArray t = d == 0 ? sq : AxisMaps.columns(sq, maps.halfSampleShift(w, d));
            across = across == null ? t : across.add(t);
        }
        NDArray total = null;
        for (int d = -ENERGY_RADIUS; d <= ENERGY_RADIUS; d++) {
            NDArray t = d == 0 ? across : AxisMaps.rows(across, maps.halfSampleShift(h, d));
            total = total == null ? t : total.add(t);
        }
        return total.mul(1f / 25f);
    }

    /** (1, H, 1) true for rows {@code y ≥ s}. */
    private NDArray rowMask(int h, int s) {
        return maps.cached("rows>=" + h + ":" + s, () -> positionsFrom(h, s)).reshape(1, h, 1).gte(1);
    }

    /** (1, 1, W) true for columns {@code x ≥ s}. */
    private NDArray columnMask(int w, int s) {
        return maps.cached("cols>=" + w + ":" + s, () -> positionsFrom(w, s)).reshape(1, 1, w).gte(1);
    }

    private static long[] positionsFrom(int length, int s) {
        long[] m = new long[length];
        for (int i = s; i < length; i++) {
            m[i] = 1;
        }
        return m;
    }

    /** Per channel: table[c][(d − lo_c)/step_c], linearly interpolated (extrapolated at the ends). */
    private static NDArray interpolate(NDArray d, NDArray table, NDArray lows, NDArray steps, int channels) {
        NDArray t = d.sub(lows).div(steps);
        NDArray cell = t.floor().clip(0, INVERSE_POINTS - 2);
        NDArray frac = t.sub(cell);
        NDArray base = cell.toType(DataType.INT64, false)
                .add(d.getManager().arange(0, channels * INVERSE_POINTS, INVERSE_POINTS, DataType.INT64)
                        .reshape(channels, 1, 1));
        NDArray left = table.take(base);
        NDArray right = table.take(base.add(1));
        return left.add(right.sub(left).mul(frac));
    }

    /** Levels whose step still fits in the plane, as the pure-Java transform. */
    private int usableLevels(int h, int w) {
        int used = 0;
        while (used < settings.waveletLevels() && (1 << used) < Math.max(h, w)) {
            used++;
        }
        return Math.max(used, 1);
    }

    private static void requireFinite(Image raw) {
        float[] d = raw.data();
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                int plane = raw.planeSize();
                int p = i % plane;
                throw new IllegalArgumentException("raw frame " + raw + " has a non-finite sample " + d[i]
                        + " at (c=" + i / plane + ", y=" + p / raw.width() + ", x=" + p % raw.width()
                        + "); raw frames must hold finite counts");
            }
        }
    }

    private static double mean(float[] d, int start, int n) {
        double s = 0;
        for (int i = start; i < start + n; i++) {
            s += d[i];
        }
        return s / n;
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
