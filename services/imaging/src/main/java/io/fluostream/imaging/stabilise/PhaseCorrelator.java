package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.fft.ComplexFft2d;

/**
 * Estimates the sub-pixel rigid translation of a frame relative to a reference by windowed phase
 * correlation with upsampled-DFT refinement (Guizar-Sicairos, Thurman &amp; Fienup, Opt. Lett. 33,
 * 156, 2008). Multi-channel images are registered on their channel sum (total intensity).
 *
 * <p>Per frame:
 * <ol>
 *   <li><b>Coarse pass: phase correlation.</b> The mean-free frame, apodised by a Tukey window over
 *       the whole field, is transformed; the inverse transform of its regularised, band-limited
 *       cross-power spectrum with the reference (below) is a surface with one sharp peak, whose
 *       highest sample gives the integer shift d₀ and whose rival peaks give the
 *       {@linkplain Shift#confidence() confidence}.</li>
 *   <li><b>Fine pass: sub-pixel peak.</b> A window fixed to the frame pulls the correlation peak
 *       towards zero shift (by ~0.1 px at a 25 % shift). So both images are windowed again, each
 *       over only the part of the field they share at d₀, with windows that are translates of
 *       each other by d₀; the peak of their correlation is then unbiased. It is located without an
 *       inverse FFT by evaluating the correlation's DFT sum directly (matrix-multiply DFT) on a
 *       1.5 × 1.5 px grid around d₀ at 1/4 px, then on a grid at 1/{@code upsampleFactor} px
 *       around that maximum, then by a parabola through the finest grid's maximum on each axis.
 *       This two-stage form of the paper's upsampled DFT evaluates 2·7² points instead of 25²;
 *       with the parabola, a 1/16 px grid was as accurate as 1/64 px (measured).</li>
 * </ol>
 *
 * <p><b>Cross-power spectrum.</b> R = g(f)·X/(|X| + ε) with X = G·conj(F), G the frame's and F the
 * reference's spectrum, ε = {@code regularisation}·mean|X|. The Gaussian g(f) = exp(−|f|²/2σ²)
 * (σ = {@code bandwidth}, cycles/px) rolls off frequencies beyond the optics' passband, where only
 * photon noise lives, and makes the peak a smooth ~1 px blob without sinc side-lobes. Whitening
 * (dividing by |X|) gives the sharp, contrast-independent peak the coarse pass needs, but it
 * weights noise-dominated frequencies as much as strong ones; for the sub-pixel position the
 * fine pass therefore defaults to no whitening ({@code fineRegularisation} = ∞: R = g·X, plain
 * band-limited correlation), which at 20 photons/px peak measured 0.065–0.08 px RMS against
 * 0.12 px whitened (Cramér–Rao bound for the unwindowed scene: 0.044 px).
 *
 * <p><b>Range.</b> Shifts are reported in (−size/2, size/2]; up to ±25 % of the field they are
 * accurate (tested), beyond that the shared part of the field shrinks fast.
 *
 * <p>The coarse pass packs the frame under both windows into one complex FFT, guessing d₀ (within
 * {@value #WINDOW_LAG} px) from the previous call: for slowly drifting streams a frame costs one
 * forward and one inverse FFT.
 *
 * <p>An instance owns scratch buffers (~9 doubles per pixel) and a cache for one frame shape,
 * and keeps the last reference it saw: it is <b>not thread-safe</b>; use one per thread (or per
 * stream). {@link ReferenceSpectrum}s are immutable and may be shared.
 */
public final class PhaseCorrelator {

