package io.fluostream.imaging.stabilise;

/**
 * A registration reference prepared by {@link PhaseCorrelator#prepare}: the reference's samples
 * (channels summed) and the spectrum of its windowed, mean-free version, so that registering each
 * frame against it costs no transform of the reference.
 *
 * <p>Immutable once built, so one instance may be shared by several correlators and threads. Only
 * correlators of the same frame shape and window taper accept it.
 */
public final class ReferenceSpectrum {

    private final int height;
    private final int width;
    private final double windowTaper;
    final float[] samples;
    final float[] spectrumRe;
    final float[] spectrumIm;
    final boolean featureless;

    ReferenceSpectrum(int height, int width, double windowTaper, float[] samples,
            float[] spectrumRe, float[] spectrumIm, boolean featureless) {
        this.height = height;
        this.width = width;
        this.windowTaper = windowTaper;
        this.samples = samples;
        this.spectrumRe = spectrumRe;
        this.spectrumIm = spectrumIm;
        this.featureless = featureless;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    double windowTaper() {
        return windowTaper;
    }

    /**
     * True when the reference has no contrast (constant frame): nothing can be registered against
     * it and every estimate returns {@link Shift#NONE}.
     */
    public boolean isFeatureless() {
        return featureless;
    }

    @Override
    public String toString() {
        return "ReferenceSpectrum[" + height + "x" + width + (featureless ? ", featureless]" : "]");
    }
}
