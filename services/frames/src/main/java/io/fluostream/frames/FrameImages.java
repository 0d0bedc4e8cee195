package io.fluostream.frames;

import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Pixels;
import io.fluostream.proto.Plane;
import io.fluostream.proto.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Between frames on the wire and {@link Image}s in the kernels: decoding checks the frame against
 * the contract first (shape, pixel type, byte count, finite values) and never allocates for a
 * shape it has not checked.
 */
public final class FrameImages {

    /** Largest side accepted; a guard against absurd dimensions in corrupt or hostile frames. */
    public static final int MAX_SIDE = 16_384;
    /** Largest channel count accepted. */
    public static final int MAX_CHANNELS = 64;
    /** Largest sample count accepted (channels × height × width): 2^28 samples, 1 GiB as float. */
    public static final long MAX_SAMPLES = 1L << 28;

    private FrameImages() {
    }

    /** Parses Kafka value bytes into a frame. */
    public static Frame parse(byte[] value) throws FrameRejected {
        if (value == null || value.length == 0) {
            throw new FrameRejected(FrameRejected.Reason.UNDECODABLE, "empty record value: expected a serialized fluostream.v1.Frame");
        }
        try {
            return Frame.parseFrom(value);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new FrameRejected(FrameRejected.Reason.UNDECODABLE,
                    "record value is not a fluostream.v1.Frame (" + value.length + " bytes): " + e.getMessage(), e);
        }
    }

