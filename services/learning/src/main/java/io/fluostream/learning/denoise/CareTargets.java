package io.fluostream.learning.denoise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.NoiseEstimator;

/**
 * Supervised (CARE, Weigert et al. 2018) training pairs: a low-SNR frame and a high-SNR frame of the
 * same scene (longer exposure, more light). The high-SNR frame is brought to the low frame's
 * intensity scale (least-squares ratio of the offset-free frames, per channel) and turned into the
 * expected stabilised value under the low frame's noise — the same target a perfect blind-spot model
 * would learn, so CARE and Noise2Void models share one inference path and one registry.
 */
public final class CareTargets {

    private CareTargets() {
    }

    /** A low-SNR frame, stabilised, and its target. */
    public record Pair(StabilisedFrame low, float[] target) {
    }

    /**
     * @param lowOffset  camera offset of the low-SNR frame, ADU ({@code NaN}: estimated)
     * @param highOffset camera offset of the high-SNR frame, ADU (must be known)
     */
    public static Pair pair(Image lowRaw, double lowOffset, Image highRaw, double highOffset, NoiseEstimator estimator) {
        if (!lowRaw.sameShape(highRaw)) {
            throw new IllegalArgumentException("a CARE pair needs frames of one shape: low " + lowRaw + ", high " + highRaw);
        }
        if (!Double.isFinite(highOffset)) {
            throw new IllegalArgumentException("the high-SNR frame's camera offset must be known, got " + highOffset);
        }
        StabilisedFrame low = StabilisedFrame.of(lowRaw, lowOffset, estimator);
        int n = lowRaw.planeSize();
        float[] target = new float[lowRaw.data().length];
        for (int c = 0; c < lowRaw.channels(); c++) {
            double off = low.noise(c).offset();
            double slh = 0;
            double shh = 0;
            for (int i = c * n; i < (c + 1) * n; i++) {
                double l = lowRaw.data()[i] - off;
                double h = highRaw.data()[i] - highOffset;
                slh += l * h;
                shh += h * h;
            }
            double ratio = shh > 0 ? slh / shh : 0;
            for (int i = c * n; i < (c + 1) * n; i++) {
                target[i] = (float) low.transform(c).expectedStabilised(ratio * (highRaw.data()[i] - highOffset));
            }
        }
        return new Pair(low, target);
    }
}
