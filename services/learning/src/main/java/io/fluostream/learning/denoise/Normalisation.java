package io.fluostream.learning.denoise;

/**
 * The affine map between variance-stabilised values and the network's inputs and outputs,
 * {@code x = (v − shift) / scale}, fixed when training starts and stored with the model. It keeps
 * the network's numbers near unit range at any photon level; the noise then has standard deviation
 * {@code 1/scale}.
 */
public record Normalisation(float shift, float scale) {

    public Normalisation {
        if (!Float.isFinite(shift) || !(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("normalisation needs a finite shift and a positive scale, got "
                    + shift + ", " + scale);
        }
    }

    /** Shift = mean and scale = standard deviation (at least 1: the unit noise) of the samples. */
    public static Normalisation fit(float[] samples, int from, int to) {
        double s = 0;
        double s2 = 0;
        int n = to - from;
        for (int i = from; i < to; i++) {
            s += samples[i];
            s2 += (double) samples[i] * samples[i];
        }
        double mean = n == 0 ? 0 : s / n;
        double var = n == 0 ? 1 : Math.max(0, s2 / n - mean * mean);
        return new Normalisation((float) mean, (float) Math.max(1.0, Math.sqrt(var)));
    }

    public float in(float v) {
        return (v - shift) / scale;
    }

    public float out(float x) {
        return x * scale + shift;
    }
}
