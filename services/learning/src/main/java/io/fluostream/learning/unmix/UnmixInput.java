package io.fluostream.learning.unmix;

import io.fluostream.imaging.Image;

/**
 * What the learned unmixer sees of a frame: the denoised channels and their exact NNLS
 * abundances, stacked ({@code C + F} planes) and divided by the frame's scale, so that one network
 * serves every photon level and camera gain. Training targets are divided by the same scale.
 *
 * <p>The scale is the frame's mean channel sum (ADU per pixel, at least {@value #MIN_SCALE}): it
 * is proportional to the light level and needs nothing but the frame.
 */
public final class UnmixInput {

    /** Floor of the scale, ADU: keeps an empty frame's input finite. */
    static final double MIN_SCALE = 1e-3;

    private UnmixInput() {
    }

    /** The frame's scale: mean over pixels of the sum over channels, ADU, at least {@value #MIN_SCALE}. */
    public static double scale(Image denoised) {
        double sum = 0;
        for (float v : denoised.data()) {
            sum += v;
        }
        return Math.max(MIN_SCALE, sum / denoised.planeSize());
    }

    /**
     * {@code (C + F) × H × W} floats, channel-major: {@code denoised / scale} then
     * {@code nnls / scale}.
     */
    public static float[] stack(Image denoised, Image nnls, double scale) {
        if (denoised.height() != nnls.height() || denoised.width() != nnls.width()) {
            throw new IllegalArgumentException("denoised " + denoised + " and NNLS abundances " + nnls + " differ in size");
        }
        float[] out = new float[denoised.data().length + nnls.data().length];
        float inv = (float) (1 / scale);
        float[] x = denoised.data();
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv;
        }
        float[] a = nnls.data();
        for (int i = 0; i < a.length; i++) {
            out[x.length + i] = a[i] * inv;
        }
        return out;
    }
}
