package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.Shift;
import io.fluostream.imaging.stabilise.ShiftResampler;

/**
 * The stabilise stage on the device: sub-pixel rigid registration against a reference by windowed
 * phase correlation with upsampled-DFT refinement, and the correcting cubic B-spline shift — the
 * same estimator as {@link PhaseCorrelator} and the same interpolation as {@link ShiftResampler},
 * in tensor operations.
 *
 * <ul>
 *   <li><b>Coarse pass.</b> The mean-free frame under a Tukey window, a real 2-D FFT (a real FFT
 *       along x, a complex one along y), the whitened, band-limited cross-power spectrum with the
 *       prepared reference, the inverse FFT, and the peak and its strongest rival outside the
 *       exclusion zone (the confidence), all on the device.</li>
 *   <li><b>Fine pass.</b> Both images under windows matched to the overlap at the integer peak,
 *       their cross-power spectrum, then the correlation evaluated directly on a 7 × 7 grid at
 *       1/4 px and a 7 × 7 grid at 1/{@code upsampleFactor} px as two small complex matrix
 *       products each ({@code Re(E_y·R·E_xᵀ)}), finished by a parabola on the host.</li>
 *   <li><b>Resampling.</b> Along each axis the B-spline prefilter (a fixed linear map, tabulated
 *       once per axis length) followed by the four taps of the shift is one matrix {@code S}; the
 *       corrected frame is {@code S_y · X · S_xᵀ} for all channels at once. Output pixels whose
 *       source lies outside the sensor are 0, as in the pure-Java resampler.</li>
 * </ul>
 *
 * <p>Host/device traffic per frame: the frame up once, the corrected frame down once; in between
 * only a handful of numbers (featureless test, peak, rival), the overlap windows and DFT kernels
 * (O(H + W) each) and the two 7 × 7 grids. Float32 on the device where the pure-Java code uses
 * double: shifts agree to about 10⁻³ px (see the tests). Not thread-safe; {@link #close()} frees
 * the device memory, prepared {@link Reference}s included.
 *
 * <p>State: each {@link Reference} remembers the last shift estimated against it, which places the
 * next frame's fine-pass window (as the pure-Java correlator remembers it for the last reference
 * it saw): a stream's estimates depend on its own history only.
 */
public final class DeviceStabiliser implements AutoCloseable {

    /** Relative contrast below which a frame counts as blank, as in the pure-Java correlator. */
    private static final double FEATURELESS = 1e-12;
    /**
     * How far, px, the coarse integer shift may be from the previous frame's estimate for the
     * predicted fine-pass windows to be used (as the pure-Java correlator).
     */
    private static final int WINDOW_LAG = 1;
    /** Grid step of the first refinement stage: 1/4 px. */
    private static final int COARSE_UPSAMPLE = 4;

    private final int height;
    private final int width;
    private final int columns; // kx in [0, W/2]
    private final PhaseCorrelator.Settings settings;
    private final int exclusionRadius;
    private final DeviceWorkspace workspace;

    private final double[] windowX;
    private final double[] windowY;
    private final NDArray fullWindowX; // (1, W)
    private final NDArray fullWindowY; // (H, 1)
    /** Gaussian spectral weight in rfft layout (H × (W/2+1)), DC and Nyquist zero. */
    private final NDArray spectralWeight;
    /** How many full-spectrum bins each rfft column stands for (1 or 2), (1 × (W/2+1)). */
    private final NDArray columnMultiplicity;
    /** Cubic B-spline prefilters as matrices: coefficients = P · samples along an axis. */
    private final NDArray prefilterY;
    private final NDArray prefilterX;
    private final NDArray rowPositions;    // 0 … H−1, float64
    private final NDArray columnPositions; // 0 … W−1, float64

