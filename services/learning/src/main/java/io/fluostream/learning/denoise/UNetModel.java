package io.fluostream.learning.denoise;

/** A {@link ServingModel} of a U-Net trained by FluoStream ({@link DenoisingNetwork}). */
final class UNetModel implements ServingModel {

    private final String id;
    private final DenoisingNetwork network;

    UNetModel(String id, DenoisingNetwork network) {
        this.id = id;
        this.network = network;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int channels() {
        return network.design().channels();
    }

    @Override
    public int contextFrames() {
        return network.design().contextFrames();
    }

    @Override
    public String misfit(int channels, int height, int width) {
        if (channels != channels()) {
            return "model " + id + " takes frames of " + channels() + " channel(s), the frame has " + channels;
        }
        return null;
    }

    @Override
    public DenoisingNetwork.Prediction predict(float[] planes, int height, int width, boolean confidence) {
        return network.predict(planes, height, width, confidence);
    }

    @Override
    public DenoisingNetwork.Prediction predict(float[] planes, int height, int width, boolean confidence, ChannelWorkers workers) {
        return network.predict(planes, height, width, confidence, workers);
    }

    @Override
    public void close() {
        network.close();
    }
}
