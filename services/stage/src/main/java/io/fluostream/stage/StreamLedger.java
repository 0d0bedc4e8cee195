package io.fluostream.stage;

import io.fluostream.proto.StreamStatus;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Per-stream bookkeeping every stage keeps: the last sequence number (so a frame that goes back
 * is rejected, also after a restart) and the frames missing from the stream (sequence gaps).
 * The store is the truth; a concurrent map mirrors it for status calls from other threads.
 */
public final class StreamLedger {

    private final Map<String, StreamStatus> mirror = new ConcurrentHashMap<>();

    /** The store every stage declares in its topology, named so its changelog name stays stable. */
    public static StoreBuilder<KeyValueStore<String, byte[]>> store(String stage) {
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(storeName(stage)), Serdes.String(), Serdes.ByteArray());
    }

    public static String storeName(String stage) {
        return stage + "-stream-ledger";
    }

    /** The stream's entry in {@code store}, or null for a stream not seen before. */
    StreamStatus read(KeyValueStore<String, byte[]> store, String streamId) {
        byte[] bytes = store.get(streamId);
        if (bytes == null) {
            return null;
        }
        try {
            StreamStatus s = StreamStatus.parseFrom(bytes);
            mirror.putIfAbsent(streamId, s);
            return s;
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException("stream ledger entry of " + streamId + " is corrupt", e);
        }
    }

    void write(KeyValueStore<String, byte[]> store, StreamStatus status) {
        store.put(status.getStreamId(), status.toByteArray());
        mirror.put(status.getStreamId(), status);
    }

    /** The streams this instance has seen, for status calls. */
    public List<StreamStatus> streams() {
        return mirror.values().stream().sorted((a, b) -> a.getStreamId().compareTo(b.getStreamId())).toList();
    }
}