    public DeviceStabiliser(int height, int width, PhaseCorrelator.Settings settings, Device device) {
        if (height < 2 || width < 2) {
            throw new IllegalArgumentException("frames to register must be at least 2x2, got " + height + "x" + width);
        }
        this.height = height;
        this.width = width;
        this.columns = width / 2 + 1;
        this.settings = settings;
        double peakSigma = 1 / (2 * Math.PI * settings.bandwidth());
        this.exclusionRadius = (int) Math.ceil(3 * peakSigma) + 1;
        this.workspace = new DeviceWorkspace(device, "stabilise");
        NDManager m = workspace.manager();

        windowX = new double[width];
        windowY = new double[height];
        tukey(settings.windowTaper(), 0, width, windowX);
        tukey(settings.windowTaper(), 0, height, windowY);
        fullWindowX = m.create(toFloat(windowX)).reshape(1, width);
        fullWindowY = m.create(toFloat(windowY)).reshape(height, 1);

        double[] gx = gaussianWeight(width, settings.bandwidth());
        double[] gy = gaussianWeight(height, settings.bandwidth());
        float[] g = new float[height * columns];
        for (int ky = 0; ky < height; ky++) {
            for (int kx = 0; kx < columns; kx++) {
                g[ky * columns + kx] = (float) (gy[ky] * gx[kx]);
            }
        }
        g[0] = 0; // DC carries no position
        spectralWeight = m.create(g, new Shape(height, columns));
        float[] mult = new float[columns];
        for (int kx = 0; kx < columns; kx++) {
            mult[kx] = kx == 0 || 2 * kx == width ? 1 : 2;
        }
        columnMultiplicity = m.create(mult, new Shape(1, columns));
        prefilterY = m.create(toFloat(BSplinePrefilter.matrix(height)), new Shape(height, height));
        prefilterX = height == width ? prefilterY : m.create(toFloat(BSplinePrefilter.matrix(width)), new Shape(width, width));
        rowPositions = m.arange(0, height, 1, DataType.FLOAT64);
        columnPositions = m.arange(0, width, 1, DataType.FLOAT64);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public PhaseCorrelator.Settings settings() {
        return settings;
    }

    public Device device() {
        return workspace.device();
    }

    /**
     * A registration reference on the device (channels summed), as {@link PhaseCorrelator#prepare}:
     * its samples and windowed spectrum stay on the device until it is closed (or this stabiliser is).
     */
    public Reference prepare(Image reference) {
        checkShape(reference, "reference");
        requireFinite(reference, "reference");
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDArray samples = workspace.upload(frame, reference).sum(new int[] {0});
            Windowed windowed = windowMeanFree(samples, fullWindowX, fullWindowY);
            NDArray spectrum = rfft2(windowed.values);
            double[] stats = windowed.stats.toDoubleArray();
            return new Reference(workspace.keep(samples), workspace.keep(spectrum), featureless(stats[0], stats[1]));
        }
    }

