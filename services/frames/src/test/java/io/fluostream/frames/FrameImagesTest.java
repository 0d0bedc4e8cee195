package io.fluostream.frames;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Pixels;
import io.fluostream.proto.Shape;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class FrameImagesTest {

    private static Image cameraLike(int c, int h, int w, long seed) {
        Random rnd = new Random(seed);
        Image im = new Image(c, h, w);
        float[] d = im.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = 100 + Math.round(Math.abs(rnd.nextGaussian()) * 40);
        }
        return im;
    }

    private static Frame frame(Image im, PixelType type, Encoding enc) {
        return FrameImages.withImage(Frame.newBuilder().setStreamId("rig1/cam0").setSequence(3), im, type, enc).build();
    }

    @ParameterizedTest
    @EnumSource(value = Encoding.class, names = {"RAW", "SHUFFLE_ZSTD"})
    void uint16RoundTripIsExact(Encoding enc) throws Exception {
        Image im = cameraLike(3, 17, 23, 1);
        Frame f = FrameImages.parse(frame(im, PixelType.UINT16, enc).toByteArray());
        assertArrayEquals(im.data(), FrameImages.image(f).data());
    }

    @ParameterizedTest
    @EnumSource(value = Encoding.class, names = {"RAW", "SHUFFLE_ZSTD"})
    void float32RoundTripIsExact(Encoding enc) throws Exception {
        Image im = cameraLike(2, 9, 31, 2);
        im.data()[5] = -1.2345e-3f;
        assertArrayEquals(im.data(), FrameImages.image(frame(im, PixelType.FLOAT32, enc)).data());
    }

    @Test
    void uint8RoundTripIsExact() throws Exception {
        Image im = new Image(1, 2, 3, new float[] {0, 1, 2, 128, 254, 255});
        assertArrayEquals(im.data(), FrameImages.image(frame(im, PixelType.UINT8, Encoding.RAW)).data());
    }

    /**
     * The wire format does not depend on the writer: images are shuffled straight from their floats,
     * the producer library shuffles little-endian bytes (PixelCodec.encode); each side must read
     * the other's pixels, for every pixel type (uint8 is its own shuffle).
     */
    @ParameterizedTest
    @EnumSource(value = PixelType.class, names = {"UINT8", "UINT16", "FLOAT32"})
    void imageShuffleAndByteShuffleAreTheSameFormat(PixelType type) throws Exception {
        Image im = cameraLike(2, 7, 13, 4);
        im.data()[3] = type == PixelType.FLOAT32 ? -7.25e-5f : 255;
        int k = PixelCodec.bytesPerSample(type);
        long bytes = (long) im.data().length * k;
        byte[] littleEndian = PixelCodec.decode(FrameImages.pixels(im, type, Encoding.RAW), k, bytes);

        Pixels fromImage = FrameImages.pixels(im, type, Encoding.SHUFFLE_ZSTD);
        assertArrayEquals(littleEndian, PixelCodec.decode(fromImage, k, bytes), "image writer, byte reader");

        Pixels fromBytes = PixelCodec.encode(littleEndian, k, Encoding.SHUFFLE_ZSTD);
        Frame f = Frame.newBuilder().setStreamId("rig1/cam0").setPixelType(type).setPixels(fromBytes)
                .setShape(Shape.newBuilder().setChannels(2).setHeight(7).setWidth(13)).build();
        assertArrayEquals(FrameImages.image(frame(im, type, Encoding.RAW)).data(), FrameImages.image(f).data(),
                "byte writer, image reader");
    }

    @Test
    void shuffleZstdCompressesCameraNoise() {
        Image im = cameraLike(1, 256, 256, 3);
        Pixels raw = FrameImages.pixels(im, PixelType.UINT16, Encoding.RAW);
        Pixels packed = FrameImages.pixels(im, PixelType.UINT16, Encoding.SHUFFLE_ZSTD);
        assertTrue(packed.getInline().size() < 0.75 * raw.getInline().size(),
                "expected at least 25 % saving, got " + packed.getInline().size() + " of " + raw.getInline().size());
    }

    @Test
    void rejectsAByteCountThatDoesNotMatchTheShape() {
        Frame f = frame(cameraLike(1, 4, 4, 4), PixelType.UINT16, Encoding.RAW).toBuilder()
                .setShape(Shape.newBuilder().setChannels(2).setHeight(4).setWidth(4)).build();
        FrameRejected e = assertThrows(FrameRejected.class, () -> FrameImages.image(f));
        assertEquals(FrameRejected.Reason.SIZE_MISMATCH, e.reason());
    }

    @Test
    void rejectsATruncatedPayloadThatClaimsTheRightSize() {
        Frame ok = frame(cameraLike(1, 4, 4, 5), PixelType.UINT16, Encoding.RAW);
        Frame f = ok.toBuilder().setPixels(ok.getPixels().toBuilder()
                .setInline(ok.getPixels().getInline().substring(0, 10))).build();
        assertEquals(FrameRejected.Reason.SIZE_MISMATCH, assertThrows(FrameRejected.class, () -> FrameImages.image(f)).reason());
    }

    @Test
    void rejectsCorruptCompressedPixels() {
        Frame ok = frame(cameraLike(1, 32, 32, 6), PixelType.UINT16, Encoding.SHUFFLE_ZSTD);
        byte[] bytes = ok.getPixels().getInline().toByteArray();
        for (int i = 8; i < bytes.length; i++) {
            bytes[i] ^= 0x5A;
        }
        Frame f = ok.toBuilder().setPixels(ok.getPixels().toBuilder().setInline(ByteString.copyFrom(bytes))).build();
        FrameRejected e = assertThrows(FrameRejected.class, () -> FrameImages.image(f));
        assertTrue(e.reason() == FrameRejected.Reason.UNDECODABLE || e.reason() == FrameRejected.Reason.SIZE_MISMATCH);
    }

    @Test
    void rejectsZeroAndHugeDimensionsBeforeAllocating() {
        Frame zero = Frame.newBuilder().setStreamId("s").setPixelType(PixelType.UINT16)
                .setShape(Shape.newBuilder().setChannels(1).setHeight(0).setWidth(5)).build();
        assertEquals(FrameRejected.Reason.BAD_SHAPE, assertThrows(FrameRejected.class, () -> FrameImages.image(zero)).reason());
        Frame huge = zero.toBuilder().setShape(Shape.newBuilder().setChannels(64).setHeight(16384).setWidth(16384)).build();
        FrameRejected e = assertThrows(FrameRejected.class, () -> FrameImages.image(huge));
        assertEquals(FrameRejected.Reason.BAD_SHAPE, e.reason());
        assertTrue(e.getMessage().contains("exceeds the limits"), e.getMessage());
    }

    @Test
    void rejectsUnknownPixelTypeAndNonFiniteFloats() {
        Frame f = frame(cameraLike(1, 2, 2, 7), PixelType.UINT16, Encoding.RAW).toBuilder().setPixelTypeValue(9).build();
        assertEquals(FrameRejected.Reason.UNKNOWN_PIXEL_TYPE, assertThrows(FrameRejected.class, () -> FrameImages.image(f)).reason());
        Image nan = new Image(1, 1, 2, new float[] {1, Float.NaN});
        assertEquals(FrameRejected.Reason.BAD_VALUES,
                assertThrows(FrameRejected.class, () -> FrameImages.image(frame(nan, PixelType.FLOAT32, Encoding.RAW))).reason());
    }

    @Test
    void rejectsGarbageBytesWithAMessage() {
        FrameRejected e = assertThrows(FrameRejected.class, () -> FrameImages.parse(new byte[] {(byte) 0xff, 0x01, 0x02}));
        assertEquals(FrameRejected.Reason.UNDECODABLE, e.reason());
        assertTrue(e.getMessage().contains("not a fluostream.v1.Frame"));
    }

    @Test
    void planesRoundTrip() throws Exception {
        Image conf = cameraLike(1, 5, 6, 8);
        Frame f = frame(cameraLike(2, 5, 6, 9), PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).toBuilder()
                .addPlanes(FrameImages.plane("confidence", conf, Encoding.SHUFFLE_ZSTD)).build();
        assertArrayEquals(conf.data(), FrameImages.plane(f, "confidence").orElseThrow().data());
        assertTrue(FrameImages.plane(f, "residual").isEmpty());
    }
}
