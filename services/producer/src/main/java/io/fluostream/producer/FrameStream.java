package io.fluostream.producer;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.PixelCodec;
import io.fluostream.frames.RecordLimits;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Channel;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * One camera stream of a {@link FrameProducer}: every send becomes the next frame of the stream,
 * keyed by its id, numbered in order. Pixels are one frame's samples, channel-major (c, y, x):
 * {@code short[]} for uint16 camera counts (unsigned, as Java shorts), {@code float[]} for
 * float32, {@code byte[]} for uint8.
 *
 * <p>A send that fails before it leaves (bad shape, closed producer) gives its sequence number
 * back; a frame the broker never acknowledges (its future fails) leaves a gap, which the stages
 * count as a dropped frame.
 */
public final class FrameStream {

    private final FrameProducer owner;
    private final String streamId;
    private final Acquisition acquisition;
    private long next;

    FrameStream(FrameProducer owner, String streamId, Acquisition acquisition, long firstSequence) {
        this.owner = owner;
        this.streamId = streamId;
        this.acquisition = acquisition;
        this.next = firstSequence;
    }

    public String streamId() {
        return streamId;
    }

    /** The sequence number the next frame will get. */
    public synchronized long nextSequence() {
        return next;
    }

    /** Sends uint16 samples acquired now. */
    public CompletableFuture<Published> send(short[] pixels, int channels, int height, int width) {
        return send(pixels, channels, height, width, nowUs());
    }