    /**
     * Tuning of the estimator.
     *
     * @param upsampleFactor     κ ≥ 1: the final search grid is 1/κ px (a parabola then
     *                           interpolates within it); 1 gives integer shifts only
     * @param windowTaper        fraction of each axis in the Tukey window's cosine tapers, in
     *                           [0, 1] (0 rectangular, 1 Hann); the flat rest keeps overlap at
     *                           large shifts
     * @param bandwidth          σ of the Gaussian spectral weight, cycles/px, > 0 (infinity: none)
     * @param regularisation     coarse pass: ε / mean|X| ≥ 0 in the whitening X/(|X| + ε)
     *                           (0: pure phase correlation)
     * @param fineRegularisation fine pass: the same, or {@link Double#POSITIVE_INFINITY} for no
     *                           whitening (plain correlation, best under photon noise)
     */
    public record Settings(int upsampleFactor, double windowTaper, double bandwidth, double regularisation,
            double fineRegularisation) {

        /**
         * Defaults measured on the tests' scenes (diffraction-limited blobs, σ 1.2–3 px): 1/16 px
         * grid; tapers over half of each axis; σ = 0.125 cycles/px; coarse ε = mean|X|; fine pass
         * unwhitened.
         */
        public static final Settings DEFAULT = new Settings(16, 0.5, 0.125, 1.0, Double.POSITIVE_INFINITY);

        public Settings {
            if (upsampleFactor < 1 || upsampleFactor > 1000) {
                throw new IllegalArgumentException("upsampleFactor must be in [1, 1000], got " + upsampleFactor);
            }
            if (!(windowTaper >= 0 && windowTaper <= 1)) {
                throw new IllegalArgumentException("windowTaper must be in [0, 1], got " + windowTaper);
            }
            if (!(bandwidth > 0)) {
                throw new IllegalArgumentException("bandwidth must be > 0 cycles/px, got " + bandwidth);
            }
            if (!(regularisation >= 0) || Double.isInfinite(regularisation)) {
                throw new IllegalArgumentException("regularisation must be finite and >= 0, got " + regularisation);
            }
            if (!(fineRegularisation >= 0)) {
                throw new IllegalArgumentException("fineRegularisation must be >= 0 (or infinite), got "
                        + fineRegularisation);
            }
        }
    }

    /** Relative contrast below which a frame counts as blank (constant up to rounding). */
    private static final double FEATURELESS = 1e-12;
    /**
     * How far, px, the coarse pass's integer shift may be from the prediction (the previous
     * frame's estimate) for the predicted fine-pass windows to be used: the frame's window is the
     * reference's translated by the prediction, so they lag the true shift only by the drift since
     * the previous frame, which biases the peak by ~1 % of that lag (measured); a drifting stream
     * then rarely pays for a second FFT.
     */
    static final int WINDOW_LAG = 1;
    /** Grid step of the first refinement stage: 1/4 px. */
    private static final int COARSE_UPSAMPLE = 4;

    private final int height;
    private final int width;
    private final int n;
    /** Columns kx in [0, W/2] of a Hermitian spectrum: all that the spectral steps touch. */
    private final int half;
    private final Settings settings;
    private final Workers workers;
    private final int parts;
    private final ComplexFft2d[] fft; // one per part: an instance's scratch is not shared
    private final int exclusionRadius;

    private final double[] windowX;
    private final double[] windowY;
    private final double[] weightX; // spectral weight, FFT order; zero at Nyquist
    private final double[] weightY;

    // Scratch, sized for one frame shape.
    private final double[] frame;
    private final double[] zRe;
    private final double[] zIm;
    private final double[] sRe;
    private final double[] sIm;
    private final double[] gRe; // frame under the fine-pass window
    private final double[] gIm;
    private final double[] ovRefX;
    private final double[] ovRefY;
    private final double[] ovFrameX;
    private final double[] ovFrameY;
    private final double[][] partial; // per part: partial sums / maxima of a parallel step
    private final UpsampledCorrelation upsampled;

    // Reference under the fine-pass window for the last d0 (the drift rarely jumps a pixel).
    private final double[] cacheRe;
    private final double[] cacheIm;
    private ReferenceSpectrum cachedFor;
    private int cachedDx0;
    private int cachedDy0;
    // The last estimate against cachedFor: where the frame's fine-pass window goes next time.
    private double predictedDx;
    private double predictedDy;

    public PhaseCorrelator(int height, int width) {
        this(height, width, Settings.DEFAULT);
    }

    public PhaseCorrelator(int height, int width, Settings settings) {
        this(height, width, settings, null);
    }

