package io.fluostream.cli;

import io.fluostream.frames.DeadLetters;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.proto.Frame;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Checks the delivery promise on every pipeline topic: each frame of each stream exactly once, in
 * sequence order, and every rejected frame in the dead-letter topic with a reason. Also notes when
 * each frame arrived, so failure tests can tell how long a stage took to recover.
 */
public final class PipelineAudit {

    private final TopicNames names;
    private final Map<String, Topic> byName = new HashMap<>();
    private final Map<Topic, Map<String, List<Arrival>>> arrivals = new EnumMap<>(Topic.class);
    private final List<DeadLetter> deadLetters = new ArrayList<>();

    /** A record of the dead-letter topic. */
    public record DeadLetter(String key, String stage, String reason, String message) {
    }

    /** A frame seen on a topic, and when this audit saw it ({@link System#nanoTime()}). */
    public record Arrival(long sequence, long nanos) {
    }

    public PipelineAudit(TopicNames names) {
        this.names = names;
        for (Topic t : Topic.frameTopics()) {
            byName.put(names.name(t), t);
            arrivals.put(t, new LinkedHashMap<>());
        }
    }

    public List<String> topics() {
        List<String> out = new ArrayList<>();
        for (Topic t : Topic.frameTopics()) {
            out.add(names.name(t));
        }
        return out;
    }

    public synchronized void accept(ConsumerRecord<String, byte[]> r) {
        Topic t = byName.get(r.topic());
        if (t == null) {
            return;
        }
        if (t == Topic.DLQ) {
            deadLetters.add(new DeadLetter(r.key(), DeadLetters.header(r.headers(), DeadLetters.STAGE),
                    DeadLetters.header(r.headers(), DeadLetters.REASON), DeadLetters.header(r.headers(), DeadLetters.MESSAGE)));
            return;
        }
        Frame f;
        try {
            f = Frame.parseFrom(r.value());
        } catch (Exception e) {
            // The raw topic may hold deliberately malformed records (tests): they are not frames.
            return;
        }
        arrivals.get(t).computeIfAbsent(f.getStreamId(), k -> new ArrayList<>())
                .add(new Arrival(f.getSequence(), System.nanoTime()));
    }

    /** Frames seen on {@code topic}, counting duplicates. */
    public synchronized int count(Topic topic) {
        return arrivals.get(topic).values().stream().mapToInt(List::size).sum();
    }

    /** Distinct (stream, sequence) pairs on {@code topic}. */
    public synchronized int distinct(Topic topic) {
        int n = 0;
        for (String stream : arrivals.get(topic).keySet()) {
            n += sequences(topic, stream).size();
        }
        return n;
    }

    public synchronized int duplicated(Topic topic) {
        return count(topic) - distinct(topic);
    }

    public synchronized int outOfOrder(Topic topic) {
        int n = 0;
        for (String stream : arrivals.get(topic).keySet()) {
            n += outOfOrder(topic, stream);
        }
        return n;
    }

    /** True once every stage topic holds at least {@code expected} distinct frames. */
    public synchronized boolean complete(int expected) {
        for (Topic t : Topic.pipeline()) {
            if (distinct(t) < expected) {
                return false;
            }
        }
        return true;
    }

    /** Distinct frames of {@code stream} on {@code topic}. */
    public synchronized Set<Long> sequences(Topic topic, String stream) {
        Set<Long> out = new HashSet<>();
        for (Arrival a : arrivals(topic, stream)) {
            out.add(a.sequence());
        }
        return out;
    }

    /** Records of {@code stream} on {@code topic} beyond the first of each sequence number. */
    public synchronized int duplicated(Topic topic, String stream) {
        return arrivals(topic, stream).size() - sequences(topic, stream).size();
    }

    /** Records of {@code stream} on {@code topic} whose sequence is not above the one before. */
    public synchronized int outOfOrder(Topic topic, String stream) {
        int n = 0;
        long last = Long.MIN_VALUE;
        for (Arrival a : arrivals(topic, stream)) {
            if (a.sequence() <= last) {
                n++;
            }
            last = a.sequence();
        }
        return n;
    }

    /** Every record of {@code stream} seen on {@code topic}, in arrival order. */
    public synchronized List<Arrival> arrivals(Topic topic, String stream) {
        return List.copyOf(arrivals.get(topic).getOrDefault(stream, List.of()));
    }

    public synchronized List<DeadLetter> deadLetters() {
        return List.copyOf(deadLetters);
    }
}
