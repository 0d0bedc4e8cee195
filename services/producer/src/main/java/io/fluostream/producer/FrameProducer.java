package io.fluostream.producer;

import io.fluostream.frames.RecordLimits;
import io.fluostream.frames.Topic;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Encoding;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes camera frames into FluoStream's raw topic, for acquisition software (a Micro-Manager
 * plugin, a camera SDK loop) and tools such as {@code fluostream replay}.
 *
 * <p>One producer per process holds the Kafka connection; each camera stream (rig/camera/position)
 * gets a {@link FrameStream} from {@link #stream}, which keys its frames by stream id (so a stream
 * stays in order on one partition), numbers them 0, 1, 2, … (or from a given start) and stamps
 * acquisition time and metadata. The Kafka producer is idempotent with acks=all and the record
 * limits of {@link RecordLimits}, so a retried send never duplicates or reorders a frame. Sends are
 * asynchronous and return futures; {@link #close()} waits until every frame is acknowledged.
 *
 * <pre>{@code
 * try (FrameProducer producer = FrameProducer.builder("localhost:9092").build()) {
 *     FrameStream cam = producer.stream("rig1/cam0/pos0", acquisition);
 *     cam.send(pixels, 4, 512, 512);          // short[] uint16 samples, channel-major (c, y, x)
 * }
 * }</pre>
 *
 * Thread-safe: streams may be fed from different threads.
 */
public final class FrameProducer implements AutoCloseable {

    private final Producer<String, byte[]> producer;
    private final String topic;
    private final Encoding encoding;
    private final Clock clock;
    private final Map<String, FrameStream> streams = new ConcurrentHashMap<>();
    private volatile boolean closed;

    FrameProducer(Producer<String, byte[]> producer, String topic, Encoding encoding, Clock clock) {
        this.producer = producer;
        this.topic = topic;
        this.encoding = encoding;
        this.clock = clock;
    }

    /** A builder for a producer that talks to the Kafka cluster at {@code bootstrap} ("host:port,..."). */
    public static Builder builder(String bootstrap) {
        return new Builder(bootstrap);
    }

    /** Builds a {@link FrameProducer}: {@code optX} methods are optional. */
    public static final class Builder {

        private final String bootstrap;
        private String topic = Topic.RAW.defaultName();
        private Encoding encoding = Encoding.SHUFFLE_ZSTD;
        private Clock clock = Clock.systemUTC();
        private final Map<String, Object> extra = new HashMap<>();

        private Builder(String bootstrap) {
            if (bootstrap == null || bootstrap.isBlank()) {
                throw new IllegalArgumentException("bootstrap servers are required, e.g. \"localhost:9092\"");
            }
            this.bootstrap = bootstrap;
        }

        /** Topic to publish to; default the pipeline's raw topic ({@code frames.raw}). */
        public Builder optTopic(String topic) {
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("topic must not be blank");
            }
            this.topic = topic;
            return this;
        }

        /** Pixel encoding; default byte-shuffle + zstd (lossless, about half the size of raw uint16). */
        public Builder optEncoding(Encoding encoding) {
            if (encoding != Encoding.RAW && encoding != Encoding.SHUFFLE_ZSTD) {
                throw new IllegalArgumentException("encoding must be RAW or SHUFFLE_ZSTD, not " + encoding);
            }
            this.encoding = encoding;
            return this;
        }

        /** Where "now" comes from when a send gives no acquisition time. */
        public Builder optClock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /**
         * Any further Kafka producer setting (security, client.id, linger.ms, ...). Idempotence,
         * acks=all and the serializers are part of the contract and cannot be changed.
         */
        public Builder optConfig(String key, Object value) {
            switch (key) {
                case "enable.idempotence", "acks", "key.serializer", "value.serializer" ->
                        throw new IllegalArgumentException(key + " is fixed by FrameProducer (idempotent, acks=all, "
                                + "String keys, Frame bytes)");
                default -> extra.put(key, value);
            }
            return this;
        }

        public FrameProducer build() {
            return new FrameProducer(new KafkaProducer<>(config(), new StringSerializer(), new ByteArraySerializer()),
                    topic, encoding, clock);
        }

        Map<String, Object> config() {
            Map<String, Object> c = new HashMap<>(RecordLimits.producer());
            c.put("linger.ms", 5);
            // Pixels are compressed already (byte-shuffle + zstd).
            c.put("compression.type", "none");
            c.putAll(extra);
            c.put("bootstrap.servers", bootstrap);
            // A retried send can neither duplicate nor reorder a frame, and an acknowledged frame
            // is on every in-sync replica.
            c.put("enable.idempotence", true);
            c.put("acks", "all");
            return c;
        }
    }

    /** A stream numbered from 0 with no acquisition metadata. */
    public FrameStream stream(String streamId) {
        return stream(streamId, Acquisition.getDefaultInstance(), 0);
    }

    /** A stream numbered from 0 whose frames carry {@code acquisition} (pixel size, channels, ...). */
    public FrameStream stream(String streamId, Acquisition acquisition) {
        return stream(streamId, acquisition, 0);
    }

    /**
     * A stream whose first frame gets {@code firstSequence}: to continue a stream after a restart,
     * pass one more than the last sequence number published (the stages reject numbers that do not
     * move forward).
     *
     * @throws IllegalStateException if this producer already has a stream with that id
     */
    public FrameStream stream(String streamId, Acquisition acquisition, long firstSequence) {
        checkOpen();
        if (streamId == null || streamId.isBlank()) {
            throw new IllegalArgumentException("stream id must not be blank; use rig/camera/position, e.g. \"rig1/cam0/pos0\"");
        }
        if (firstSequence < 0) {
            throw new IllegalArgumentException("first sequence must be >= 0, got " + firstSequence);
        }
        FrameStream s = new FrameStream(this, streamId, acquisition == null ? Acquisition.getDefaultInstance() : acquisition,
                firstSequence);
        if (streams.putIfAbsent(streamId, s) != null) {
            throw new IllegalStateException("stream '" + streamId + "' is already open on this producer; keep using its "
                    + "FrameStream, or its sequence numbers would repeat");
        }
        return s;
    }

    /** Blocks until every frame sent so far is acknowledged or failed. */
    public void flush() {
        producer.flush();
    }

    /** Waits for every frame sent so far, then closes the connection. */
    @Override
    public void close() {
        close(Duration.ofMinutes(2));
    }

    public void close(Duration timeout) {
        closed = true;
        producer.close(timeout);
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this FrameProducer is closed");
        }
    }

    Producer<String, byte[]> kafka() {
        return producer;
    }

    String topic() {
        return topic;
    }

    Encoding encoding() {
        return encoding;
    }

    Clock clock() {
        return clock;
    }
}