    /**
     * @param workers team that splits every step's loops (rows, columns) between its threads, or
     *                null to run on the calling thread only; the answers do not depend on it
     */
    public PhaseCorrelator(int height, int width, Settings settings, Workers workers) {
        if (height < 2 || width < 2) {
            throw new IllegalArgumentException("frames to register must be at least 2x2, got " + height + "x" + width);
        }
        if ((long) height * width > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("frame too large to register: " + height + "x" + width);
        }
        this.height = height;
        this.width = width;
        this.n = height * width;
        this.half = width / 2 + 1;
        this.settings = settings;
        this.workers = workers;
        this.parts = workers == null ? 1 : workers.count();
        this.fft = new ComplexFft2d[parts];
        for (int p = 0; p < parts; p++) {
            fft[p] = new ComplexFft2d(height, width);
        }
        // The peak is a Gaussian blob of σ = 1/(2π·bandwidth) px: look for a rival beyond 3σ.
        double peakSigma = 1 / (2 * Math.PI * settings.bandwidth());
        this.exclusionRadius = (int) Math.ceil(3 * peakSigma) + 1;

        windowX = new double[width];
        windowY = new double[height];
        tukey(settings.windowTaper(), 0, width, windowX);
        tukey(settings.windowTaper(), 0, height, windowY);
        weightX = spectralWeight(width, settings.bandwidth());
        weightY = spectralWeight(height, settings.bandwidth());

        frame = new double[n];
        zRe = new double[n];
        zIm = new double[n];
        sRe = new double[n];
        sIm = new double[n];
        gRe = new double[n];
        gIm = new double[n];
        cacheRe = new double[n];
        cacheIm = new double[n];
        ovRefX = new double[width];
        ovRefY = new double[height];
        ovFrameX = new double[width];
        ovFrameY = new double[height];
        partial = new double[parts][3];
        upsampled = new UpsampledCorrelation(height, width, COARSE_UPSAMPLE, settings.upsampleFactor(), workers);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * Prepares {@code reference} (any channel count; channels are summed) for repeated
     * registration: one forward FFT now, none per frame.
     *
     * @throws IllegalArgumentException if its shape differs from this correlator's or it holds NaN
     *                                  or infinite samples
     */
    public ReferenceSpectrum prepare(Image reference) {
        checkShape(reference, "reference");
        sumChannels(reference, frame, "reference");
        float[] samples = new float[n];
        for (int i = 0; i < n; i++) {
            samples[i] = (float) frame[i];
        }
        boolean featureless = windowMeanFree(frame, windowX, windowY, zRe);
        java.util.Arrays.fill(zIm, 0.0);
        forwardFft(zRe, zIm);
        float[] re = new float[n];
        float[] im = new float[n];
        for (int i = 0; i < n; i++) {
            re[i] = (float) zRe[i];
            im[i] = (float) zIm[i];
        }
        return new ReferenceSpectrum(height, width, settings.windowTaper(), samples, re, im, featureless);
    }

    /** Convenience: {@link #prepare} the reference, then {@link #estimate(ReferenceSpectrum, Image)}. */
    public Shift estimate(Image reference, Image moving) {
        return estimate(prepare(reference), moving);
    }

    /**
     * The shift d of {@code moving} relative to the reference: the reference's content at p appears
     * in {@code moving} at p + d. Apply {@link ShiftResampler#resample} with the same d to undo it.
     *
     * @throws IllegalArgumentException if shapes differ, the reference was prepared with another
     *                                  window, or {@code moving} holds NaN or infinite samples
     */
    public Shift estimate(ReferenceSpectrum reference, Image moving) {
        if (reference.height() != height || reference.width() != width
                || reference.windowTaper() != settings.windowTaper()) {
            throw new IllegalArgumentException("reference " + reference + " was prepared for another correlator than "
                    + height + "x" + width + " with window taper " + settings.windowTaper());
        }
        checkShape(moving, "frame");
        sumChannels(moving, frame, "frame");
        if (reference.featureless) {
            return Shift.NONE;
        }

        // Coarse pass. Real part: frame under the full window. Imaginary part: the frame under the
        // fine-pass window predicted from the previous frame, so that the fine pass needs no FFT of
        // its own while the drift stays within a pixel of the prediction.
        boolean guess = cachedFor == reference;
        if (windowMeanFree(frame, windowX, windowY, zRe)) {
            return Shift.NONE;
        }
        if (guess) {
            frameWindows(cachedDx0, cachedDy0, predictedDx, predictedDy);
            windowMeanFree(frame, ovFrameX, ovFrameY, zIm);
        } else {
            java.util.Arrays.fill(zIm, 0.0);
        }
        forwardFft(zRe, zIm);
        if (guess) {
            splitSpectra(zRe, zIm, sRe, sIm, gRe, gIm);
        } else {
            copyHalf(zRe, zIm, sRe, sIm);
        }
        crossPower(sRe, sIm, reference.spectrumRe, reference.spectrumIm, null, null, settings.regularisation());
        inverseRealFft(sRe, sIm);

        int peak = argMax(sRe);
        int iy = peak / width;
        int ix = peak % width;
        double confidence = confidence(sRe, iy, ix);
        int dy0 = iy > height / 2 ? iy - height : iy;
        int dx0 = ix > width / 2 ? ix - width : ix;

        // Fine pass: the reference under a window over its part still in view at d0, the frame under
        // that window translated by (an estimate of) the shift, so the two are translates of each
        // other and the peak is not pulled towards the windows' offset.
        if (!(guess && Math.abs(dx0 - predictedDx) <= WINDOW_LAG && Math.abs(dy0 - predictedDy) <= WINDOW_LAG)) {
            overlapWindows(dx0, dy0);
            float[] ref = reference.samples;
            for (int i = 0; i < n; i++) {
                sRe[i] = ref[i];
            }
            windowMeanFree(sRe, ovRefX, ovRefY, zRe);
            windowMeanFree(frame, ovFrameX, ovFrameY, zIm);
            forwardFft(zRe, zIm);
            splitSpectra(zRe, zIm, cacheRe, cacheIm, gRe, gIm);
            cachedFor = reference;
            cachedDx0 = dx0;
            cachedDy0 = dy0;
        }
        copyHalf(gRe, gIm, sRe, sIm);
        crossPower(sRe, sIm, null, null, cacheRe, cacheIm, settings.fineRegularisation());
        double[] d = upsampled.locatePeak(sRe, sIm, dx0, dy0);
        predictedDx = d[0];
        predictedDy = d[1];
        return new Shift(d[0], d[1], confidence);
    }

    /** Runs {@code body} for every part (on the team, or inline without one). */
    private void parallel(java.util.function.IntConsumer body) {
        if (workers == null) {
            body.accept(0);
        } else {
            workers.run(body);
        }
    }

    private int rowStart(int part, int grain) {
        return Workers.start(part, parts, height, grain);
    }

    private int rowEnd(int part, int grain) {
        return Workers.end(part, parts, height, grain);
    }

    private void forwardFft(double[] re, double[] im) {
        parallel(p -> fft[p].forwardRows(re, im, rowStart(p, 1), rowEnd(p, 1)));
        parallel(p -> fft[p].forwardColumns(re, im, Workers.start(p, parts, width, 8), Workers.end(p, parts, width, 8)));
    }

    private void inverseRealFft(double[] re, double[] im) {
        parallel(p -> fft[p].inverseColumns(re, im, Workers.start(p, parts, half, 8), Workers.end(p, parts, half, 8)));
        parallel(p -> fft[p].inverseRealRows(re, im, rowStart(p, 2), rowEnd(p, 2)));
    }

    /** Copies the columns kx ≤ W/2 of a spectrum. */
    private void copyHalf(double[] re, double[] im, double[] toRe, double[] toIm) {
        parallel(p -> {
            for (int y = rowStart(p, 1); y < rowEnd(p, 1); y++) {
                System.arraycopy(re, y * width, toRe, y * width, half);
                System.arraycopy(im, y * width, toIm, y * width, half);
            }
        });
    }

    /**
     * In place over the columns kx ≤ W/2: s ← g·X/(|X| + ε), X = s·conj(F), ε = α·mean|X| (the
     * mean over the whole Hermitian spectrum); with α = ∞ just s ← g·X. F is given as float (a
     * prepared reference) or double (the fine-pass cache).
     */
    private void crossPower(double[] re, double[] im, float[] fRe, float[] fIm, double[] dRe, double[] dIm,
            double alpha) {
        boolean whiten = !Double.isInfinite(alpha);
        parallel(p -> {
            double sumAbs = 0;
            for (int ky = rowStart(p, 1); ky < rowEnd(p, 1); ky++) {
                int row = ky * width;
                for (int kx = 0; kx < half; kx++) {
                    int i = row + kx;
                    double br = fRe != null ? fRe[i] : dRe[i];
                    double bi = fRe != null ? fIm[i] : dIm[i];
                    double xr = re[i] * br + im[i] * bi;
                    double xi = im[i] * br - re[i] * bi;
                    re[i] = xr;
                    im[i] = xi;
                    if (whiten) {
                        // Columns 0 < kx < W/2 stand for their mirror images too.
                        double a = Math.sqrt(xr * xr + xi * xi);
                        sumAbs += kx == 0 || 2 * kx == width ? a : 2 * a;
                    }
                }
            }
            partial[p][0] = sumAbs;
        });
        double sumAbs = 0;
        for (int p = 0; p < parts; p++) {
            sumAbs += partial[p][0];
        }
        // The floor keeps 0/0 out when ε = 0 and a frequency is exactly empty.
        double eps = whiten ? alpha * sumAbs / n + Double.MIN_NORMAL : 0;
        parallel(p -> {
            for (int ky = rowStart(p, 1); ky < rowEnd(p, 1); ky++) {
                double wy = weightY[ky];
                int row = ky * width;
                for (int kx = 0; kx < half; kx++) {
                    int i = row + kx;
                    double xr = re[i];
                    double xi = im[i];
                    double g = wy * weightX[kx];
                    if (whiten) {
                        g /= Math.sqrt(xr * xr + xi * xi) + eps;
                    }
                    re[i] = xr * g;
                    im[i] = xi * g;
                }
            }
        });
        re[0] = 0; // DC carries no position; the means were removed anyway
        im[0] = 0;
    }

    /**
     * Separates, over the columns kx ≤ W/2, the spectra A, B of two real images packed as a + i·b:
     * A[k] = (Z[k] + conj Z[−k])/2, B[k] = (Z[k] − conj Z[−k])/2i.
     */
    private void splitSpectra(double[] zr, double[] zi, double[] aRe, double[] aIm, double[] bRe, double[] bIm) {
        parallel(p -> {
            for (int ky = rowStart(p, 1); ky < rowEnd(p, 1); ky++) {
                int my = ky == 0 ? 0 : height - ky;
                for (int kx = 0; kx < half; kx++) {
                    int mx = kx == 0 ? 0 : width - kx;
                    int i = ky * width + kx;
                    int m = my * width + mx;
                    double pr = zr[i];
                    double pi = zi[i];
                    double qr = zr[m];
                    double qi = zi[m];
                    aRe[i] = 0.5 * (pr + qr);
                    aIm[i] = 0.5 * (pi - qi);
                    bRe[i] = 0.5 * (pi + qi);
                    bIm[i] = 0.5 * (qr - pr);
                }
            }
        });
    }

    /** 1 − (highest value at least {@code exclusionRadius} px from the peak) / peak, in [0, 1]. */
    private double confidence(double[] surface, int iy, int ix) {
        double first = surface[iy * width + ix];
        if (!(first > 0)) {
            return 0;
        }
        parallel(p -> {
            double second = Double.NEGATIVE_INFINITY;
            for (int y = rowStart(p, 1); y < rowEnd(p, 1); y++) {
                int dy = Math.abs(y - iy);
                boolean nearRow = Math.min(dy, height - dy) < exclusionRadius;
                int row = y * width;
                for (int x = 0; x < width; x++) {
                    if (nearRow) {
                        int dx = Math.abs(x - ix);
                        if (Math.min(dx, width - dx) < exclusionRadius) {
                            continue;
                        }
                    }
                    second = Math.max(second, surface[row + x]);
                }
            }
            partial[p][0] = second;
        });
        double second = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < parts; p++) {
            second = Math.max(second, partial[p][0]);
        }
        if (second == Double.NEGATIVE_INFINITY) {
            return 1; // frame smaller than the exclusion zone: no rival exists
        }
        return Math.min(1, Math.max(0, 1 - second / first));
    }

