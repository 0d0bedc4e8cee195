package io.fluostream.frames;

/**
 * A frame that breaks the contract or cannot be processed. It goes to the dead-letter topic with
 * {@link #reason()} and the message, and the stream goes on.
 */
public final class FrameRejected extends Exception {

    /** Why a frame was rejected; a small fixed set so it can label a metric. */
    public enum Reason {
        /** The bytes are not a Frame. */
        UNDECODABLE,
        /** Zero, negative or absurdly large dimensions. */
        BAD_SHAPE,
        UNKNOWN_PIXEL_TYPE,
        /** Pixel byte count does not match the shape and pixel type. */
        SIZE_MISMATCH,
        /** NaN or infinite samples in a float frame. */
        BAD_VALUES,
        /** A sequence number not above the last one seen for the stream. */
        SEQUENCE_NOT_INCREASING,
        /** The frame is valid but this stage cannot take it (e.g. wrong channel count for its model). */
        INCOMPATIBLE,
        /** The output would exceed the configured maximum record size. */
        TOO_LARGE,
        /** The stage's kernel failed on this frame. */
        PROCESSING_FAILED,
        /** The frame's stream is paused and the frames held for it reached the stage's limit. */
        PARKED_LIMIT;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final Reason reason;

    public FrameRejected(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public FrameRejected(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
