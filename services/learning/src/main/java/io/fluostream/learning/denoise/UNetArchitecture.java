package io.fluostream.learning.denoise;

/**
 * The shape of a {@link UNet}: what goes in and out, how wide and how deep. Stored with every
 * trained model so a replica can rebuild the network before loading its weights.
 *
 * @param inputChannels  planes fed to the network (frame channels × frames of context)
 * @param outputChannels planes it predicts (the frame's channels)
 * @param baseFeatures   feature maps at the first level; doubled at each level down
 * @param depth          2×2 max-pool down-samplings inside the U-Net
 * @param fold           side of the pixel blocks folded into channels before the first convolution
 *                       and unfolded after the last (1: none; 2: the network runs at half resolution
 *                       on 4× the planes, as in FFDNet, ~4× faster on a CPU)
 */
public record UNetArchitecture(int inputChannels, int outputChannels, int baseFeatures, int depth, int fold) {

    public UNetArchitecture {
        if (inputChannels < 1 || inputChannels > 256) {
            throw new IllegalArgumentException("input channels must be 1..256, got " + inputChannels);
        }
        if (outputChannels < 1 || outputChannels > 256) {
            throw new IllegalArgumentException("output channels must be 1..256, got " + outputChannels);
        }
        if (baseFeatures < 1 || baseFeatures > 256) {
            throw new IllegalArgumentException("base features must be 1..256, got " + baseFeatures);
        }
        if (depth < 0 || depth > 6) {
            throw new IllegalArgumentException("depth must be 0..6 down-samplings, got " + depth);
        }
        if (fold != 1 && fold != 2) {
            throw new IllegalArgumentException("fold must be 1 or 2, got " + fold);
        }
    }

    /** Height and width fed to the network must be multiples of this; callers pad frames to it. */
    public int sizeMultiple() {
        return fold << depth;
    }

    @Override
    public String toString() {
        return "unet(in=" + inputChannels + ", out=" + outputChannels + ", features=" + baseFeatures
                + ", depth=" + depth + ", fold=" + fold + ")";
    }
}