    /**
     * Windows of the fine pass for integer shift d0: the reference over the part of the field that
     * is still in view after the shift, the frame over the same part moved by d0.
     */
    private void overlapWindows(int dx0, int dy0) {
        double taper = settings.windowTaper();
        tukey(taper, Math.max(0, -dx0), Math.min(width, width - dx0), ovRefX);
        tukey(taper, Math.max(0, dx0), Math.min(width, width + dx0), ovFrameX);
        tukey(taper, Math.max(0, -dy0), Math.min(height, height - dy0), ovRefY);
        tukey(taper, Math.max(0, dy0), Math.min(height, height + dy0), ovFrameY);
    }

    /**
     * The frame's fine-pass window when the reference's is that of integer shift (dx0, dy0): the
     * reference's window translated by the predicted sub-pixel shift (px, py).
     */
    private void frameWindows(int dx0, int dy0, double px, double py) {
        double taper = settings.windowTaper();
        tukey(taper, Math.max(0, -dx0), Math.min(width, width - dx0), px, ovFrameX);
        tukey(taper, Math.max(0, -dy0), Math.min(height, height - dy0), py, ovFrameY);
    }

    /**
     * out = w·(in − m) with w = wy ⊗ wx and m the w-weighted mean, so {@code out} has no DC.
     *
     * @return true if the windowed image has no contrast (constant up to rounding)
     */
    private boolean windowMeanFree(double[] in, double[] wx, double[] wy, double[] out) {
        parallel(p -> {
            double sumWI = 0;
            for (int y = rowStart(p, 1); y < rowEnd(p, 1); y++) {
                double wyy = wy[y];
                if (wyy == 0) {
                    continue;
                }
                int row = y * width;
                double s = 0;
                for (int x = 0; x < width; x++) {
                    s += wx[x] * in[row + x];
                }
                sumWI += wyy * s;
            }
            partial[p][0] = sumWI;
        });
        double sumWI = 0;
        for (int p = 0; p < parts; p++) {
            sumWI += partial[p][0];
        }
        double sx = 0;
        for (double v : wx) {
            sx += v;
        }
        double sy = 0;
        for (double v : wy) {
            sy += v;
        }
        double sumW = sx * sy;
        double mean = sumW > 0 ? sumWI / sumW : 0;
        parallel(p -> {
            double energy = 0;
            double scale = 0;
            for (int y = rowStart(p, 1); y < rowEnd(p, 1); y++) {
                double wyy = wy[y];
                int row = y * width;
                for (int x = 0; x < width; x++) {
                    double w = wyy * wx[x];
                    double v = in[row + x];
                    double o = w * (v - mean);
                    out[row + x] = o;
                    energy += o * o;
                    scale += w * w * v * v;
                }
            }
            partial[p][0] = energy;
            partial[p][1] = scale;
        });
        double energy = 0;
        double scale = 0;
        for (int p = 0; p < parts; p++) {
            energy += partial[p][0];
            scale += partial[p][1];
        }
        return !(energy > FEATURELESS * scale);
    }

