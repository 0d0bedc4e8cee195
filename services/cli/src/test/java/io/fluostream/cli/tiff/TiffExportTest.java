package io.fluostream.cli.tiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Channel;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Provenance;
import io.fluostream.tiff.ChannelInfo;
import io.fluostream.tiff.SampleType;
import io.fluostream.tiff.TiffStack;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Frames → OME-TIFF + CSV, without a broker. */
class TiffExportTest {

    private static final int H = 4;
    private static final int W = 5;
    private static final Acquisition ACQ = Acquisition.newBuilder().setPixelSizeUm(0.2).setFrameIntervalS(0.5)
            .addChannels(Channel.newBuilder().setName("ch0").setEmissionNm(510))
            .addChannels(Channel.newBuilder().setName("ch1").setEmissionNm(610)).build();

    @TempDir
    Path dir;

    private static Image image(int c, float base) {
        Image im = new Image(c, H, W);
        for (int i = 0; i < im.data().length; i++) {
            im.data()[i] = base + i;
        }
        return im;
    }

    private static Frame.Builder frame(long seq) {
        return Frame.newBuilder().setStreamId("s").setSequence(seq).setAcquiredAtUs(1_000_000_000L + seq * 500_000)
                .setAcquisition(ACQ);
    }

    private static Frame raw(long seq) {
        return FrameImages.withImage(frame(seq).addChannelNames("ch0").addChannelNames("ch1"), image(2, 40000 + 100 * seq),
                PixelType.UINT16, Encoding.SHUFFLE_ZSTD).build();
    }

