package io.fluostream.learning.denoise;

import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.WaveletDenoiser;

/**
 * The classical estimate as extra network input: the stage's wavelet shrinkage applied to the
 * stabilised planes (unit noise, so no noise fit is needed). The network adds a learned correction
 * to it, so even an early model starts from the classical quality instead of from scratch.
 *
 * <p>During blind-spot training the guide is computed from the <em>masked</em> input: it then
 * cannot see a masked pixel's value either, and the loss stays J-invariant. At inference it is
 * computed from the frame as is (like Noise2Void's network, which also sees the centre pixel only
 * at inference).
 *
 * <p>Owns scratch; one thread at a time.
 */
final class ClassicalGuide {

    private final WaveletDenoiser wavelet;
    private float[] scratch = new float[0];
    private float[] out = new float[0];

    ClassicalGuide() {
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        wavelet = new WaveletDenoiser(d.waveletLevels(), d.pilotThreshold(), d.wienerStrength());
    }

    /** Guide planes ({@code channels × h × w}, stabilised) of stabilised planes at {@code src[offset…]}. */
    void compute(float[] src, int offset, int channels, int h, int w, float[] dst, int dstOffset) {
        int n = h * w;
        for (int c = 0; c < channels; c++) {
            computePlane(src, offset + c * n, h, w, dst, dstOffset + c * n);
        }
    }

    /** The guide of one stabilised plane. */
    void computePlane(float[] src, int offset, int h, int w, float[] dst, int dstOffset) {
        wavelet.denoise(src, offset, h, w, 1.0, dst, dstOffset);
    }

    /** The same on normalised planes: back to the stabilised domain, denoise, normalise again. */
    void computeNormalised(float[] src, int offset, int channels, int h, int w, Normalisation norm, float[] dst, int dstOffset) {
        int len = channels * h * w;
        if (scratch.length < len) {
            scratch = new float[len];
            out = new float[len];
        }
        for (int i = 0; i < len; i++) {
            scratch[i] = norm.out(src[offset + i]);
        }
        compute(scratch, 0, channels, h, w, out, 0);
        for (int i = 0; i < len; i++) {
            dst[dstOffset + i] = norm.in(out[i]);
        }
    }
}
