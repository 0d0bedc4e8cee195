package io.fluostream.stage;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import java.util.Optional;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * What a stateful stage remembers about one stream (stabilise: its reference; flow: the previous
 * frame), kept in a Kafka Streams store so it survives restarts and moves with the partition.
 * Images are stored as compressed frames: the changelog carries every write.
 */
public final class StreamMemory {

    private final KeyValueStore<String, byte[]> store;
    private final String streamId;

    StreamMemory(KeyValueStore<String, byte[]> store, String streamId) {
        this.store = store;
        this.streamId = streamId;
    }

    /** A memory with no store, for stateless stages and kernel tests: it remembers nothing. */
    public static StreamMemory none(String streamId) {
        return new StreamMemory(null, streamId);
    }

    /** The store a stateful stage declares in its topology, named so its changelog name stays stable. */
    public static StoreBuilder<KeyValueStore<String, byte[]>> store(String stage) {
        return Stores.keyValueStoreBuilder(
                        Stores.persistentKeyValueStore(storeName(stage)), Serdes.String(), Serdes.ByteArray())
                // Values are multi-MiB images: don't also cache them on heap.
                .withCachingDisabled();
    }

    public static String storeName(String stage) {
        return stage + "-stream-memory";
    }

    private String key(String slot) {
        return slot + ":" + streamId;
    }

    /** The image remembered in {@code slot}, with the sequence number it was stored for. */
    public Optional<Remembered> image(String slot) {
        if (store == null) {
            return Optional.empty();
        }
        byte[] bytes = store.get(key(slot));
        if (bytes == null) {
            return Optional.empty();
        }
        try {
            Frame f = FrameImages.parse(bytes);
            return Optional.of(new Remembered(f.getSequence(), FrameImages.image(f)));
        } catch (FrameRejected e) {
            throw new IllegalStateException("stream memory '" + slot + "' of stream " + streamId + " is corrupt: " + e.getMessage(), e);
        }
    }

    public void remember(String slot, long sequence, Image image) {
        if (store == null) {
            return;
        }
        Frame f = FrameImages.withImage(Frame.newBuilder().setStreamId(streamId).setSequence(sequence),
                image, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
        store.put(key(slot), f.toByteArray());
    }

    public void forget(String slot) {
        if (store != null) {
            store.delete(key(slot));
        }
    }

    /** An image a stage stored, and the sequence number of the frame it came from. */
    public record Remembered(long sequence, Image image) {
    }
}
