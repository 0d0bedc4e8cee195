package io.fluostream.learning.denoise;

/**
 * How a denoiser is trained (stored with each model as its hyperparameters).
 *
 * @param patchSize    side of the training patches, px (a multiple of the network's size multiple)
 * @param batchSize    patches per step
 * @param learningRate Adam's step size
 * @param maskFraction blind spots per channel and pixel (self-supervised mode)
 * @param maskRadius   neighbourhood a blind spot's replacement comes from, px
 */
public record TrainingSettings(int patchSize, int batchSize, double learningRate, double maskFraction, int maskRadius) {

    public TrainingSettings {
        if (patchSize < 8 || patchSize > 512) {
            throw new IllegalArgumentException("patch size must be 8..512 px, got " + patchSize);
        }
        if (batchSize < 1 || batchSize > 256) {
            throw new IllegalArgumentException("batch size must be 1..256, got " + batchSize);
        }
        if (!(learningRate > 0 && learningRate < 1)) {
            throw new IllegalArgumentException("learning rate must be in (0, 1), got " + learningRate);
        }
        if (!(maskFraction > 0 && maskFraction <= 0.25)) {
            throw new IllegalArgumentException("mask fraction must be in (0, 0.25], got " + maskFraction);
        }
        if (maskRadius < 1 || maskRadius > 8) {
            throw new IllegalArgumentException("mask radius must be 1..8 px, got " + maskRadius);
        }
    }

    public static TrainingSettings defaults() {
        return new TrainingSettings(64, 8, 1e-3, 0.1, 2);
    }
}
