package io.fluostream.frames;

import java.util.Map;

/**
 * One record-size limit applied consistently to broker, topics, producers, consumers and Streams'
 * internal topics. Kafka's 1 MiB default would reject a single 512×512×4 float frame; a limit set
 * on the producer but not the topic (or the fetch side) fails later and more confusingly.
 *
 * <p>64 MiB holds a 2048×2048×4 uint16 frame (32 MiB) uncompressed with room for planes.
 */
public final class RecordLimits {

    public static final int MAX_RECORD_BYTES = 64 * 1024 * 1024;

    private RecordLimits() {
    }

    /** Broker settings (server.properties). */
    public static Map<String, String> broker() {
        return Map.of(
                "message.max.bytes", Integer.toString(MAX_RECORD_BYTES + 1024 * 1024),
                "replica.fetch.max.bytes", Integer.toString(MAX_RECORD_BYTES + 1024 * 1024),
                "socket.request.max.bytes", Integer.toString(2 * MAX_RECORD_BYTES));
    }

    /** Per-topic settings (also for Streams' changelog and repartition topics). */
    public static Map<String, String> topic() {
        return Map.of("max.message.bytes", Integer.toString(MAX_RECORD_BYTES + 1024 * 1024));
    }

    public static Map<String, Object> producer() {
        return Map.of(
                "max.request.size", MAX_RECORD_BYTES + 1024 * 1024,
                // Enough to batch a few large frames without blocking the camera thread.
                "buffer.memory", 4L * MAX_RECORD_BYTES);
    }

    public static Map<String, Object> consumer() {
        return Map.of(
                "max.partition.fetch.bytes", MAX_RECORD_BYTES + 1024 * 1024,
                "fetch.max.bytes", 2 * MAX_RECORD_BYTES);
    }
}
