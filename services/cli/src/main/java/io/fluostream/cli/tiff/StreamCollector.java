package io.fluostream.cli.tiff;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.RecordLimits;
import io.fluostream.proto.Frame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads one stream's frames from a topic: from the beginning, committed records only (what a
 * downstream consumer sees under exactly-once), without a consumer group (nothing is committed,
 * so it can run any number of times). Frames are kept by sequence number: out-of-order arrivals
 * are sorted, a repeated sequence number is kept once.
 */
public final class StreamCollector {

    /** What was read. */
    public record Collected(SortedMap<Long, Frame> frames, int duplicates, int undecodable, String firstProblem,
                            boolean idle) {
    }

    private final String bootstrap;

    public StreamCollector(String bootstrap) {
        this.bootstrap = bootstrap;
    }

    /**
     * Collects until {@code maxFrames} distinct frames (0 = no limit) or no frame of the stream
     * arrived for {@code idle}.
     *
     * @throws IllegalStateException when the topic does not exist or the broker does not answer
     */
    public Collected collect(String topic, String streamId, int maxFrames, Duration idle) {
        Map<String, Object> c = new HashMap<>(RecordLimits.consumer());
        c.put("bootstrap.servers", bootstrap);
        c.put("isolation.level", "read_committed");
        c.put("enable.auto.commit", false);
        c.put("max.poll.records", 50);
        c.put("default.api.timeout.ms", 20_000);
        SortedMap<Long, Frame> frames = new TreeMap<>(Long::compareUnsigned);
        int duplicates = 0;
        int undecodable = 0;
        String firstProblem = null;
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofSeconds(20));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                throw new IllegalStateException("the Kafka broker at " + bootstrap + " did not answer within 20 s; is it "
                        + "running (./fluostream up) and is --bootstrap right?", e);
            }
            if (infos == null || infos.isEmpty()) {
                throw new IllegalStateException("topic '" + topic + "' does not exist on " + bootstrap
                        + "; pass a stage's topic key (raw, denoised, unmixed, stabilised, flow, dlq) or a full topic name");
            }
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo p : infos) {
                parts.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            long lastFrame = System.nanoTime();
            while (maxFrames <= 0 || frames.size() < maxFrames) {
                var records = consumer.poll(Duration.ofMillis(200));
                boolean progress = false;
                for (ConsumerRecord<String, byte[]> r : records) {
                    if (!streamId.equals(r.key())) {
                        continue;
                    }
                    Frame f;
                    try {
                        f = FrameImages.parse(r.value());
                    } catch (FrameRejected e) {
                        undecodable++;
                        if (firstProblem == null) {
                            firstProblem = "offset " + r.offset() + ": " + e.getMessage();
                        }
                        continue;
                    }
                    if (!streamId.equals(f.getStreamId())) {
                        continue;
                    }
                    progress = true;
                    if (frames.putIfAbsent(f.getSequence(), f) != null) {
                        duplicates++;
                    }
                }
                if (progress) {
                    lastFrame = System.nanoTime();
                } else if (System.nanoTime() - lastFrame > idle.toNanos()) {
                    return new Collected(frames, duplicates, undecodable, firstProblem, true);
                }
            }
        }
        // A poll can bring more than asked for: keep the first maxFrames by sequence.
        while (maxFrames > 0 && frames.size() > maxFrames) {
            frames.remove(frames.lastKey());
        }
        return new Collected(frames, duplicates, undecodable, firstProblem, false);
    }
}