    private void checkShape(Image image, String what) {
        if (image.height() != height || image.width() != width) {
            throw new IllegalArgumentException(what + " " + image + " does not match the correlator's "
                    + height + "x" + width + " frames");
        }
    }

    /** Sums the channels into {@code out}, rejecting NaN and infinities. */
    private void sumChannels(Image image, double[] out, String what) {
        float[] d = image.data();
        int channels = image.channels();
        parallel(p -> {
            int i0 = rowStart(p, 1) * width;
            int i1 = rowEnd(p, 1) * width;
            for (int i = i0; i < i1; i++) {
                out[i] = d[i];
            }
            for (int c = 1; c < channels; c++) {
                int off = c * n;
                for (int i = i0; i < i1; i++) {
                    out[i] += d[off + i];
                }
            }
        });
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(out[i])) {
                throw new IllegalArgumentException(what + " " + image + " has a non-finite sample (NaN or infinity)"
                        + " at y=" + i / width + ", x=" + i % width + "; fix or drop the frame before registering it");
            }
        }
    }

    /** Index of the first largest sample (ties go to the lowest index, as a serial scan would). */
    private int argMax(double[] a) {
        parallel(p -> {
            int i0 = rowStart(p, 1) * width;
            int i1 = rowEnd(p, 1) * width;
            int best = i0;
            double max = i0 < i1 ? a[i0] : Double.NEGATIVE_INFINITY;
            for (int i = i0 + 1; i < i1; i++) {
                if (a[i] > max) {
                    max = a[i];
                    best = i;
                }
            }
            partial[p][0] = max;
            partial[p][1] = best;
        });
        int best = 0;
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < parts; p++) {
            if (partial[p][0] > max) {
                max = partial[p][0];
                best = (int) partial[p][1];
            }
        }
        return best;
    }

    /**
     * Tukey window over [lo, hi) sampled at pixel centres i + 0.5, zero outside: a cosine taper
     * over {@code taper/2} of the length at each end, flat in between.
     */
    static void tukey(double taper, int lo, int hi, double[] out) {
        tukey(taper, lo, hi, 0, out);
    }

    /** The same window translated by {@code shift} px (sampled at i + 0.5 − shift). */
    static void tukey(double taper, int lo, int hi, double shift, double[] out) {
        double len = hi - lo;
        double edge = taper / 2 * len;
        for (int i = 0; i < out.length; i++) {
            double u = i + 0.5 - shift - lo; // distance from the window's start
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

    /** exp(−f²/2σ²) at the FFT frequencies f = k/n (cycles/px), zero at Nyquist (no shift phase). */
    static double[] spectralWeight(int size, double sigma) {
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
}
