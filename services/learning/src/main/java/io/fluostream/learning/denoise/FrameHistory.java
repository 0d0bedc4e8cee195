package io.fluostream.learning.denoise;

/**
 * The recent stabilised frames of one stream, for temporal context: in the service a Kafka Streams
 * store (it survives restarts and moves with the partition), in the benchmark a map.
 */
public interface FrameHistory {

    /** The stabilised frame (C×H×W) with sequence number {@code sequence}, or null if not kept. */
    float[] recall(long sequence);

    /** Keeps the stabilised frame of {@code sequence}; frames older than the context may go. */
    void remember(long sequence, float[] stabilised, int channels, int height, int width);

    /** A history that keeps nothing. */
    FrameHistory NONE = new FrameHistory() {
        @Override
        public float[] recall(long sequence) {
            return null;
        }

        @Override
        public void remember(long sequence, float[] stabilised, int channels, int height, int width) {
        }
    };
}
