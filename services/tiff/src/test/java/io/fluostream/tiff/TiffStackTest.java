package io.fluostream.tiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Reading stacks written by another tool (tifffile) and by the JDK, and refusing broken ones. */
class TiffStackTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"uint8,le", "uint8,be", "uint16,le", "uint16,be", "float32,le", "float32,be"})
    void readsOmeTiffOfEveryTypeAndByteOrder(String type, String order) throws IOException {
        SampleType expected = SampleType.valueOf(type.toUpperCase());
        try (TiffStack stack = TiffStack.open(Fixtures.copy("ome_tcyx_" + type + "_" + order + ".ome.tif", dir),
                TiffStack.Options.defaults())) {
            StackLayout l = stack.layout();
            assertEquals(List.of(Fixtures.T, Fixtures.C, 1, Fixtures.Y, Fixtures.X),
                    List.of(l.sizeT(), l.sizeC(), l.sizeZ(), l.height(), l.width()));
            assertEquals(expected, l.type());
            assertValues(stack, 0);
            StackMetadata m = stack.metadata();
            assertEquals(0.25, m.pixelSizeUm(), 1e-12);
            assertEquals(1.5, m.frameIntervalS(), 1e-12);
            assertEquals(List.of(new ChannelInfo("GFP", 0, 510), new ChannelInfo("mCherry", 0, 610)), m.channels());
            assertEquals("ome-tiff", m.extra().get("tiff.format"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ome_tcyx_uint8_le.ome.tif", "ome_tcyx_uint8_be.ome.tif", "ome_tcyx_uint16_le.ome.tif",
            "ome_tcyx_uint16_be.ome.tif", "ome_tcyx_float32_le.ome.tif", "ome_tcyx_float32_be.ome.tif",
            "ome_ctyx_uint16_le.ome.tif", "ome_tzcyx_uint16_le.ome.tif", "imagej_tcyx_float32_be.tif", "plain_uint16_be.tif"})
    void uncompressedPagesReadDirectlyGiveTheLibrarysSamples(String name) throws IOException {
        Path file = Fixtures.copy(name, dir);
        try (TiffStack direct = TiffStack.open(file, TiffStack.Options.defaults());
             TiffStack library = TiffStack.open(file, TiffStack.Options.defaults())) {
            library.decodeAllPages = true;
            assertTrue(direct.readsDirectly(0), "uncompressed strips take the direct path");
            StackLayout l = direct.layout();
            for (int t = 0; t < l.sizeT(); t++) {
                for (int z = 0; z < l.sizeZ(); z++) {
                    assertArrayEquals(library.timePoint(t, z), direct.timePoint(t, z), "t=" + t + " z=" + z);
                }
            }
        }
    }

    @Test
    void pagesOfSeveralStripsWithAShortLastStripReadDirectlyToo() throws IOException {
        // 1024 float32 columns: 64 rows per 256 KiB strip, so 150 rows are strips of 64, 64 and 22.
        int h = 150;
        int w = 1024;
        Path file = dir.resolve("strips.ome.tif");
        OmeImage image = new OmeImage("test", "strips", 1, 2, h, w, SampleType.FLOAT32,
                new StackMetadata(0, 0, 0, List.of(ChannelInfo.named("a")), java.util.Map.of()), null, java.util.Map.of());
        try (OmeTiffWriter writer = OmeTiffWriter.create(file, image)) {
            for (int t = 0; t < 2; t++) {
                float[] plane = new float[h * w];
                for (int i = 0; i < plane.length; i++) {
                    plane[i] = t * 1e6f + i;
                }
                writer.writePlane(plane, 0);
            }
            writer.finish();
        }
        try (TiffStack direct = TiffStack.open(file, TiffStack.Options.defaults());
             TiffStack library = TiffStack.open(file, TiffStack.Options.defaults())) {
            library.decodeAllPages = true;
            assertTrue(direct.readsDirectly(1));
            for (int t = 0; t < 2; t++) {
                byte[] d = direct.timePoint(t, 0);
                assertArrayEquals(library.timePoint(t, 0), d);
                assertEquals(t * 1e6f + (h * w - 1), Fixtures.sample(d, SampleType.FLOAT32, h * w - 1), 0);
            }
        }
    }

    @Test
    void followsTheDimensionOrderWhenTimeVariesFastest() throws IOException {
        // DimensionOrder XYZTC: page = c * T + t
        try (TiffStack stack = TiffStack.open(Fixtures.copy("ome_ctyx_uint16_le.ome.tif", dir), TiffStack.Options.defaults())) {
            assertEquals("XYZTC", stack.metadata().extra().get("ome.dimension_order"));
            assertEquals(1 * Fixtures.T + 2, stack.layout().page(2, 1, 0));
            assertValues(stack, 0);
        }
    }

    @Test
    void readsEveryZPlane() throws IOException {
        try (TiffStack stack = TiffStack.open(Fixtures.copy("ome_tzcyx_uint16_le.ome.tif", dir), TiffStack.Options.defaults())) {
            assertEquals(2, stack.layout().sizeZ());
            assertValues(stack, 0);
            assertValues(stack, 1);
        }
    }

    @Test
    void readsAnImageJHyperstackWithItsPixelSizeAndInterval() throws IOException {
        try (TiffStack stack = TiffStack.open(Fixtures.copy("imagej_tcyx_float32_be.tif", dir), TiffStack.Options.defaults())) {
            assertEquals(Fixtures.C, stack.layout().sizeC());
            assertEquals(Fixtures.T, stack.layout().sizeT());
            assertValues(stack, 0);
            assertEquals(0.25, stack.metadata().pixelSizeUm(), 1e-9, "1 / XResolution (4 px per um)");
            assertEquals(2.0, stack.metadata().frameIntervalS(), 1e-12);
            assertEquals("imagej", stack.metadata().extra().get("tiff.format"));
        }
    }

    @Test
    void aPlainStackIsTimePointsUnlessChannelsAreGiven() throws IOException {
        Path file = Fixtures.copy("plain_uint16_be.tif", dir);
        try (TiffStack stack = TiffStack.open(file, TiffStack.Options.defaults())) {
            assertEquals(List.of(6, 1), List.of(stack.layout().sizeT(), stack.layout().sizeC()));
        }
        try (TiffStack stack = TiffStack.open(file, TiffStack.Options.defaults().withChannels(2))) {
            assertEquals(List.of(3, 2), List.of(stack.layout().sizeT(), stack.layout().sizeC()));
            assertValues(stack, 0);
        }
        TiffFormatException e = assertThrows(TiffFormatException.class,
                () -> TiffStack.open(file, TiffStack.Options.defaults().withChannels(4)));
        assertTrue(e.getMessage().contains("6 pages") && e.getMessage().contains("--channels"), e.getMessage());
    }

    @Test
    void channelsThatContradictTheMetadataAreRefused() {
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> TiffStack.open(
                Fixtures.copy("ome_tcyx_uint16_le.ome.tif", dir), TiffStack.Options.defaults().withChannels(3)));
        assertTrue(e.getMessage().contains("contradicts") && e.getMessage().contains("2 channels"), e.getMessage());
    }

    @ParameterizedTest(name = "cut to {0} bytes")
    @ValueSource(ints = {600, 1000, 2302, 100})
    void aTruncatedFileIsRefusedBeforeAnyPixelIsRead(int keep) throws IOException {
        // tifffile writes the pixels first, then the page directories, then the OME-XML: cutting
        // loses pages (600, 1000), the OME-XML (2302 of 2322 bytes) or all directories (100). The
        // decoding library alone would read the first two as shorter stacks without metadata.
        byte[] bytes = Files.readAllBytes(Fixtures.copy("ome_tcyx_uint16_le.ome.tif", dir));
        Path cut = dir.resolve("cut.ome.tif");
        Files.write(cut, Arrays.copyOf(bytes, keep));
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> TiffStack.open(cut, TiffStack.Options.defaults()));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("cut.ome.tif"), e.getMessage());
    }

    @Test
    void pixelDataPastTheEndIsRefused() throws IOException {
        // The JDK writes each page's directory before its pixels: cutting the tail keeps every
        // directory but loses the last page's pixels.
        Path file = dir.resolve("short.tif");
        writeWithJdk(file, DataBuffer.TYPE_USHORT, 3, null);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> TiffStack.open(file, TiffStack.Options.defaults()));
        assertTrue(e.getMessage().contains("beyond the end") && e.getMessage().contains("page 2"), e.getMessage());
    }

    @Test
    void somethingThatIsNotATiffSaysSo() throws IOException {
        Path png = dir.resolve("image.tif");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0});
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> TiffStack.open(png, TiffStack.Options.defaults()));
        assertTrue(e.getMessage().contains("not a TIFF"), e.getMessage());
        Path empty = Files.createFile(dir.resolve("empty.tif"));
        assertThrows(TiffFormatException.class, () -> TiffStack.open(empty, TiffStack.Options.defaults()));
    }

    @Test
    void signedSixteenBitSamplesAreRefusedWithWhatToDo() throws IOException {
        Path file = dir.resolve("int16.tif");
        writeWithJdk(file, DataBuffer.TYPE_SHORT, 2, null);
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> TiffStack.open(file, TiffStack.Options.defaults()));
        assertTrue(e.getMessage().contains("signed 16-bit") && e.getMessage().contains("Image > Type"), e.getMessage());
    }

    @Test
    void corruptCompressedDataPassesTheStructureCheckAndFailsOnlyAtThatPage() throws IOException {
        Path file = dir.resolve("deflate.tif");
        writeWithJdk(file, DataBuffer.TYPE_USHORT, 4, "Deflate");
        long[] strips = stripOffsets(file, 2);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            for (long offset : strips) {
                raf.seek(offset);
                raf.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x13, 0x37});
            }
        }
        try (TiffStack stack = TiffStack.open(file, TiffStack.Options.defaults())) {
            assertEquals(4, stack.layout().sizeT());
            stack.timePoint(0, 0);
            stack.timePoint(1, 0);
            IOException e = assertThrows(IOException.class, () -> stack.timePoint(2, 0));
            assertTrue(e.getMessage().contains("page 2"), e.getMessage());
        }
    }

    private static void assertValues(TiffStack stack, int z) throws IOException {
        StackLayout l = stack.layout();
        for (int t = 0; t < l.sizeT(); t++) {
            byte[] le = stack.timePoint(t, z);
            assertEquals(l.timePointBytes(), le.length);
            for (int c = 0; c < l.sizeC(); c++) {
                for (int y = 0; y < l.height(); y++) {
                    for (int x = 0; x < l.width(); x++) {
                        int i = (c * l.height() + y) * l.width() + x;
                        assertEquals(Fixtures.value(l.type(), t, c, z, y, x), Fixtures.sample(le, l.type(), i), 0,
                                "t=" + t + " c=" + c + " z=" + z + " y=" + y + " x=" + x);
                    }
                }
            }
        }
    }

    /** A page-per-plane TIFF written by the JDK's TIFF writer (value = 100 * page + x). */
    private static void writeWithJdk(Path file, int dataType, int pages, String compression) throws IOException {
        ImageWriter writer = null;
        for (Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("tiff"); it.hasNext();) {
            ImageWriter w = it.next();
            if ("java.desktop".equals(w.getClass().getModule().getName())) {
                writer = w;
            }
        }
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), false, false,
                Transparency.OPAQUE, dataType);
        try (ImageOutputStream out = ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            for (int p = 0; p < pages; p++) {
                WritableRaster r = cm.createCompatibleWritableRaster(64, 32);
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 64; x++) {
                        r.setSample(x, y, 0, 100 * p + x);
                    }
                }
                ImageWriteParam param = writer.getDefaultWriteParam();
                if (compression != null) {
                    param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                    param.setCompressionType(compression);
                }
                writer.writeToSequence(new IIOImage(new BufferedImage(cm, r, false, null), null, null), param);
            }
            writer.endWriteSequence();
        }
        writer.dispose();
    }

    private static long[] stripOffsets(Path file, int page) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            ImageReader r = new com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi().createReaderInstance(null);
            r.setInput(in);
            return IfdFields.of(r.getImageMetadata(page)).numbers(IfdFields.STRIP_OFFSETS);
        }
    }
}
