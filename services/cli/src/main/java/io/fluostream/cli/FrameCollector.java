package io.fluostream.cli;

import io.fluostream.frames.RecordLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads topics from the beginning, committed records only (what a downstream consumer sees under
 * exactly-once), without a consumer group, and hands every record to a callback.
 */
public final class FrameCollector implements AutoCloseable {

    private final KafkaConsumer<String, byte[]> consumer;

    public FrameCollector(String bootstrap, List<String> topics) {
        Map<String, Object> c = new HashMap<>(RecordLimits.consumer());
        c.put("bootstrap.servers", bootstrap);
        c.put("isolation.level", "read_committed");
        c.put("enable.auto.commit", false);
        c.put("max.poll.records", 50);
        consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = new ArrayList<>();
        for (String t : topics) {
            for (PartitionInfo p : consumer.partitionsFor(t, Duration.ofSeconds(30))) {
                parts.add(new TopicPartition(t, p.partition()));
            }
        }
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    /**
     * Polls until {@code done} says so, or nothing arrived for {@code idle}.
     *
     * @return true when {@code done} became true, false on the idle timeout
     */
    public boolean collect(Consumer<ConsumerRecord<String, byte[]>> sink, BooleanSupplier done, Duration idle) {
        long lastProgress = System.nanoTime();
        while (!done.getAsBoolean()) {
            var records = consumer.poll(Duration.ofMillis(200));
            if (!records.isEmpty()) {
                lastProgress = System.nanoTime();
                records.forEach(sink);
            } else if (System.nanoTime() - lastProgress > idle.toNanos()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        consumer.close();
    }
}
