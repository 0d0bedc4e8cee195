package io.fluostream.frames;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Pixels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ClaimCheckTest {

    @AfterEach
    void clear() {
        System.clearProperty(ClaimCheck.DIR_PROPERTY);
        System.clearProperty(ClaimCheck.THRESHOLD_PROPERTY);
    }

    private static Image noise(int n, long seed) {
        Random r = new Random(seed);
        Image im = new Image(1, n, n);
        for (int i = 0; i < im.data().length; i++) {
            im.data()[i] = (float) r.nextGaussian();
        }
        return im;
    }

    @Test
    void payloadsAboveTheThresholdGoToTheStoreAndComeBackIntact() throws Exception {
        Path dir = Files.createTempDirectory("blobs");
        System.setProperty(ClaimCheck.DIR_PROPERTY, dir.toString());
        System.setProperty(ClaimCheck.THRESHOLD_PROPERTY, "1000");
        Image big = noise(64, 1);
        Frame f = FrameImages.withImage(Frame.newBuilder().setStreamId("s"), big, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
        assertEquals(Pixels.PayloadCase.BLOB, f.getPixels().getPayloadCase());
        assertTrue(f.toByteArray().length < 500, "the record only carries the reference");
        assertArrayEquals(big.data(), FrameImages.image(FrameImages.parse(f.toByteArray())).data());

        Image small = noise(8, 2);
        Frame g = FrameImages.withImage(Frame.newBuilder().setStreamId("s"), small, PixelType.FLOAT32, Encoding.RAW).build();
        assertEquals(Pixels.PayloadCase.INLINE, g.getPixels().getPayloadCase(), "small payloads stay inline");
    }

    @Test
    void writingTheSameContentTwiceIsIdempotent() throws Exception {
        BlobStore store = new BlobStore(Files.createTempDirectory("blobs"));
        byte[] bytes = new byte[5000];
        new Random(3).nextBytes(bytes);
        var a = store.put(bytes);
        var b = store.put(bytes);
        assertEquals(a, b);
        try (var files = Files.walk(store.root())) {
            assertEquals(1, files.filter(Files::isRegularFile).count(), "one file, no temporaries left behind");
        }
    }

    @Test
    void aMissingOrCorruptBlobIsRejectedWithAReason() throws Exception {
        Path dir = Files.createTempDirectory("blobs");
        BlobStore store = new BlobStore(dir);
        byte[] bytes = new byte[2000];
        new Random(4).nextBytes(bytes);
        var ref = store.put(bytes);
        Path file;
        try (var files = Files.walk(dir)) {
            file = files.filter(Files::isRegularFile).findFirst().orElseThrow();
        }
        Files.write(file, new byte[] {1, 2, 3});
        FrameRejected corrupt = assertThrows(FrameRejected.class, () -> store.get(ref));
        assertTrue(corrupt.getMessage().contains("corrupt"), corrupt.getMessage());
        Files.delete(file);
        FrameRejected missing = assertThrows(FrameRejected.class, () -> store.get(ref));
        assertTrue(missing.getMessage().contains("is not in the blob store"), missing.getMessage());
        assertEquals(0, store.deleteOlderThan(Duration.ZERO));
    }

    @Test
    void aBlobFrameWithoutAConfiguredStoreIsRejectedWithWhatToDo() throws Exception {
        System.setProperty(ClaimCheck.DIR_PROPERTY, Files.createTempDirectory("blobs").toString());
        System.setProperty(ClaimCheck.THRESHOLD_PROPERTY, "100");
        Frame f = FrameImages.withImage(Frame.newBuilder().setStreamId("s"), noise(32, 5), PixelType.FLOAT32, Encoding.RAW).build();
        System.clearProperty(ClaimCheck.DIR_PROPERTY);
        FrameRejected e = assertThrows(FrameRejected.class, () -> FrameImages.image(f));
        assertTrue(e.getMessage().contains(ClaimCheck.DIR_PROPERTY), e.getMessage());
    }
}
