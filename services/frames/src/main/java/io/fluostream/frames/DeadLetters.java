package io.fluostream.frames;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * How a rejected frame is labelled in the dead-letter topic. The record keeps the original key
 * and value bytes untouched, so nothing is lost and it can be replayed once fixed; the headers
 * say what was wrong and where it came from.
 */
public final class DeadLetters {

    /** Reason code, one of {@link FrameRejected.Reason} in lower case. */
    public static final String REASON = "fluostream.dlq.reason";
    /** Human-readable explanation: what was wrong and what to do. */
    public static final String MESSAGE = "fluostream.dlq.message";
    public static final String STAGE = "fluostream.dlq.stage";
    public static final String SOURCE_TOPIC = "fluostream.dlq.source-topic";
    public static final String SOURCE_PARTITION = "fluostream.dlq.source-partition";
    public static final String SOURCE_OFFSET = "fluostream.dlq.source-offset";

    private DeadLetters() {
    }

    public static void label(Headers headers, FrameRejected rejected, String stage, String topic, int partition, long offset) {
        put(headers, REASON, rejected.reason().label());
        put(headers, MESSAGE, rejected.getMessage());
        put(headers, STAGE, stage);
        put(headers, SOURCE_TOPIC, topic);
        put(headers, SOURCE_PARTITION, Integer.toString(partition));
        put(headers, SOURCE_OFFSET, Long.toString(offset));
    }

    /** The value of a header as text, or null when absent. */
    public static String header(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void put(Headers headers, String name, String value) {
        headers.remove(name);
        headers.add(name, (value == null ? "" : value).getBytes(StandardCharsets.UTF_8));
    }
}
