package io.fluostream.learning.denoise;

/**
 * One training example, variance-stabilised: a crop of the current frame and its context frames
 * ({@code frames × channels × height × width}, the current frame first), and for supervised (CARE)
 * training the clean target's expected stabilised value ({@code channels × height × width}).
 *
 * @param streamId where it came from
 * @param sequence the current frame's sequence number
 * @param target   null for self-supervised (blind-spot) training
 */
public record TrainingCrop(String streamId, long sequence, int frames, int channels, int height, int width,
                           float[] planes, float[] target) {

    public TrainingCrop {
        if (planes.length != frames * channels * height * width) {
            throw new IllegalArgumentException("crop of " + frames + "x" + channels + "x" + height + "x" + width
                    + " needs " + frames * channels * height * width + " samples, got " + planes.length);
        }
        if (target != null && target.length != channels * height * width) {
            throw new IllegalArgumentException("target must be " + channels + "x" + height + "x" + width);
        }
    }

    public long bytes() {
        return 4L * (planes.length + (target == null ? 0 : target.length));
    }
}