    private static float[] floats(byte[] le) {
        float[] f = new float[le.length / 4];
        ByteBuffer.wrap(le).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    @Test
    void uint16FramesStayUint16WithTheirMetadata() throws Exception {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        for (long s = 0; s < 3; s++) {
            frames.put(s, raw(s));
        }
        Path out = dir.resolve("raw.ome.tif");
        TiffExport.Result r = TiffExport.write("s", "frames.raw", frames, out);
        assertEquals(SampleType.UINT16, r.type());
        try (TiffStack s = TiffStack.open(out, TiffStack.Options.defaults())) {
            assertEquals(List.of(new ChannelInfo("ch0", 0, 510), new ChannelInfo("ch1", 0, 610)), s.metadata().channels());
            assertEquals(0.2, s.metadata().pixelSizeUm(), 1e-12);
            assertEquals(0.5, s.metadata().frameIntervalS(), 1e-12);
            ByteBuffer b = ByteBuffer.wrap(s.timePoint(2, 0)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 2 * H * W; i++) {
                assertEquals(40200 + i, b.getShort(2 * i) & 0xFFFF);
            }
        }
    }

    @Test
    void auxiliaryPlanesBecomeNamedChannelsAndAreNaNWhereAFrameLacksThem() throws Exception {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        for (long s = 0; s < 3; s++) {
            Frame.Builder b = FrameImages.withImage(frame(s).addChannelNames("f0"), image(1, 10 * s), PixelType.FLOAT32,
                    Encoding.SHUFFLE_ZSTD);
            if (s != 1) {
                b.addPlanes(FrameImages.plane("unmix.residual", image(1, -s), Encoding.RAW));
            }
            frames.put(s, b.build());
        }
        Path out = dir.resolve("unmixed.ome.tif");
        TiffExport.Result r = TiffExport.write("s", "frames.unmixed", frames, out);
        assertEquals(List.of("f0", "unmix.residual"), r.channels());
        assertEquals(1, r.missingPlanes());
        try (TiffStack s = TiffStack.open(out, TiffStack.Options.defaults())) {
            assertEquals(List.of("f0", "unmix.residual"), s.metadata().channels().stream().map(ChannelInfo::name).toList());
            assertEquals(List.of(0.0, 0.0), s.metadata().channels().stream().map(ChannelInfo::emissionNm).toList(),
                    "label channels do not inherit detection wavelengths");
            float[] t2 = floats(s.timePoint(2, 0));
            assertEquals(20f, t2[0], 0);
            assertEquals(-2f, t2[H * W], 0);
            float[] t1 = floats(s.timePoint(1, 0));
            assertTrue(Float.isNaN(t1[H * W]));
        }
    }

    @Test
    void flowFieldsAreChannelsUAndVInPixelsPerFrame() throws Exception {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        frames.put(0L, FrameImages.withImage(frame(0).addChannelNames("u").addChannelNames("v"), image(2, 0.25f),
                PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build());
        Path out = dir.resolve("flow.ome.tif");
        TiffExport.write("s", "frames.flow", frames, out);
        try (TiffStack s = TiffStack.open(out, TiffStack.Options.defaults())) {
            assertEquals(List.of("u", "v"), s.metadata().channels().stream().map(ChannelInfo::name).toList());
        }
        String head = new String(Files.readAllBytes(out), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(head.contains("<M K=\"fluostream.channel.u\">optical flow, x (column) component, px/frame"), "units noted");
    }

    @Test
    void theCsvHasOneRowPerFrameWithSortedFiguresAndProvenancePerStage() throws Exception {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        frames.put(0L, raw(0).toBuilder().putFigures("stabilise.shift_x_px", 1.5).putFigures("denoise.noise_sigma_adu", 3)
                .addProvenance(Provenance.newBuilder().setStage("denoise").setMethod("vst-wavelet").setVersion("0.1.0")
                        .setParameterHash("abc").setProcessingMs(2.5))
                .addProvenance(Provenance.newBuilder().setStage("unmix").setMethod("passthrough")
                        .setNote("passthrough: no spectra for 2 channels, \"spectra\" have 4")).build());
        frames.put(1L, raw(1).toBuilder().putFigures("denoise.noise_sigma_adu", 4).build());
        Path out = dir.resolve("x.ome.tif");
        TiffExport.write("s", "t", frames, out);
        List<String> lines = Files.readAllLines(dir.resolve("x.csv"));
        assertEquals(List.of(
                "sequence,acquired_at_us,time_s,denoise.noise_sigma_adu,stabilise.shift_x_px,"
                        + "provenance.denoise.method,provenance.denoise.version,provenance.denoise.parameter_hash,"
                        + "provenance.denoise.note,provenance.denoise.processing_ms,"
                        + "provenance.unmix.method,provenance.unmix.version,provenance.unmix.parameter_hash,"
                        + "provenance.unmix.note,provenance.unmix.processing_ms",
                "0,1000000000,0.0,3.0,1.5,vst-wavelet,0.1.0,abc,,2.5,passthrough,,,"
                        + "\"passthrough: no spectra for 2 channels, \"\"spectra\"\" have 4\",0.0",
                "1,1000500000,0.5,4.0,,,,,,,,,,,"), lines);
    }

    @Test
    void theSameFramesGiveTheSameBytes() throws Exception {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        for (long s = 0; s < 4; s++) {
            frames.put(s, raw(s).toBuilder().putFigures("denoise.noise_sigma_adu", s).build());
        }
        Path a = dir.resolve("a.ome.tif");
        Path b = dir.resolve("b.ome.tif");
        TiffExport.write("s", "t", frames, a);
        SortedMap<Long, Frame> arrivedBackwards = new TreeMap<>();
        for (long s = 3; s >= 0; s--) {
            arrivedBackwards.put(s, frames.get(s));
        }
        TiffExport.write("s", "t", arrivedBackwards, b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        assertArrayEquals(Files.readAllBytes(dir.resolve("a.csv")), Files.readAllBytes(dir.resolve("b.csv")));
        byte[] before = Files.readAllBytes(a);
        TiffExport.write("s", "t", frames, a);
        assertArrayEquals(before, Files.readAllBytes(a), "re-export rewrites the same bytes");
    }

    @Test
    void aStreamWhoseShapeChangesIsRefusedWithWhatToDo() {
        SortedMap<Long, Frame> frames = new TreeMap<>();
        frames.put(0L, raw(0));
        frames.put(1L, raw(1));
        frames.put(2L, FrameImages.withImage(frame(2), image(3, 0), PixelType.FLOAT32, Encoding.RAW).build());
        Path out = dir.resolve("changed.ome.tif");
        ExportException e = assertThrows(ExportException.class, () -> TiffExport.write("s", "t", frames, out));
        assertTrue(e.getMessage().contains("--frames 2"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void theCsvSitsBesideTheTiff() throws IOException {
        assertEquals(dir.resolve("run.csv"), TiffExport.csvPath(dir.resolve("run.ome.tif")));
        assertEquals(dir.resolve("run.csv"), TiffExport.csvPath(dir.resolve("run.TIFF")));
        assertEquals(dir.resolve("data.bin.csv"), TiffExport.csvPath(dir.resolve("data.bin")));
    }
}
