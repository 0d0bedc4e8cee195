package io.fluostream.tiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OME-TIFF written, read back, and written again byte for byte. */
class OmeTiffWriterTest {

    private static final int C = 3;
    private static final int T = 4;
    private static final int H = 6;
    private static final int W = 9;

    @TempDir
    Path dir;

    private static StackMetadata metadata() {
        return new StackMetadata(0.108, 2.5, 0, List.of(new ChannelInfo("GFP", 488, 510), ChannelInfo.named("µ-tubulin <R&D>"),
                ChannelInfo.named("unmix.residual")), Map.of());
    }

    private static OmeImage image(SampleType type) {
        return new OmeImage("FluoStream test", "rig1/cam0/pos0", C, T, H, W, type, metadata(),
                new double[] {0, 2.5, 5, 7.5}, Map.of("u", "px/frame", "stream", "rig1/cam0/pos0"));
    }

    /** Sample (t, c, y, x) of the test series. */
    private static float value(int t, int c, int y, int x) {
        return 1000 * t + 100 * c + 10 * y + x + (t == 3 ? -0.5f : 0.125f);
    }

    private Path writeFloat(String name) throws IOException {
        Path file = dir.resolve(name);
        try (OmeTiffWriter w = OmeTiffWriter.create(file, image(SampleType.FLOAT32))) {
            assertFalse(w.bigTiff());
            writeSeries(w);
        }
        return file;
    }

    private static void writeSeries(OmeTiffWriter w) throws IOException {
        for (int t = 0; t < T; t++) {
            float[] frame = new float[C * H * W];
            for (int c = 0; c < C; c++) {
                for (int y = 0; y < H; y++) {
                    for (int x = 0; x < W; x++) {
                        frame[(c * H + y) * W + x] = value(t, c, y, x);
                    }
                }
            }
            for (int c = 0; c < C; c++) {
                w.writePlane(frame, c * H * W);
            }
        }
        w.finish();
    }

    @Test
    void aFloatSeriesReadsBackWithItsValuesAndMetadata() throws IOException {
        assertReadsBack(writeFloat("series.ome.tif"));
    }

    /** Values and metadata, read directly and through TwelveMonkeys ImageIO (an independent parser). */
    private static void assertReadsBack(Path file) throws IOException {
        for (boolean library : List.of(false, true)) {
            assertReadsBack(file, library);
        }
    }

    private static void assertReadsBack(Path file, boolean library) throws IOException {
        try (TiffStack stack = TiffStack.open(file, TiffStack.Options.defaults())) {
            stack.decodeAllPages = library;
            StackLayout l = stack.layout();
            assertEquals(List.of(T, C, 1, H, W, SampleType.FLOAT32),
                    List.of(l.sizeT(), l.sizeC(), l.sizeZ(), l.height(), l.width(), l.type()));
            for (int t = 0; t < T; t++) {
                byte[] le = stack.timePoint(t, 0);
                for (int c = 0; c < C; c++) {
                    for (int y = 0; y < H; y++) {
                        for (int x = 0; x < W; x++) {
                            assertEquals(value(t, c, y, x), Fixtures.sample(le, SampleType.FLOAT32, (c * H + y) * W + x), 0);
                        }
                    }
                }
            }
            StackMetadata m = stack.metadata();
            assertEquals(0.108, m.pixelSizeUm(), 1e-12);
            assertEquals(2.5, m.frameIntervalS(), 1e-12);
            assertEquals(metadata().channels(), m.channels(), "names (non-ASCII and markup too) and wavelengths");
            assertEquals("XYCZT", m.extra().get("ome.dimension_order"));
            assertEquals("rig1/cam0/pos0", m.extra().get("ome.image_name"));
        }
    }

    @Test
    void theOmeXmlIsAsciiAndCarriesTheAnnotations() throws IOException {
        try (OmeTiffWriter w = OmeTiffWriter.create(dir.resolve("a.ome.tif"), image(SampleType.UINT16))) {
            String xml = w.description();
            assertTrue(xml.chars().allMatch(ch -> ch < 0x80), xml);
            assertTrue(xml.contains("Name=\"&#xB5;-tubulin &lt;R&amp;D&gt;\""), xml);
            assertTrue(xml.contains("<M K=\"u\">px/frame</M>"), xml);
            assertTrue(xml.contains("DimensionOrder=\"XYCZT\"") && xml.contains("SizeC=\"3\"") && xml.contains("SizeT=\"4\""), xml);
            assertTrue(xml.contains("<TiffData IFD=\"0\" PlaneCount=\"12\"/>"), xml);
        }
    }