    /** Sends uint16 samples acquired at {@code acquiredAtUs} (microseconds since the Unix epoch). */
    public CompletableFuture<Published> send(short[] pixels, int channels, int height, int width, long acquiredAtUs) {
        checkCount(pixels.length, channels, height, width);
        ByteBuffer b = ByteBuffer.allocate(pixels.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(pixels);
        return publish(PixelType.UINT16, b.array(), channels, height, width, acquiredAtUs);
    }

    /** Sends float32 samples acquired now. */
    public CompletableFuture<Published> send(float[] pixels, int channels, int height, int width) {
        return send(pixels, channels, height, width, nowUs());
    }

    /** Sends float32 samples acquired at {@code acquiredAtUs}; every sample must be finite. */
    public CompletableFuture<Published> send(float[] pixels, int channels, int height, int width, long acquiredAtUs) {
        checkCount(pixels.length, channels, height, width);
        for (int i = 0; i < pixels.length; i++) {
            if (!Float.isFinite(pixels[i])) {
                throw new IllegalArgumentException("sample " + i + " is " + pixels[i]
                        + ": the pipeline rejects frames with NaN or infinite samples");
            }
        }
        ByteBuffer b = ByteBuffer.allocate(pixels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(pixels);
        return publish(PixelType.FLOAT32, b.array(), channels, height, width, acquiredAtUs);
    }

    /** Sends uint8 samples acquired now. */
    public CompletableFuture<Published> send(byte[] pixels, int channels, int height, int width) {
        return send(pixels, channels, height, width, nowUs());
    }

    /** Sends uint8 samples acquired at {@code acquiredAtUs}. */
    public CompletableFuture<Published> send(byte[] pixels, int channels, int height, int width, long acquiredAtUs) {
        checkCount(pixels.length, channels, height, width);
        return publish(PixelType.UINT8, pixels.clone(), channels, height, width, acquiredAtUs);
    }

    /** Sends an image as float32, acquired now. */
    public CompletableFuture<Published> send(Image image) {
        return send(image, PixelType.FLOAT32, nowUs());
    }

    /**
     * Sends an image as {@code type}, acquired at {@code acquiredAtUs}; for UINT16 and UINT8 samples
     * are rounded and clipped to the type's range.
     */
    public CompletableFuture<Published> send(Image image, PixelType type, long acquiredAtUs) {
        if (type == PixelType.FLOAT32) {
            return send(image.data(), image.channels(), image.height(), image.width(), acquiredAtUs);
        }
        if (type != PixelType.UINT16 && type != PixelType.UINT8) {
            throw new IllegalArgumentException("pixel type must be UINT16, FLOAT32 or UINT8, not " + type);
        }
        byte[] le = FrameImages.pixels(image, type, Encoding.RAW).getInline().toByteArray();
        return publish(type, le, image.channels(), image.height(), image.width(), acquiredAtUs);
    }

    /**
     * Sends samples that are already little-endian bytes of {@code type}, channel-major: for tools
     * that read them from files (e.g. {@code fluostream replay}).
     */
    public CompletableFuture<Published> sendSamples(PixelType type, byte[] littleEndian, int channels, int height, int width,
                                                    long acquiredAtUs) {
        if (type != PixelType.UINT16 && type != PixelType.FLOAT32 && type != PixelType.UINT8) {
            throw new IllegalArgumentException("pixel type must be UINT16, FLOAT32 or UINT8, not " + type);
        }
        int k = PixelCodec.bytesPerSample(type);
        if (littleEndian.length % k != 0) {
            throw new IllegalArgumentException(littleEndian.length + " bytes are not a whole number of " + k + "-byte samples");
        }
        checkCount(littleEndian.length / k, channels, height, width);
        return publish(type, littleEndian, channels, height, width, acquiredAtUs);
    }

    private static void checkCount(long samples, int channels, int height, int width) {
        if (channels <= 0 || height <= 0 || width <= 0) {
            throw new IllegalArgumentException("shape " + channels + " x " + height + " x " + width
                    + " (channels x height x width) must be positive in every dimension");
        }
        long needed = (long) channels * height * width;
        if (samples != needed) {
            throw new IllegalArgumentException("pixels hold " + samples + " samples but " + channels + " x " + height + " x "
                    + width + " (channels x height x width) needs " + needed
                    + "; pass one frame's samples, channel-major (c, y, x)");
        }
    }

    private CompletableFuture<Published> publish(PixelType type, byte[] littleEndian, int channels, int height, int width,
                                                 long acquiredAtUs) {
        owner.checkOpen();
        CompletableFuture<Published> result = new CompletableFuture<>();
        synchronized (this) {
            long sequence = next;
            Frame frame = frame(sequence, type, littleEndian, channels, height, width, acquiredAtUs);
            byte[] value = frame.toByteArray();
            if (value.length > RecordLimits.MAX_RECORD_BYTES) {
                throw new IllegalArgumentException("the frame is " + value.length + " bytes encoded, above the "
                        + RecordLimits.MAX_RECORD_BYTES + "-byte record limit; bin the camera or send fewer channels per frame");
            }
            // Under the stream's lock, so that sequence order is send order is partition order.
            owner.kafka().send(new ProducerRecord<>(owner.topic(), null, Math.floorDiv(acquiredAtUs, 1000), streamId, value),
                    (meta, error) -> {
                        if (error != null) {
                            result.completeExceptionally(error);
                        } else {
                            result.complete(new Published(streamId, sequence, meta.topic(), meta.partition(), meta.offset(),
                                    value.length));
                        }
                    });
            next = sequence + 1;
        }
        return result;
    }

    private Frame frame(long sequence, PixelType type, byte[] littleEndian, int channels, int height, int width,
                        long acquiredAtUs) {
        Frame.Builder f = Frame.newBuilder()
                .setStreamId(streamId)
                .setSequence(sequence)
                .setAcquiredAtUs(acquiredAtUs)
                .setShape(Shape.newBuilder().setChannels(channels).setHeight(height).setWidth(width))
                .setPixelType(type)
                .setPixels(PixelCodec.encode(littleEndian, PixelCodec.bytesPerSample(type), owner.encoding()))
                .setAcquisition(acquisition);
        if (acquisition.getChannelsCount() == channels
                && acquisition.getChannelsList().stream().noneMatch(c -> c.getName().isEmpty())) {
            for (Channel c : acquisition.getChannelsList()) {
                f.addChannelNames(c.getName());
            }
        }
        Frame frame = f.build();
        try {
            FrameImages.checkHeader(frame);
        } catch (FrameRejected e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return frame;
    }

    private long nowUs() {
        Instant now = owner.clock().instant();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }
}
