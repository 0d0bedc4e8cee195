package io.fluostream.imaging.denoise;

import io.fluostream.imaging.Image;
import java.util.List;

/**
 * Denoises raw fluorescence camera frames without training data: per channel it fits the
 * Poisson–Gaussian noise model from the frame ({@link NoiseEstimator}), stabilises the variance
 * ({@link GeneralisedAnscombe}), removes the now unit-variance Gaussian noise
 * ({@link WaveletDenoiser}) and maps back with the exact unbiased inverse, so dim regions keep
 * their mean. Output: offset-free float ADU (raw − offset scale), same {@code C×H×W}.
 *
 * <p>This is the denoise stage's fallback until a learned model is ready; it needs no per-level
 * tuning because the noise is measured on every frame and the stabilised domain always has unit
 * noise.
 *
 * <p>Instances own scratch buffers (sized for the last frame shape) and are not thread-safe; use
 * one per stream thread.
 */
public final class ClassicalDenoiser {

    /**
     * Tuning knobs; {@link #defaults()} serves every photon level tested (2–100 e⁻ at peak).
     *
     * @param waveletLevels  scales of the wavelet transform: smooths structures up to about
     *                       {@code 2^levels} px; more flattens wide dim backgrounds better
     * @param pilotThreshold hard threshold of the pilot estimate, in noise sigmas
     * @param wienerStrength noise-power multiplier of the Wiener step (1 = textbook; &gt;1 smoother)
     * @param noiseBlockSize side of the blocks the noise is measured in (even, ≥ 4)
     */
    public record Settings(int waveletLevels, double pilotThreshold, double wienerStrength, int noiseBlockSize) {

        public Settings {
            if (waveletLevels < 1 || waveletLevels > 12) {
                throw new IllegalArgumentException("wavelet levels must be 1..12, got " + waveletLevels);
            }
            if (!(pilotThreshold >= 0) || !Double.isFinite(pilotThreshold)) {
                throw new IllegalArgumentException("pilot threshold must be finite and >= 0, got " + pilotThreshold);
            }
            if (!(wienerStrength > 0) || !Double.isFinite(wienerStrength)) {
                throw new IllegalArgumentException("Wiener strength must be finite and > 0, got " + wienerStrength);
            }
            if (noiseBlockSize < 4 || noiseBlockSize % 2 != 0) {
                throw new IllegalArgumentException("noise block size must be even and >= 4, got " + noiseBlockSize);
            }
        }

        public static Settings defaults() {
            return new Settings(5, 3.0, 1.0, NoiseEstimator.DEFAULT_BLOCK_SIZE);
        }
    }

    /**
     * @param denoised          offset-free estimate in ADU, same shape as the raw frame
     * @param noise             the fitted noise model of each channel (offsets as used)
     * @param meanNoiseSigmaAdu noise sigma (ADU) at each channel's mean raw level, averaged over
     *                          channels: the stage's quality metric
     */
    public record Result(Image denoised, List<NoiseModel> noise, double meanNoiseSigmaAdu) {

        public Result {
            noise = List.copyOf(noise);
        }
    }

    private final NoiseEstimator estimator;
    private final WaveletDenoiser wavelet;
    private float[] stabilised = new float[0];

    public ClassicalDenoiser() {
        this(Settings.defaults());
    }

    public ClassicalDenoiser(Settings settings) {
        this.estimator = new NoiseEstimator(settings.noiseBlockSize());
        this.wavelet = new WaveletDenoiser(settings.waveletLevels(), settings.pilotThreshold(),
                settings.wienerStrength());
    }

    /**
     * Denoises a raw frame into a new image.
     *
     * @param raw       raw counts in ADU, offset included
     * @param offsetAdu camera offset in ADU if the rig knows it; {@code NaN} to estimate it per
     *                  channel (see {@link NoiseEstimator})
     */
    public Result denoise(Image raw, double offsetAdu) {
        return denoise(raw, offsetAdu, new Image(raw.channels(), raw.height(), raw.width()));
    }

    /**
     * Denoises a raw frame into {@code out} (same shape; must not be {@code raw}).
     *
     * @throws IllegalArgumentException on a non-finite sample, an infinite offset or a shape mismatch
     */
    public Result denoise(Image raw, double offsetAdu, Image out) {
        check(raw, offsetAdu, out);
        NoiseModel[] models = new NoiseModel[raw.channels()];
        for (int c = 0; c < raw.channels(); c++) {
            models[c] = denoiseChannel(raw, c, offsetAdu, out);
        }
        return result(raw, out, models);
    }

    /**
     * What {@link #denoise(Image, double, Image)} refuses, checked once for a frame whose channels
     * are then denoised one by one ({@link #denoiseChannel}), e.g. by several instances side by side.
     *
     * @throws IllegalArgumentException on a non-finite sample, an infinite offset or a shape mismatch
     */
    public static void check(Image raw, double offsetAdu, Image out) {
        if (!raw.sameShape(out)) {
            throw new IllegalArgumentException("output " + out + " must have the raw frame's shape " + raw);
        }
        if (raw == out || raw.data() == out.data()) {
            throw new IllegalArgumentException("output must not share the raw frame's pixels");
        }
        if (Double.isInfinite(offsetAdu)) {
            throw new IllegalArgumentException("offset must be finite ADU or NaN (unknown), got " + offsetAdu);
        }
        requireFinite(raw);
    }

    /**
     * Denoises channel {@code c} of a {@link #check checked} frame into the same channel of
     * {@code out}: channels are independent, so instances may take different channels of one frame
     * at the same time (each instance on one thread).
     *
     * @return the channel's fitted noise model
     */
    public NoiseModel denoiseChannel(Image raw, int c, double offsetAdu, Image out) {
        int n = raw.planeSize();
        if (stabilised.length < n) {
            stabilised = new float[n];
        }
        int start = raw.planeOffset(c);
        NoiseModel model = estimator.estimate(raw.data(), start, raw.height(), raw.width(), offsetAdu);
        GeneralisedAnscombe gat = new GeneralisedAnscombe(model);
        gat.forward(raw.data(), start, stabilised, 0, n);
        wavelet.denoise(stabilised, 0, raw.height(), raw.width(), 1.0, stabilised, 0);
        gat.inverse(stabilised, 0, out.data(), start, n);
        return model;
    }

    /**
     * Bytes of scratch an instance holds for {@code height × width} planes: the wavelet
     * transform's {@code 3·levels + 6} planes and the stabilised plane (352 MiB at 2048×2048).
     */
    public static long scratchBytes(Settings settings, int height, int width) {
        return (3L * settings.waveletLevels() + 7) * height * width * Float.BYTES;
    }

    /**
     * How many instances may take a frame's channels side by side: up to {@code wanted}, as long as
     * their scratch together stays within a quarter of {@code heapBytes} (each holds its own), and
     * at least one. Camera-sized planes so get one instance, as on a single thread.
     */
    public static int instancesThatFit(int wanted, Settings settings, int height, int width, long heapBytes) {
        long fit = heapBytes / 4 / Math.max(1, scratchBytes(settings, height, width));
        return (int) Math.max(1, Math.min(wanted, fit));
    }

    /** The frame's result from its channels' noise models ({@link #denoiseChannel}). */
    public static Result result(Image raw, Image out, NoiseModel[] models) {
        double sigmaSum = 0;
        int n = raw.planeSize();
        for (int c = 0; c < raw.channels(); c++) {
            sigmaSum += models[c].sigmaAt(mean(raw.data(), raw.planeOffset(c), n));
        }
        return new Result(out, List.of(models), sigmaSum / raw.channels());
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
}