    /** Checks the frame's header fields: stream id, shape and pixel type. */
    public static void checkHeader(Frame frame) throws FrameRejected {
        if (frame.getStreamId().isBlank()) {
            throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE, "frame has no stream_id");
        }
        checkShape(frame.getShape().getChannels(), frame.getShape().getHeight(), frame.getShape().getWidth());
        checkPixelType(frame.getPixelType());
    }

    /** Decodes the frame's pixels to a float image after checking the contract. */
    public static Image image(Frame frame) throws FrameRejected {
        checkHeader(frame);
        Shape s = frame.getShape();
        return decode(frame.getPixels(), frame.getPixelType(), s.getChannels(), s.getHeight(), s.getWidth(), "frame");
    }

    /** Decodes a named auxiliary plane, if the frame has it. */
    public static Optional<Image> plane(Frame frame, String name) throws FrameRejected {
        for (Plane p : frame.getPlanesList()) {
            if (p.getName().equals(name)) {
                checkShape(p.getChannels(), frame.getShape().getHeight(), frame.getShape().getWidth());
                checkPixelType(p.getPixelType());
                return Optional.of(decode(p.getPixels(), p.getPixelType(), p.getChannels(),
                        frame.getShape().getHeight(), frame.getShape().getWidth(), "plane '" + name + "'"));
            }
        }
        return Optional.empty();
    }

    /** Encodes an image as pixels of the given type (uint types are rounded and clipped). */
    public static Pixels pixels(Image image, PixelType type, Encoding encoding) {
        int k = PixelCodec.bytesPerSample(type);
        float[] d = image.data();
        if (encoding == Encoding.SHUFFLE_ZSTD) {
            return PixelCodec.encodeShuffled(shuffled(d, type));
        }
        ByteBuffer buf = ByteBuffer.allocate(d.length * k).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FLOAT32:
                buf.asFloatBuffer().put(d);
                break;
            case UINT16:
                for (int i = 0; i < d.length; i++) {
                    buf.putShort(i * 2, (short) clip(d[i], 65535));
                }
                break;
            case UINT8:
                for (int i = 0; i < d.length; i++) {
                    buf.put(i, (byte) clip(d[i], 255));
                }
                break;
            default:
                throw new IllegalArgumentException("unknown pixel type " + type);
        }
        return PixelCodec.encode(buf.array(), k, encoding);
    }

    /**
     * The samples' little-endian bytes in shuffled order — byte 0 of every sample, then byte 1, ...
     * — written in one pass from the floats (uint types rounded and clipped).
     */
    private static byte[] shuffled(float[] d, PixelType type) {
        int n = d.length;
        switch (type) {
            case FLOAT32: {
                byte[] out = new byte[4 * n];
                for (int i = 0; i < n; i++) {
                    int bits = Float.floatToRawIntBits(d[i]);
                    out[i] = (byte) bits;
                    out[n + i] = (byte) (bits >>> 8);
                    out[2 * n + i] = (byte) (bits >>> 16);
                    out[3 * n + i] = (byte) (bits >>> 24);
                }
                return out;
            }
            case UINT16: {
                byte[] out = new byte[2 * n];
                for (int i = 0; i < n; i++) {
                    int v = clip(d[i], 65535);
                    out[i] = (byte) v;
                    out[n + i] = (byte) (v >>> 8);
                }
                return out;
            }
            case UINT8: {
                byte[] out = new byte[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (byte) clip(d[i], 255);
                }
                return out;
            }
            default:
                throw new IllegalArgumentException("unknown pixel type " + type);
        }
    }

    /** Sets shape, pixel type and pixels of a frame from an image. */
    public static Frame.Builder withImage(Frame.Builder frame, Image image, PixelType type, Encoding encoding) {
        return frame.setShape(Shape.newBuilder()
                        .setChannels(image.channels()).setHeight(image.height()).setWidth(image.width()))
                .setPixelType(type)
                .setPixels(pixels(image, type, encoding));
    }

    /** A named float32 auxiliary plane. */
    public static Plane plane(String name, Image image, Encoding encoding) {
        return Plane.newBuilder()
                .setName(name)
                .setChannels(image.channels())
                .setPixelType(PixelType.FLOAT32)
                .setPixels(pixels(image, PixelType.FLOAT32, encoding))
                .build();
    }

    private static int clip(float v, int max) {
        int r = Math.round(v);
        return r < 0 ? 0 : Math.min(r, max);
    }

    static void checkShape(long c, long h, long w) throws FrameRejected {
        if (c <= 0 || h <= 0 || w <= 0) {
            throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE,
                    "shape " + c + "x" + h + "x" + w + " (channels x height x width) must be positive in every dimension");
        }
        if (c > MAX_CHANNELS || h > MAX_SIDE || w > MAX_SIDE || c * h * w > MAX_SAMPLES) {
            throw new FrameRejected(FrameRejected.Reason.BAD_SHAPE,
                    "shape " + c + "x" + h + "x" + w + " exceeds the limits (" + MAX_CHANNELS + " channels, "
                            + MAX_SIDE + " px a side, " + MAX_SAMPLES + " samples)");
        }
    }

    private static void checkPixelType(PixelType type) throws FrameRejected {
        if (type != PixelType.UINT16 && type != PixelType.FLOAT32 && type != PixelType.UINT8) {
            throw new FrameRejected(FrameRejected.Reason.UNKNOWN_PIXEL_TYPE,
                    "unknown pixel type " + type + "; expected UINT16, FLOAT32 or UINT8");
        }
    }

    private static Image decode(Pixels pixels, PixelType type, int c, int h, int w, String what) throws FrameRejected {
        int k = PixelCodec.bytesPerSample(type);
        long n = (long) c * h * w;
        byte[] bytes = PixelCodec.decodeKeepingShuffle(pixels, n * k);
        float[] d = new float[(int) n];
        if (pixels.getEncoding() == Encoding.SHUFFLE_ZSTD) {
            unshuffleInto(bytes, type, d);
            if (type == PixelType.FLOAT32) {
                requireFinite(d, what);
            }
            return new Image(c, h, w, d);
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FLOAT32:
                buf.asFloatBuffer().get(d);
                requireFinite(d, what);
                break;
            case UINT16:
                for (int i = 0; i < d.length; i++) {
                    d[i] = buf.getShort(i * 2) & 0xFFFF;
                }
                break;
            case UINT8:
                for (int i = 0; i < d.length; i++) {
                    d[i] = buf.get(i) & 0xFF;
                }
                break;
            default:
                throw new FrameRejected(FrameRejected.Reason.UNKNOWN_PIXEL_TYPE, "unknown pixel type " + type);
        }
        return new Image(c, h, w, d);
    }

    /** Samples from shuffled little-endian bytes (byte j of sample i at {@code j·n + i}), in one pass. */
    private static void unshuffleInto(byte[] b, PixelType type, float[] d) throws FrameRejected {
        int n = d.length;
        switch (type) {
            case FLOAT32:
                for (int i = 0; i < n; i++) {
                    d[i] = Float.intBitsToFloat((b[i] & 0xFF) | (b[n + i] & 0xFF) << 8 | (b[2 * n + i] & 0xFF) << 16
                            | b[3 * n + i] << 24);
                }
                break;
            case UINT16:
                for (int i = 0; i < n; i++) {
                    d[i] = (b[i] & 0xFF) | (b[n + i] & 0xFF) << 8;
                }
                break;
            case UINT8:
                for (int i = 0; i < n; i++) {
                    d[i] = b[i] & 0xFF;
                }
                break;
            default:
                throw new FrameRejected(FrameRejected.Reason.UNKNOWN_PIXEL_TYPE, "unknown pixel type " + type);
        }
    }

    private static void requireFinite(float[] d, String what) throws FrameRejected {
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                throw new FrameRejected(FrameRejected.Reason.BAD_VALUES,
                        what + " has a non-finite sample (" + d[i] + ") at index " + i);
            }
        }
    }
}
