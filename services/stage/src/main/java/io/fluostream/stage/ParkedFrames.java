package io.fluostream.stage;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Frames of paused streams, held in a persistent store until the stream is resumed and then
 * released in arrival order. Parking is a store write in the same exactly-once transaction as the
 * input offset commit, so a parked frame is neither lost (a crash replays the input and parks it
 * again, under the same key) nor doubled (it is deleted in the transaction that releases it).
 *
 * <p>Keys are {@code stream \0 offset} (offset zero-padded), so one stream's frames sort in the
 * order they arrived; values are the record timestamp and the record's bytes as they came.
 */
final class ParkedFrames {

    private static final char SEPARATOR = '\0';

    private final KeyValueStore<String, byte[]> store;
    private final ControlState control;
    private final Map<String, Long> counts = new LinkedHashMap<>();

    /** One parked record, with where it came from (for dead-letter labels when released). */
    record Parked(String key, String streamId, long offset, long timestamp, byte[] value) {
    }

    ParkedFrames(KeyValueStore<String, byte[]> store, ControlState control) {
        this.store = store;
        this.control = control;
        try (KeyValueIterator<String, byte[]> all = store.all()) {
            while (all.hasNext()) {
                counts.merge(streamOf(all.next().key), 1L, Long::sum);
            }
        }
        counts.forEach(control::addParked);
    }

    static StoreBuilder<KeyValueStore<String, byte[]>> store(String stage) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(storeName(stage)), Serdes.String(), Serdes.ByteArray())
                // Values are whole frames: don't also cache them on heap.
                .withCachingDisabled();
    }

    static String storeName(String stage) {
        return stage + "-parked-frames";
    }

    /** Whether frames of this stream wait here (then later frames must wait too, to keep the order). */
    boolean holds(String streamId) {
        return counts.containsKey(streamId);
    }

    void park(String streamId, long offset, long timestamp, byte[] value) {
        byte[] v = ByteBuffer.allocate(Long.BYTES + value.length).putLong(timestamp).put(value).array();
        store.put(streamId + SEPARATOR + String.format("%020d", offset), v);
        counts.merge(streamId, 1L, Long::sum);
        control.addParked(streamId, 1);
    }

    /** Streams with frames parked here. */
    List<String> streams() {
        return new ArrayList<>(counts.keySet());
    }

    /** Up to {@code max} of the stream's frames, oldest first. */
    List<Parked> oldest(String streamId, int max) {
        List<Parked> out = new ArrayList<>();
        String from = streamId + SEPARATOR;
        // SEPARATOR + 1 sorts after every "stream\0..." key of this stream.
        String to = streamId + (char) (SEPARATOR + 1);
        try (KeyValueIterator<String, byte[]> it = store.range(from, to)) {
            while (it.hasNext() && out.size() < max) {
                KeyValue<String, byte[]> kv = it.next();
                ByteBuffer b = ByteBuffer.wrap(kv.value);
                long ts = b.getLong();
                byte[] value = new byte[b.remaining()];
                b.get(value);
                long offset = Long.parseLong(kv.key.substring(from.length()));
                out.add(new Parked(kv.key, streamId, offset, ts, value));
            }
        }
        return out;
    }

    void release(Parked p) {
        store.delete(p.key());
        long left = counts.merge(p.streamId(), -1L, Long::sum);
        if (left <= 0) {
            counts.remove(p.streamId());
        }
        control.addParked(p.streamId(), -1);
    }

    /** This task's frames leave the replica's count (the task closes or moves). */
    void forget() {
        counts.forEach((s, n) -> control.addParked(s, -n));
        counts.clear();
    }

    private static String streamOf(String key) {
        int i = key.lastIndexOf(SEPARATOR);
        return i < 0 ? key : key.substring(0, i);
    }
}
