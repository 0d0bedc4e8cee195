package io.fluostream.learning.denoise;

/**
 * What a learned denoiser takes and how big it is: the frame's channels, how many earlier frames it
 * sees, and the U-Net's width and depth. The network input is the current frame's channels followed
 * by those of frames t−1, t−2, … (all variance-stabilised); the output is the current frame's
 * channels.
 *
 * <p>Temporal context is causal (t−1, t−2, not t+1): a live stream has no next frame yet, and
 * waiting for it would add a frame of latency and break the stage's one-frame-in, one-frame-out
 * contract. Past frames carry independent noise, so they do not break the blind spot.
 *
 * @param channels      C, channels of the frames it serves
 * @param contextFrames earlier frames fed as extra input (0: none; 2: t−1 and t−2)
 * @param baseFeatures  U-Net features at the first level
 * @param depth         U-Net down-samplings
 * @param classicalGuide also feed the classical (wavelet) estimate of the current frame, computed on
 *                      the blind-spot-masked input, and predict a correction to it (see
 *                      {@link ClassicalGuide})
 */
public record DenoiserDesign(int channels, int contextFrames, int baseFeatures, int depth, boolean classicalGuide) {

    /** 2×2 blocks folded into channels: the network runs at half resolution (see {@link UNet}). */
    public static final int FOLD = 2;

    public DenoiserDesign {
        if (channels < 1 || channels > 32) {
            throw new IllegalArgumentException("channels must be 1..32, got " + channels);
        }
        if (contextFrames < 0 || contextFrames > 4) {
            throw new IllegalArgumentException("context frames must be 0..4, got " + contextFrames);
        }
        if (baseFeatures < 4 || baseFeatures > 128) {
            throw new IllegalArgumentException("base features must be 4..128, got " + baseFeatures);
        }
        if (depth < 1 || depth > 4) {
            throw new IllegalArgumentException("depth must be 1..4, got " + depth);
        }
    }

    /** A plain blind-spot design (no classical guide). */
    public DenoiserDesign(int channels, int contextFrames, int baseFeatures, int depth) {
        this(channels, contextFrames, baseFeatures, depth, false);
    }

    /** The default: 16 features, two levels down (at half resolution), guided by the classical estimate. */
    public static DenoiserDesign of(int channels, int contextFrames) {
        return new DenoiserDesign(channels, contextFrames, 16, 2, true);
    }

    /** Frames in the input (the current one plus context). */
    public int frames() {
        return 1 + contextFrames;
    }

    /** Index of the first guide plane in the input (after the frames). */
    public int guideOffset() {
        return channels * frames();
    }

    public UNetArchitecture unet() {
        return new UNetArchitecture(channels * frames() + (classicalGuide ? channels : 0), channels, baseFeatures, depth, FOLD);
    }
}