    /** The shift of {@code moving} (channels summed) relative to the reference, as {@link PhaseCorrelator#estimate}. */
    public Shift estimate(Reference reference, Image moving) {
        checkReference(reference);
        checkShape(moving, "frame");
        requireFinite(moving, "frame");
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDArray plane = workspace.upload(frame, moving).sum(new int[] {0});
            return estimate(reference, plane);
        }
    }

    /** {@code in} translated so that out(p) = in(p + (dx, dy)), as {@link ShiftResampler#resample}. */
    public Image resample(Image in, double dx, double dy) {
        checkShape(in, "image");
        if (!Double.isFinite(dx) || !Double.isFinite(dy)) {
            throw new IllegalArgumentException("shift must be finite, got (" + dx + ", " + dy + ")");
        }
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDArray pixels = workspace.upload(frame, in);
            return DeviceWorkspace.download(resample(pixels, dx, dy), in.channels(), height, width);
        }
    }

    /** The outcome of stabilising one frame. */
    public record Result(Shift shift, Image corrected, boolean trusted) {
    }

    /**
     * The stage's work on one frame with one upload and at most one download: register on channel
     * {@code registrationChannel} (or the channel sum when negative), and if the confidence reaches
     * {@code minConfidence} resample every channel; otherwise return {@code pixels} unchanged.
     */
    public Result stabilise(Reference reference, Image pixels, int registrationChannel, double minConfidence) {
        checkReference(reference);
        checkShape(pixels, "frame");
        if (registrationChannel >= pixels.channels()) {
            throw new IllegalArgumentException("registration channel " + registrationChannel + " but the frame has "
                    + pixels.channels() + " channels");
        }
        requireFinite(pixels, "frame");
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDArray x = workspace.upload(frame, pixels);
            NDArray plane = registrationChannel < 0 ? x.sum(new int[] {0}) : x.get(registrationChannel);
            Shift shift = estimate(reference, plane);
            if (!(shift.confidence() >= minConfidence)) {
                return new Result(shift, pixels, false);
            }
            Image out = DeviceWorkspace.download(resample(x, shift.dx(), shift.dy()), pixels.channels(), height, width);
            return new Result(shift, out, true);
        }
    }

    // ---- registration ----

    private Shift estimate(Reference reference, NDArray plane) {
        if (reference.featureless) {
            return Shift.NONE;
        }
        // Coarse pass: whitened, band-limited phase correlation; peak and rival on the device.
        Windowed windowed = windowMeanFree(plane, fullWindowX, fullWindowY);
        NDArray coarse = crossPower(rfft2(windowed.values), reference.spectrum, settings.regularisation());
        NDArray surface = irfft2(coarse).reshape(-1);
        NDArray peak = surface.argMax().toType(DataType.FLOAT64, false);
        NDArray first = surface.max().toType(DataType.FLOAT64, false);
        NDArray second = rival(surface, peak).toType(DataType.FLOAT64, false);
        double[] found = NDArrays.concat(new NDList(windowed.stats, peak.reshape(1), first.reshape(1), second.reshape(1)))
                .toDoubleArray();
        if (featureless(found[0], found[1])) {
            return Shift.NONE;
        }
        int index = (int) found[2];
        int iy = index / width;
        int ix = index % width;
        double confidence = confidence(found[3], found[4]);
        int dy0 = iy > height / 2 ? iy - height : iy;
        int dx0 = ix > width / 2 ? ix - width : ix;

        // Fine pass: the reference under a window over its part still in view at d0, the frame
        // under that window translated by the shift — predicted from the stream's previous frame
        // while d0 stays within WINDOW_LAG px of it, as the pure-Java correlator does.
        double[][] frameWindows;
        if (reference.fine != null && Math.abs(dx0 - reference.predictedDx) <= WINDOW_LAG
                && Math.abs(dy0 - reference.predictedDy) <= WINDOW_LAG) {
            frameWindows = translatedWindows(reference.fineDx0, reference.fineDy0, reference.predictedDx,
                    reference.predictedDy);
        } else {
            reference.fineSpectrum(dx0, dy0);
            frameWindows = overlapWindows(dx0, dy0, false);
        }
        NDManager fm = plane.getManager();
        NDArray frameSpectrum = rfft2(windowMeanFree(plane, fm.create(toFloat(frameWindows[0])).reshape(1, width),
                fm.create(toFloat(frameWindows[1])).reshape(height, 1)).values);
        NDArray spectrum = crossPower(frameSpectrum, reference.fine, settings.fineRegularisation());
        double[] d = locatePeak(spectrum, dx0, dy0);
        reference.predictedDx = d[0];
        reference.predictedDy = d[1];
        return new Shift(d[0], d[1], confidence);
    }

    /** The reference's fine-pass windows of integer shift (dx0, dy0) translated by (px, py). */
    private double[][] translatedWindows(int dx0, int dy0, double px, double py) {
        double taper = settings.windowTaper();
        double[] x = new double[width];
        double[] y = new double[height];
        tukey(taper, Math.max(0, -dx0), Math.min(width, width - dx0), px, x);
        tukey(taper, Math.max(0, -dy0), Math.min(height, height - dy0), py, y);
        return new double[][] {x, y};
    }

    /** Highest surface value at least the exclusion radius (cyclically) from the peak; −∞ if none. */
    private NDArray rival(NDArray surface, NDArray peak) {
        NDArray iy = peak.div(width).floor();
        NDArray ix = peak.sub(iy.mul(width));
        NDArray nearRow = cyclicDistance(rowPositions, iy, height).lt(exclusionRadius);
        NDArray nearColumn = cyclicDistance(columnPositions, ix, width).lt(exclusionRadius);
        NDArray excluded = nearRow.toType(DataType.FLOAT32, false).reshape(height, 1)
                .mul(nearColumn.toType(DataType.FLOAT32, false).reshape(1, width)).reshape(-1);
        NDArray outside = excluded.lt(0.5f);
        return NDArrays.where(outside, surface, surface.getManager().create(Float.NEGATIVE_INFINITY)).max();
    }

    private static NDArray cyclicDistance(NDArray positions, NDArray centre, int length) {
        NDArray d = positions.sub(centre).abs();
        return d.minimum(d.neg().add(length));
    }

    private static double confidence(double first, double second) {
        if (!(first > 0)) {
            return 0;
        }
        if (second == Double.NEGATIVE_INFINITY) {
            return 1; // frame smaller than the exclusion zone: no rival exists
        }
        return Math.min(1, Math.max(0, 1 - second / first));
    }

    /**
     * s·conj(f)·g, whitened as X/(|X| + ε) with ε = α·mean|X| over the full spectrum unless α is
     * infinite; DC is zero through g.
     */
    private NDArray crossPower(NDArray s, NDArray f, double alpha) {
        NDArray x = s.mul(f.conj());
        if (Double.isInfinite(alpha)) {
            return x.mul(spectralWeight);
        }
        NDArray magnitude = x.abs();
        NDArray eps = magnitude.mul(columnMultiplicity).sum().mul((float) (alpha / ((double) height * width)))
                .add(Float.MIN_NORMAL);
        return x.mul(spectralWeight.div(magnitude.add(eps)));
    }

    /**
     * The sub-pixel peak of the correlation whose spectrum (rfft layout) is {@code spectrum}: a
     * 1/4 px grid around (dx0, dy0), then a 1/upsample grid around its maximum, then a parabola.
     */
    private double[] locatePeak(NDArray spectrum, int dx0, int dy0) {
        int fine = settings.upsampleFactor();
        double[] peak = {dx0, dy0};
        if (fine == 1) {
            return peak;
        }
        int coarse = Math.min(COARSE_UPSAMPLE, fine);
        double step = 1.0 / coarse;
        int half = halfCount(coarse, 1);
        float[] grid = refineOnce(spectrum, peak, half, step);
        int u = 2 * half + 1;
        if (fine > coarse) {
            step = 1.0 / fine;
            half = halfCount(fine, coarse);
            grid = refineOnce(spectrum, peak, half, step);
            u = 2 * half + 1;
        }
        int best = argMax(grid);
        int j = best / u;
        int l = best % u;
        if (l > 0 && l < u - 1) {
            peak[0] += step * vertex(grid[j * u + l - 1], grid[j * u + l], grid[j * u + l + 1]);
        }
        if (j > 0 && j < u - 1) {
            peak[1] += step * vertex(grid[(j - 1) * u + l], grid[j * u + l], grid[(j + 1) * u + l]);
        }
        return peak;
    }

    private static int halfCount(int upsample, int previous) {
        return (int) Math.ceil(0.75 * upsample / previous);
    }

    /** Evaluates a (2·half+1)² grid at {@code step} centred on {@code peak}, moves peak to its max. */
    private float[] refineOnce(NDArray spectrum, double[] peak, int half, double step) {
        int u = 2 * half + 1;
        double x0 = peak[0] - half * step;
        double y0 = peak[1] - half * step;
        NDManager fm = spectrum.getManager();
        // ex[kx][l] = w_kx·exp(2πi·kx·(x0 + l·step)/W), the doubled columns standing in for their
        // conjugate halves; ey[j][ky] = exp(2πi·fy·(y0 + j·step)/H).
        float[] ex = new float[columns * u * 2];
        for (int kx = 0; kx < columns; kx++) {
            double weight = kx == 0 || 2 * kx == width ? 1 : 2;
            double theta = 2 * Math.PI * kx / width;
            for (int l = 0; l < u; l++) {
                double phase = theta * (x0 + l * step);
                ex[(kx * u + l) * 2] = (float) (weight * Math.cos(phase));
                ex[(kx * u + l) * 2 + 1] = (float) (weight * Math.sin(phase));
            }
        }
        float[] ey = new float[u * height * 2];
        for (int ky = 0; ky < height; ky++) {
            int fy = ky <= height / 2 ? ky : ky - height;
            double theta = 2 * Math.PI * fy / height;
            for (int j = 0; j < u; j++) {
                double phase = theta * (y0 + j * step);
                ey[(j * height + ky) * 2] = (float) Math.cos(phase);
                ey[(j * height + ky) * 2 + 1] = (float) Math.sin(phase);
            }
        }
        NDArray exArray = fm.create(ex, new Shape(columns, u, 2)).complex();
        NDArray eyArray = fm.create(ey, new Shape(u, height, 2)).complex();
        NDArray values = eyArray.matMul(spectrum.matMul(exArray)).real().get("..., 0")
                .div((float) ((double) height * width));
        float[] grid = values.toFloatArray();
        int best = argMax(grid);
        peak[0] += (best % u - half) * step;
        peak[1] += (best / u - half) * step;
        return grid;
    }

    /** Offset in (−0.5, 0.5) of the vertex of the parabola through (−1, a), (0, b), (1, c). */
    private static double vertex(double a, double b, double c) {
        double curvature = a - 2 * b + c;
        if (!(curvature < 0)) {
            return 0;
        }
        double d = 0.5 * (a - c) / curvature;
        return Math.max(-0.5, Math.min(0.5, d));
    }

    private static int argMax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The windowed, mean-free plane and its {energy, scale} (float64) for the featureless test. */
    private record Windowed(NDArray values, NDArray stats) {
    }

    /** out = w·(in − m), w = wy ⊗ wx, m the w-weighted mean; statistics in float64. */
    private static Windowed windowMeanFree(NDArray plane, NDArray wx, NDArray wy) {
        NDArray w = wy.mul(wx);
        NDArray in64 = plane.toType(DataType.FLOAT64, false);
        NDArray w64 = w.toType(DataType.FLOAT64, false);
        NDArray sumW = w64.sum();
        NDArray weighted = w64.mul(in64).sum();
        // m = Σw·in / Σw, or 0 when the window is empty.
        NDArray mean = weighted.div(sumW.maximum(Double.MIN_NORMAL));
        NDArray out64 = w64.mul(in64.sub(mean));
        NDArray energy = out64.square().sum();
        NDArray scale = w64.square().mul(in64.square()).sum();
        return new Windowed(out64.toType(DataType.FLOAT32, false), NDArrays.stack(new NDList(energy, scale)));
    }

    private static boolean featureless(double energy, double scale) {
        return !(energy > FEATURELESS * scale);
    }

    /** Real 2-D FFT of the last two axes: (…, H, W) → (…, H, W/2+1) complex. */
    private NDArray rfft2(NDArray real) {
        int axes = real.getShape().dimension();
        return real.rfft(width, axes - 1).fft(height, axes - 2);
    }

    /** Inverse of {@link #rfft2} for a Hermitian spectrum: (…, H, W/2+1) → (…, H, W) real. */
    private NDArray irfft2(NDArray spectrum) {
        int axes = spectrum.getShape().dimension();
        return spectrum.ifft(height, axes - 2).irfft(width, axes - 1);
    }

    /**
     * Tukey windows of the fine pass for integer shift d0: {x, y} of the reference's (over the part
     * of the field still in view after the shift) or of the frame's (the same part moved by d0).
     */
    private double[][] overlapWindows(int dx0, int dy0, boolean reference) {
        double taper = settings.windowTaper();
        double[] x = new double[width];
        double[] y = new double[height];
        if (reference) {
            tukey(taper, Math.max(0, -dx0), Math.min(width, width - dx0), x);
            tukey(taper, Math.max(0, -dy0), Math.min(height, height - dy0), y);
        } else {
            tukey(taper, Math.max(0, dx0), Math.min(width, width + dx0), x);
            tukey(taper, Math.max(0, dy0), Math.min(height, height + dy0), y);
        }
        return new double[][] {x, y};
    }

    // ---- resampling ----

    /** {@code S_y · X · S_xᵀ} for every channel of {@code pixels} (C × H × W). */
    private NDArray resample(NDArray pixels, double dx, double dy) {
        NDManager fm = pixels.getManager();
        NDArray sy = shiftMatrix(fm, prefilterY, height, dy);
        NDArray sx = shiftMatrix(fm, prefilterX, width, dx);
        return sy.matMul(pixels).matMul(sx.transpose());
    }

    /**
     * Row i of the result is Σ_k w_k · P[mirror(i + ⌊d⌋ − 1 + k)] for outputs whose source
     * i + d lies in [−0.5, n − 0.5), zero elsewhere: the prefilter and the four cubic B-spline taps
     * of a shift by d along an axis of length n.
     */
    private static NDArray shiftMatrix(NDManager fm, NDArray prefilter, int n, double d) {
        double floor = Math.floor(d);
        double t = d - floor;
        double s = 1 - t;
        double[] weights = {s * s * s / 6, 2.0 / 3 - t * t + t * t * t / 2, 2.0 / 3 - s * s + s * s * s / 2, t * t * t / 6};
        int from = clamp((int) Math.ceil(-0.5 - d), n);
        int to = clamp((int) Math.ceil(n - 0.5 - d), n);
        long[] taps = new long[4 * n];
        float[] inside = new float[n];
        long shift = (long) floor;
        for (int i = 0; i < n; i++) {
            inside[i] = i >= from && i < to ? 1 : 0;
            for (int k = 0; k < 4; k++) {
                taps[k * n + i] = mirror(i + shift - 1 + k, n);
            }
        }
        NDArray rows = prefilter.get(new ai.djl.ndarray.index.NDIndex("{}", fm.create(taps))).reshape(4, n, n);
        float[] w = new float[4];
        for (int k = 0; k < 4; k++) {
            w[k] = (float) weights[k];
        }
        NDArray combined = rows.mul(fm.create(w).reshape(4, 1, 1)).sum(new int[] {0});
        return combined.mul(fm.create(inside).reshape(n, 1));
    }

    /** Index k reflected about the edge samples into [0, len) (whole-sample symmetry). */
    private static long mirror(long k, int len) {
        if (len == 1) {
            return 0;
        }
        long period = 2L * (len - 1);
        long r = Math.floorMod(k, period);
        return r < len ? r : period - r;
    }

    private static int clamp(int v, int len) {
        return Math.max(0, Math.min(len, v));
    }

    // ---- shared with the pure-Java correlator's definitions ----

    /**
     * Tukey window over [lo, hi) sampled at pixel centres i + 0.5, zero outside: a cosine taper
     * over {@code taper/2} of the length at each end, flat in between (as PhaseCorrelator's).
     */
    static void tukey(double taper, int lo, int hi, double[] out) {
        tukey(taper, lo, hi, 0, out);
    }

    /** The same window translated by {@code shift} px (sampled at i + 0.5 − shift). */
    static void tukey(double taper, int lo, int hi, double shift, double[] out) {
        double len = hi - lo;
        double edge = taper / 2 * len;
        for (int i = 0; i < out.length; i++) {
            double u = i + 0.5 - shift - lo;
            double w;
            if (u <= 0 || u >= len) {
                w = 0;
            } else {
                double fromEdge = Math.min(u, len - u);
                w = fromEdge >= edge ? 1 : 0.5 * (1 - Math.cos(Math.PI * fromEdge / edge));
            }
            out[i] = w;
        }
    }

    /** exp(−f²/2σ²) at the FFT frequencies f = k/n, zero at Nyquist (as PhaseCorrelator's). */
    private static double[] gaussianWeight(int size, double sigma) {
        double[] g = new double[size];
        for (int k = 0; k < size; k++) {
            int signed = k <= size / 2 ? k : k - size;
            double f = (double) signed / size;
            g[k] = Double.isInfinite(sigma) ? 1 : Math.exp(-f * f / (2 * sigma * sigma));
        }
        if (size % 2 == 0) {
            g[size / 2] = 0;
        }
        return g;
    }

    private void checkShape(Image image, String what) {
        if (image.height() != height || image.width() != width) {
            throw new IllegalArgumentException(what + " " + image + " does not match the stabiliser's "
                    + height + "x" + width + " frames");
        }
    }

    private void checkReference(Reference reference) {
        if (reference.owner != this || reference.samples == null) {
            throw new IllegalArgumentException("reference was prepared by another stabiliser or closed; prepare it with this one");
        }
    }

    private static void requireFinite(Image image, String what) {
        float[] d = image.data();
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                int plane = image.planeSize();
                int p = i % plane;
                throw new IllegalArgumentException(what + " " + image + " has a non-finite sample (NaN or infinity)"
                        + " at c=" + i / plane + ", y=" + p / image.width() + ", x=" + p % image.width()
                        + "; fix or drop the frame before registering it");
            }
        }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    /** Arrays held between frames (for leak checks). */
    int heldArrays() {
        return workspace.heldArrays();
    }

    @Override
    public void close() {
        workspace.close();
    }

    /**
     * A prepared reference on the device: its summed samples and windowed spectrum, and the fine
     * pass's spectrum for the last integer shift (drift rarely jumps a pixel between frames).
     */
    public final class Reference implements AutoCloseable {

        private final DeviceStabiliser owner = DeviceStabiliser.this;
        private NDArray samples;
        private NDArray spectrum;
        private final boolean featureless;
        private NDArray fine;
        private int fineDx0;
        private int fineDy0;
        /** The last estimate against this reference: where the frame's fine-pass window goes next. */
        private double predictedDx;
        private double predictedDy;

        private Reference(NDArray samples, NDArray spectrum, boolean featureless) {
            this.samples = samples;
            this.spectrum = spectrum;
            this.featureless = featureless;
        }

        /** True when the reference has no contrast: every estimate is then {@link Shift#NONE}. */
        public boolean isFeatureless() {
            return featureless;
        }

        private NDArray fineSpectrum(int dx0, int dy0) {
            if (fine == null || dx0 != fineDx0 || dy0 != fineDy0) {
                if (fine != null) {
                    fine.close();
                }
                double[][] windows = overlapWindows(dx0, dy0, true);
                NDManager m = samples.getManager();
                NDArray wx = m.create(toFloat(windows[0])).reshape(1, width);
                NDArray wy = m.create(toFloat(windows[1])).reshape(height, 1);
                fine = workspace.keep(rfft2(windowMeanFree(samples, wx, wy).values));
                fineDx0 = dx0;
                fineDy0 = dy0;
            }
            return fine;
        }

        /** Frees the reference's device memory. */
        @Override
        public void close() {
            if (samples != null) {
                samples.close();
                spectrum.close();
                if (fine != null) {
                    fine.close();
                }
                samples = null;
                spectrum = null;
                fine = null;
            }
        }
    }
}
