package io.fluostream.learning.denoise;

/**
 * A model that can denoise frames now: a U-Net trained here or a TorchScript module trained
 * elsewhere. Both work in the variance-stabilised domain: input {@code frames × C × H × W}
 * stabilised planes (the current frame first), output the current frame's C planes.
 *
 * <p>Owns native memory; closed by whoever replaced it (the serving thread). Not thread-safe.
 */
public interface ServingModel extends AutoCloseable {

    /** "name/version", e.g. {@code n2v-unet/3}: what output frames name in provenance. */
    String id();

    /** Channels of the frames it serves. */
    int channels();

    /** Earlier frames it needs besides the current one. */
    int contextFrames();

    /**
     * Why it cannot denoise a {@code channels × height × width} frame, or null if it can. Checked
     * before a model is put in force and again for every frame.
     */
    String misfit(int channels, int height, int width);

    DenoisingNetwork.Prediction predict(float[] planes, int height, int width, boolean confidence);

    /** {@link #predict} with the Java work around the network spread over {@code workers} where the model can. */
    default DenoisingNetwork.Prediction predict(float[] planes, int height, int width, boolean confidence, ChannelWorkers workers) {
        return predict(planes, height, width, confidence);
    }

    @Override
    void close();
}
