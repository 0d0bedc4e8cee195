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
 * sequence order, and every rejected frame in the dead-letter topic with a reason.
 */
public final class PipelineAudit {

    private final TopicNames names;
    private final Map<String, Topic> byName = new HashMap<>();
    private final Map<Topic, Map<String, List<Long>>> arrivals = new EnumMap<>(Topic.class);
    private final Map<Topic, Integer> outOfOrder = new EnumMap<>(Topic.class);
    private final List<DeadLetter> deadLetters = new ArrayList<>();

    /** A record of the dead-letter topic. */
    public record DeadLetter(String key, String stage, String reason, String message) {
    }

    public PipelineAudit(TopicNames names) {
        this.names = names;
        for (Topic t : Topic.frameTopics()) {
            byName.put(names.name(t), t);
            arrivals.put(t, new LinkedHashMap<>());
            outOfOrder.put(t, 0);
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
        if (t == Topic.DLQ) {
            deadLetters.add(new DeadLetter(r.key(), DeadLetters.header(r.headers(), DeadLetters.STAGE),
                    DeadLetters.header(r.headers(), DeadLetters.REASON), DeadLetters.header(r.headers(), DeadLetters.MESSAGE)));
            return;
        }
        long seq;
        String stream;
        try {
            Frame f = Frame.parseFrom(r.value());
            seq = f.getSequence();
            stream = f.getStreamId();
        } catch (Exception e) {
            // The raw topic may hold deliberately malformed records (tests): they are not frames.
            return;
        }
        List<Long> seqs = arrivals.get(t).computeIfAbsent(stream, k -> new ArrayList<>());
        if (!seqs.isEmpty() && seqs.get(seqs.size() - 1) >= seq) {
            outOfOrder.merge(t, 1, Integer::sum);
        }
        seqs.add(seq);
    }

    /** Frames seen on {@code topic}, counting duplicates. */
    public synchronized int count(Topic topic) {
        return arrivals.get(topic).values().stream().mapToInt(List::size).sum();
    }

    /** Distinct (stream, sequence) pairs on {@code topic}. */
    public synchronized int distinct(Topic topic) {
        int n = 0;
        for (List<Long> seqs : arrivals.get(topic).values()) {
            n += new HashSet<>(seqs).size();
        }
        return n;
    }

    public synchronized int duplicated(Topic topic) {
        return count(topic) - distinct(topic);
    }

    public synchronized int outOfOrder(Topic topic) {
        return outOfOrder.get(topic);
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
        return new HashSet<>(arrivals.get(topic).getOrDefault(stream, List.of()));
    }

    public synchronized List<DeadLetter> deadLetters() {
        return List.copyOf(deadLetters);
    }
}
