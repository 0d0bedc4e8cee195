package io.fluostream.frames;

/**
 * The pipeline's topics, each with its default name and the config key that renames it. Every
 * module takes topic names from here (through {@link TopicNames}); no topic string literals
 * elsewhere.
 *
 * <pre>
 * rig ─► frames.raw ─► denoise ─► frames.denoised ─► unmix ─► frames.unmixed
 *     ─► stabilise ─► frames.stabilised ─► flow ─► frames.flow      (bad frames ─► frames.dlq)
 * </pre>
 */
public enum Topic {
    RAW("raw", "frames.raw"),
    DENOISED("denoised", "frames.denoised"),
    UNMIXED("unmixed", "frames.unmixed"),
    STABILISED("stabilised", "frames.stabilised"),
    FLOW("flow", "frames.flow"),
    /** Frames that could not be decoded or processed, with the reason in headers (see {@link DeadLetters}). */
    DLQ("dlq", "frames.dlq"),
    /**
     * Commands every stage replica applies (pause, parameters, stage-specific calls): compacted, one
     * partition so all replicas see one order, read from the start by every replica at start.
     */
    CONTROL("control", "fluostream.control"),
    /** Who called which control API when, and with what result (JSON AuditEntry values). */
    AUDIT("audit", "fluostream.audit");

    private final String key;
    private final String defaultName;

    Topic(String key, String defaultName) {
        this.key = key;
        this.defaultName = defaultName;
    }

    /** Short name, as used in config keys and on the command line ("raw", "flow", ...). */
    public String key() {
        return key;
    }

    public String defaultName() {
        return defaultName;
    }

    /** Config property that overrides the name, e.g. {@code fluostream.topics.raw}. */
    public String configKey() {
        return "fluostream.topics." + key;
    }

    /** Whether the topic's values are frames (the pipeline topics and the dead-letter topic). */
    public boolean carriesFrames() {
        return this != CONTROL && this != AUDIT;
    }

    /** The topics whose values are frames: the pipeline topics, then the dead-letter topic. */
    public static Topic[] frameTopics() {
        return new Topic[] {RAW, DENOISED, UNMIXED, STABILISED, FLOW, DLQ};
    }

    /** The frame topics in pipeline order (without the dead-letter topic). */
    public static Topic[] pipeline() {
        return new Topic[] {RAW, DENOISED, UNMIXED, STABILISED, FLOW};
    }

    public static Topic byKey(String key) {
        for (Topic t : values()) {
            if (t.key.equals(key) || t.defaultName.equals(key)) {
                return t;
            }
        }
        StringBuilder known = new StringBuilder();
        for (Topic t : values()) {
            known.append(known.length() == 0 ? "" : ", ").append(t.key);
        }
        throw new IllegalArgumentException("unknown topic '" + key + "'; known: " + known);
    }
}