    @Test
    void writingTheSameSeriesTwiceGivesTheSameBytes() throws IOException {
        Path a = writeFloat("a.ome.tif");
        Path b = writeFloat("b.ome.tif");
        assertEquals(-1, Files.mismatch(a, b));
        byte[] first = Files.readAllBytes(a);
        writeFloat("a.ome.tif"); // rewrite in place
        assertArrayEquals(first, Files.readAllBytes(a));
    }

    @Test
    void unsignedTypesKeepTheirExactValues() throws IOException {
        for (SampleType type : List.of(SampleType.UINT16, SampleType.UINT8)) {
            Path file = dir.resolve(type + ".ome.tif");
            try (OmeTiffWriter w = OmeTiffWriter.create(file, image(type))) {
                for (int p = 0; p < C * T; p++) {
                    if (type == SampleType.UINT16) {
                        short[] s = new short[H * W];
                        for (int i = 0; i < s.length; i++) {
                            s[i] = (short) (65535 - p * 1000 - i); // high values: unsigned, not negative
                        }
                        w.writePlane(s, 0);
                    } else {
                        byte[] s = new byte[H * W];
                        for (int i = 0; i < s.length; i++) {
                            s[i] = (byte) (255 - p - i);
                        }
                        w.writePlane(s, 0);
                    }
                }
                w.finish();
            }
            for (boolean library : List.of(false, true)) {
                assertUnsigned(file, type, library);
            }
        }
    }

    private static void assertUnsigned(Path file, SampleType type, boolean library) throws IOException {
        try (TiffStack stack = TiffStack.open(file, TiffStack.Options.defaults())) {
            stack.decodeAllPages = library;
            assertEquals(type, stack.layout().type());
            byte[] le = stack.timePoint(1, 0); // t = 1, channels 0..2 = planes 3..5
            for (int c = 0; c < C; c++) {
                int p = C + c;
                for (int i = 0; i < H * W; i++) {
                    double expected = type == SampleType.UINT16 ? 65535 - p * 1000 - i : (255 - p - i) & 0xFF;
                    assertEquals(expected, Fixtures.sample(le, type, c * H * W + i), 0);
                }
            }
        }
    }

    @Test
    void anUnfinishedFileLeavesNothingBehind() throws IOException {
        Path file = dir.resolve("partial.ome.tif");
        try (OmeTiffWriter w = OmeTiffWriter.create(file, image(SampleType.FLOAT32))) {
            w.writePlane(new float[H * W], 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, w::finish);
            assertTrue(e.getMessage().contains("1 of 12"), e.getMessage());
        }
        assertFalse(Files.exists(file));
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(0, left.count(), "temporary file removed");
        }
    }

    @Test
    void aSeriesAboveFourGibibytesIsWrittenAsBigTiff() {
        OmeImage huge = new OmeImage("t", "s", 4, 2000, 2048, 2048, SampleType.FLOAT32, metadata(), null, Map.of());
        assertTrue(OmeTiffWriter.needsBigTiff(huge));
        assertFalse(OmeTiffWriter.needsBigTiff(image(SampleType.FLOAT32)));
    }

    @Test
    void aBigTiffReadsBackThroughTheLibraryAndDirectly() throws IOException {
        Path file = dir.resolve("big.ome.tif");
        try (OmeTiffWriter w = OmeTiffWriter.createBigTiff(file, image(SampleType.FLOAT32))) {
            writeSeries(w);
        }
        assertEquals(43, Files.readAllBytes(file)[2], "BigTIFF version number");
        assertReadsBack(file);
    }

    @Test
    void tifffileReadsItAsAMultiChannelTimeSeries() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        Process probe = new ProcessBuilder(python.toString(), "-c", "import tifffile").redirectErrorStream(true).start();
        Assumptions.assumeTrue(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "python3-tifffile not installed (apt-get install python3-tifffile)");
        Path big = dir.resolve("interop-big.ome.tif");
        try (OmeTiffWriter w = OmeTiffWriter.createBigTiff(big, image(SampleType.FLOAT32))) {
            writeSeries(w);
        }
        for (Path file : List.of(writeFloat("interop.ome.tif"), big)) {
            String script = String.join("\n",
                    "import sys, tifffile",
                    "with tifffile.TiffFile(sys.argv[1]) as f:",
                    "    assert f.is_ome, 'not OME'",
                    "    s = f.series[0]",
                    "    a = s.asarray()",
                    "    print(s.axes, 'x'.join(map(str, a.shape)), a.dtype, repr(float(a[3, 2, 5, 8])), repr(float(a[1, 0, 0, 0])))");
            Process p = new ProcessBuilder(python.toString(), "-c", script, file.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertEquals("TCYX 4x3x6x9 float32 " + (double) value(3, 2, 5, 8) + " " + (double) value(1, 0, 0, 0), out);
        }
    }
}
