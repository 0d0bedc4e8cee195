package io.fluostream.learning.denoise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.GeneralisedAnscombe;
import io.fluostream.imaging.denoise.NoiseEstimator;
import io.fluostream.imaging.denoise.NoiseModel;

/**
 * A raw frame in the variance-stabilised domain: each channel's Poisson–Gaussian noise is fitted on
 * the frame ({@link NoiseEstimator}) and mapped to unit variance by the generalised Anscombe
 * transform, so one blind-spot loss fits every photon level. {@link #inverse} maps a denoised estimate
 * back to offset-free ADU with the exact unbiased inverse, as the classical denoiser does.
 */
public final class StabilisedFrame {

    private final float[] values;
    private final GeneralisedAnscombe[] transforms;
    private final int channels;
    private final int height;
    private final int width;

    private StabilisedFrame(float[] values, GeneralisedAnscombe[] transforms, int channels, int height, int width) {
        this.values = values;
        this.transforms = transforms;
        this.channels = channels;
        this.height = height;
        this.width = width;
    }

    /**
     * Fits the noise of every channel and stabilises it.
     *
     * @param offsetAdu the camera offset if known, else {@code NaN}
     */
    public static StabilisedFrame of(Image raw, double offsetAdu, NoiseEstimator estimator) {
        NoiseModel[] models = new NoiseModel[raw.channels()];
        for (int c = 0; c < raw.channels(); c++) {
            models[c] = estimator.estimate(raw.data(), raw.planeOffset(c), raw.height(), raw.width(), offsetAdu);
        }
        return of(raw, models);
    }

    /**
     * {@link #of(Image, double, NoiseEstimator)} with the channels spread over {@code workers}, each
     * fitting with its own estimator ({@code estimators[worker]}; at least {@code workers.threads()}).
     */
    public static StabilisedFrame of(Image raw, double offsetAdu, NoiseEstimator[] estimators, ChannelWorkers workers) {
        int n = raw.planeSize();
        float[] v = new float[raw.data().length];
        GeneralisedAnscombe[] t = new GeneralisedAnscombe[raw.channels()];
        workers.forEach(raw.channels(), (k, c) -> {
            t[c] = new GeneralisedAnscombe(estimators[k].estimate(raw.data(), raw.planeOffset(c), raw.height(), raw.width(), offsetAdu));
            t[c].forward(raw.data(), c * n, v, c * n, n);
        });
        return new StabilisedFrame(v, t, raw.channels(), raw.height(), raw.width());
    }

    /** Stabilises with noise models already fitted (one per channel). */
    public static StabilisedFrame of(Image raw, NoiseModel[] models) {
        if (models.length != raw.channels()) {
            throw new IllegalArgumentException(models.length + " noise models for " + raw.channels() + " channels");
        }
        int n = raw.planeSize();
        float[] v = new float[raw.data().length];
        GeneralisedAnscombe[] t = new GeneralisedAnscombe[models.length];
        for (int c = 0; c < models.length; c++) {
            t[c] = new GeneralisedAnscombe(models[c]);
            t[c].forward(raw.data(), c * n, v, c * n, n);
        }
        return new StabilisedFrame(v, t, raw.channels(), raw.height(), raw.width());
    }

    /** Stabilised samples, C×H×W channel-major. */
    public float[] values() {
        return values;
    }

    public NoiseModel noise(int channel) {
        return transforms[channel].model();
    }

    public GeneralisedAnscombe transform(int channel) {
        return transforms[channel];
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Denoised stabilised values (C×H×W) → offset-free ADU, per channel with this frame's noise. */
    public Image inverse(float[] denoised) {
        return inverse(denoised, ChannelWorkers.SERIAL);
    }

    /** {@link #inverse(float[])} with the channels spread over {@code workers}. */
    public Image inverse(float[] denoised, ChannelWorkers workers) {
        Image out = new Image(channels, height, width);
        int n = height * width;
        workers.forEach(channels, (k, c) -> transforms[c].inverse(denoised, c * n, out.data(), c * n, n));
        return out;
    }

    /**
     * A spread around a denoised estimate (both stabilised, C×H×W) in offset-free ADU: half the
     * distance between the inverses of {@code denoised ± spread}, so it follows the inverse's slope
     * at each pixel's level.
     */
    public Image spreadInAdu(float[] denoised, float[] spread, ChannelWorkers workers) {
        Image out = new Image(channels, height, width);
        workers.forEach(channels, (k, c) -> spreadInAdu(c, denoised, spread, out.data(), new float[2 * SPREAD_CHUNK]));
        return out;
    }

    /**
     * {@link #inverse(float[], ChannelWorkers)} and, with a spread, {@link #spreadInAdu}: the same
     * values, a channel's both planes made by one worker in one go (one hand-over to the workers
     * instead of two).
     *
     * @param spread null: no uncertainty plane
     * @return the denoised frame and its uncertainty plane (null without a spread), offset-free ADU
     */
    public Image[] inverseWithSpread(float[] denoised, float[] spread, ChannelWorkers workers) {
        Image out = new Image(channels, height, width);
        Image uncertainty = spread == null ? null : new Image(channels, height, width);
        int n = height * width;
        workers.forEach(channels, (k, c) -> {
            transforms[c].inverse(denoised, c * n, out.data(), c * n, n);
            if (uncertainty != null) {
                spreadInAdu(c, denoised, spread, uncertainty.data(), new float[2 * SPREAD_CHUNK]);
            }
        });
        return new Image[] {out, uncertainty};
    }

    /** Samples of a channel taken at a time by {@link #spreadInAdu}: its scratch stays in the L1 cache. */
    private static final int SPREAD_CHUNK = 2048;

    /** Channel {@code c}'s uncertainty into {@code u}, a chunk at a time ({@code scratch}: 2 chunks). */
    private void spreadInAdu(int c, float[] denoised, float[] spread, float[] u, float[] scratch) {
        int n = height * width;
        for (int from = c * n, end = (c + 1) * n; from < end; from += SPREAD_CHUNK) {
            int len = Math.min(SPREAD_CHUNK, end - from);
            for (int i = 0; i < len; i++) {
                scratch[i] = denoised[from + i] + spread[from + i];
                scratch[SPREAD_CHUNK + i] = denoised[from + i] - spread[from + i];
            }
            transforms[c].inverse(scratch, 0, u, from, len);
            transforms[c].inverse(scratch, SPREAD_CHUNK, scratch, SPREAD_CHUNK, len);
            for (int i = 0; i < len; i++) {
                u[from + i] = 0.5f * Math.abs(u[from + i] - scratch[SPREAD_CHUNK + i]);
            }
        }
    }
}
