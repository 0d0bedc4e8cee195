package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.cli.FluoStream;
import io.fluostream.cli.Home;
import io.fluostream.cli.Stack;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.PipelineTopics;
import io.fluostream.frames.RecordLimits;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.rig.RigSimulator;
import io.fluostream.tiff.ChannelInfo;
import io.fluostream.tiff.OmeImage;
import io.fluostream.tiff.OmeTiffWriter;
import io.fluostream.tiff.SampleType;
import io.fluostream.tiff.StackMetadata;
import io.fluostream.tiff.TiffStack;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * Real data in and out on the running pipeline (real broker, the four packaged services as
 * processes): a 4-channel time-lapse written as an OME-TIFF is replayed, reconstructed by every
 * stage and exported from every topic, and the exports are compared with the forward model's
 * ground truth; a 2-channel file passes unmix unchanged; a truncated file publishes nothing; a
 * file corrupt midway publishes the frames before the damage; export sorts and de-duplicates.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplayExportEndToEndTest {

    private static final int T = 8;
    private static final String STREAM = "tiff/pos0";
    private static final String TWO = "tiff/two-channels";
    private static final int TWO_T = 3;
    private static final List<String> FLOW_CHANNELS = List.of("u", "v", "flow.confidence", "flow.outliers");
    private static final SimulationSettings SIM = SimulationSettings.defaults().withSeed(11);

    private final TopicNames names = TopicNames.defaults();
    private final ForwardModel model = new ForwardModel(SIM, 0);
    private Stack stack;
    private Path dir;
    private Path input;
    private Run corrupt;
    private Run midway;
    private final Map<String, Path> exports = new HashMap<>();

    record Run(int exit, String out, String err) {
    }

    private static Run fluostream(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new FluoStream());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        System.out.print(out);
        System.out.print(err);
        return new Run(exit, out.toString(), err.toString());
    }

    @BeforeAll
    void replayFilesThroughThePipeline() throws Exception {
        dir = Files.createTempDirectory("fluostream-replay-e2e");
        stack = Stack.start(Home.locate(), dir.resolve("run"), Stack.Ports.free(), 2, Map.of(), System.out::println);

        input = dir.resolve("timelapse.ome.tif");
        writeSimulatedOmeTiff(input);
        // The simulated camera's offset is known, as a user knows their camera's: the denoise stage
        // then need not estimate it.
        Run replay = fluostream("replay", "--input", input.toString(), "--stream", STREAM, "--bootstrap", stack.bootstrap(),
                "--camera-offset", Double.toString(SIM.offsetAdu()));
        assertEquals(0, replay.exit(), replay.err());

        Path two = dir.resolve("two-channels.tif");
        writePlainStack(two, 2 * TWO_T, null);
        Run replayTwo = fluostream("replay", "--input", two.toString(), "--stream", TWO, "--channels", "2",
                "--bootstrap", stack.bootstrap());
        assertEquals(0, replayTwo.exit(), replayTwo.err());

        byte[] whole = Files.readAllBytes(input);
        Path truncated = dir.resolve("truncated.ome.tif");
        Files.write(truncated, Arrays.copyOf(whole, whole.length / 2));
        corrupt = fluostream("replay", "--input", truncated.toString(), "--stream", "tiff/truncated", "--bootstrap", stack.bootstrap());

        Path broken = dir.resolve("broken.tif");
        writePlainStack(broken, 4, "Deflate");
        corruptPage(broken, 2);
        midway = fluostream("replay", "--input", broken.toString(), "--stream", "tiff/broken", "--bootstrap", stack.bootstrap());

        // Waits for the whole stream to come out of the last stage, then takes every topic.
        for (Topic t : List.of(Topic.FLOW, Topic.RAW, Topic.DENOISED, Topic.UNMIXED, Topic.STABILISED)) {
            exports.put(t.key(), export(t.key(), STREAM, T, "tiff-" + t.key() + ".ome.tif"));
        }
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    private Path export(String topic, String stream, int frames, String name) {
        Path out = dir.resolve(name);
        Run r = fluostream("export", "--topic", topic, "--stream", stream, "--output", out.toString(), "--frames",
                Integer.toString(frames), "--timeout-s", "120", "--bootstrap", stack.bootstrap());
        assertEquals(0, r.exit(), r.err());
        return out;
    }

    /** The forward model's raw camera frames as an OME-TIFF with its channel names and wavelengths. */
    private void writeSimulatedOmeTiff(Path file) throws IOException {
        List<ChannelInfo> channels = new ArrayList<>();
        double[] nm = model.channelWavelengthsNm();
        for (int c = 0; c < SIM.channels(); c++) {
            channels.add(new ChannelInfo("ch" + c, 0, nm[c]));
        }
        StackMetadata m = new StackMetadata(0.108, 0.5, 20, channels, Map.of());
        OmeImage image = new OmeImage("test", "simulated", SIM.channels(), T, SIM.height(), SIM.width(), SampleType.UINT16, m,
                null, Map.of());
        try (OmeTiffWriter w = OmeTiffWriter.create(file, image)) {
            for (int t = 0; t < T; t++) {
                Image raw = model.frame(t).raw();
                for (int c = 0; c < raw.channels(); c++) {
                    short[] s = new short[raw.planeSize()];
                    for (int i = 0; i < s.length; i++) {
                        s[i] = (short) Math.round(raw.data()[raw.planeOffset(c) + i]);
                    }
                    w.writePlane(s, 0);
                }
            }
            w.finish();
        }
    }

    /** A stack without metadata; page p holds 1000 * p + x at column x (uint16, 32 x 48). */
    private static void writePlainStack(Path file, int pages, String compression) throws IOException {
        javax.imageio.ImageWriter writer = null;
        for (var it = javax.imageio.ImageIO.getImageWritersByFormatName("tiff"); it.hasNext();) {
            var w = it.next();
            if ("java.desktop".equals(w.getClass().getModule().getName())) {
                writer = w;
            }
        }
        var cm = new java.awt.image.ComponentColorModel(java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY),
                false, false, java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_USHORT);
        try (var out = javax.imageio.ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(out);
            writer.prepareWriteSequence(null);
            for (int p = 0; p < pages; p++) {
                var r = cm.createCompatibleWritableRaster(48, 32);
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 48; x++) {
                        r.setSample(x, y, 0, 1000 * p + x + 100);
                    }
                }
                var param = writer.getDefaultWriteParam();
                if (compression != null) {
                    param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
                    param.setCompressionType(compression);
                }
                writer.writeToSequence(new javax.imageio.IIOImage(new java.awt.image.BufferedImage(cm, r, false, null), null, null), param);
            }
            writer.endWriteSequence();
        }
        writer.dispose();
    }

    /** Overwrites the start of each of page {@code page}'s compressed strips. */
    private static void corruptPage(Path file, int page) throws IOException {
        long[] offsets;
        try (var in = javax.imageio.ImageIO.createImageInputStream(file.toFile())) {
            var r = new com.twelvemonkeys.imageio.plugins.tiff.TIFFImageReaderSpi().createReaderInstance(null);
            r.setInput(in);
            var md = r.getImageMetadata(page);
            var root = md.getAsTree(md.getNativeMetadataFormatName());
            offsets = null;
            for (var f = root.getFirstChild().getFirstChild(); f != null; f = f.getNextSibling()) {
                if ("273".equals(((org.w3c.dom.Element) f).getAttribute("number"))) {
                    var values = f.getFirstChild().getChildNodes();
                    offsets = new long[values.getLength()];
                    for (int i = 0; i < offsets.length; i++) {
                        offsets[i] = Long.parseLong(((org.w3c.dom.Element) values.item(i)).getAttribute("value"));
                    }
                }
            }
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            for (long o : offsets) {
                raf.seek(o);
                raf.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x13, 0x37});
            }
        }
    }

    private static Image firstTwoChannels(Image image) {
        int plane = image.height() * image.width();
        return new Image(2, image.height(), image.width(), java.util.Arrays.copyOf(image.data(), 2 * plane));
    }

    private static Image timePoint(TiffStack s, int t) throws IOException {
        byte[] le = s.timePoint(t, 0);
        ByteBuffer b = ByteBuffer.wrap(le).order(ByteOrder.LITTLE_ENDIAN);
        var l = s.layout();
        float[] d = new float[l.sizeC() * l.height() * l.width()];
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (l.type()) {
                case UINT16 -> b.getShort(2 * i) & 0xFFFF;
                case UINT8 -> b.get(i) & 0xFF;
                case FLOAT32 -> b.getFloat(4 * i);
            };
        }
        return new Image(l.sizeC(), l.height(), l.width(), d);
    }

    private static List<Map<String, String>> csv(Path tiff) throws IOException {
        List<String> lines = Files.readAllLines(io.fluostream.cli.tiff.TiffExport.csvPath(tiff));
        List<String> header = splitCsv(lines.get(0));
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            List<String> cells = splitCsv(line);
            Map<String, String> row = new HashMap<>();
            for (int i = 0; i < header.size(); i++) {
                row.put(header.get(i), cells.get(i));
            }
            rows.add(row);
        }
        return rows;
    }

    private static List<String> splitCsv(String line) {
        List<String> cells = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cell.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                cells.add(cell.toString());
                cell.setLength(0);
            } else {
                cell.append(ch);
            }
        }
        cells.add(cell.toString());
        return cells;
    }

    @Test
    void theRawExportIsTheReplayedFileWithItsOmeMetadata() throws IOException {
        try (TiffStack in = TiffStack.open(input, TiffStack.Options.defaults());
             TiffStack out = TiffStack.open(exports.get("raw"), TiffStack.Options.defaults())) {
            assertEquals(SampleType.UINT16, out.layout().type(), "uint16 stays uint16");
            assertEquals(in.layout().toString(), out.layout().toString());
            for (int t = 0; t < T; t++) {
                assertArrayEquals(in.timePoint(t, 0), out.timePoint(t, 0), "time point " + t);
            }
            assertEquals(0.108, out.metadata().pixelSizeUm(), 1e-12);
            assertEquals(in.metadata().channels(), out.metadata().channels(), "channel names and emission wavelengths");
        }
    }

    @Test
    void everyStageOfTheReplayedFileMatchesTheGroundTruth() throws IOException {
        double psnrRaw = 0;
        double psnrDenoised = 0;
        double abundanceSq = 0;
        double leastSquaresSq = 0;
        double abundanceSum = 0;
        LeastSquaresUnmixer leastSquares = new LeastSquaresUnmixer(ReferenceSpectra.of(model.mixingMatrix()));
        long samples = 0;
        try (TiffStack raw = TiffStack.open(exports.get("raw"), TiffStack.Options.defaults());
             TiffStack denoised = TiffStack.open(exports.get("denoised"), TiffStack.Options.defaults());
             TiffStack unmixed = TiffStack.open(exports.get("unmixed"), TiffStack.Options.defaults())) {
            assertEquals(SampleType.FLOAT32, denoised.layout().type());
            assertEquals(List.of("f0", "f1", "f2", "unmix.residual"),
                    unmixed.metadata().channels().stream().map(ChannelInfo::name).toList(),
                    "labels, then the residual plane as named extra channels");
            for (int t = 0; t < T; t++) {
                var truth = model.frame(t);
                Image r = timePoint(raw, t);
                for (int i = 0; i < r.data().length; i++) {
                    r.data()[i] -= (float) SIM.offsetAdu();
                }
                psnrRaw += Images.psnr(truth.cleanChannels(), r) / T;
                Image d = timePoint(denoised, t);
                psnrDenoised += Images.psnr(truth.cleanChannels(), d) / T;
                Image u = timePoint(unmixed, t);
                float[] ls = leastSquares.unmix(d).abundances().data();
                float[] a = truth.abundances().data();
                for (int i = 0; i < a.length; i++) {
                    double e = u.data()[i] - a[i];
                    abundanceSq += e * e;
                    leastSquaresSq += (ls[i] - a[i]) * (ls[i] - a[i]);
                    abundanceSum += a[i];
                    samples++;
                }
            }
        }
        double rel = Math.sqrt(abundanceSq / samples) / (abundanceSum / samples);
        double relLs = Math.sqrt(leastSquaresSq / samples) / (abundanceSum / samples);
        System.out.printf("replayed file: PSNR raw %.2f dB -> denoised %.2f dB; abundance RMSE %.3f of the mean "
                + "(least squares on the same denoised frames %.3f)%n", psnrRaw, psnrDenoised, rel, relLs);
        assertTrue(psnrDenoised > psnrRaw + 3, "denoise PSNR " + psnrRaw + " -> " + psnrDenoised);
        assertTrue(rel < relLs, "NNLS abundance error " + rel + " vs least squares " + relLs);
        assertTrue(rel < 1, "abundance RMSE relative to the mean abundance: " + rel + " (an all-zero answer scores >= 1)");

        List<Map<String, String>> rows = csv(exports.get("stabilised"));
        assertEquals(T, rows.size());
        double sq = 0;
        for (int t = 0; t < T; t++) {
            Map<String, String> row = rows.get(t);
            assertEquals(Integer.toString(t), row.get("sequence"));
            double ex = Double.parseDouble(row.get("stabilise.shift_x_px")) - model.driftX(t);
            double ey = Double.parseDouble(row.get("stabilise.shift_y_px")) - model.driftY(t);
            sq += ex * ex + ey * ey;
            assertEquals("nnls", row.get("provenance.unmix.method"));
            assertTrue(!row.get("denoise.noise_sigma_adu").isEmpty());
        }
        double rms = Math.sqrt(sq / T);
        System.out.printf("replayed file: drift error %.3f px RMS%n", rms);
        assertTrue(rms < 0.1, "drift RMS error " + rms + " px");

        double epe = 0;
        double epeZero = 0;
        try (TiffStack flow = TiffStack.open(exports.get("flow"), TiffStack.Options.defaults())) {
            // u, v first; the flow stage's confidence and outlier planes follow as extra channels
            assertEquals(FLOW_CHANNELS, flow.metadata().channels().stream().map(ChannelInfo::name).toList());
            for (int t = 1; t < T; t++) {
                Image uv = timePoint(flow, t);
                FlowField truth = new FlowField(model.frame(t).flow());
                int margin = (int) Math.ceil(Math.max(Math.max(Math.abs(model.driftX(t - 1)), Math.abs(model.driftY(t - 1))),
                        Math.max(Math.abs(model.driftX(t)), Math.abs(model.driftY(t))))) + 4;
                SignalMask mask = SignalMask.fromIntensity(Images.sumChannels(model.driftFreeAbundances(t - 1)),
                        SignalMask.DEFAULT_FRACTION, margin);
                epe += FlowField.endpointError(new FlowField(firstTwoChannels(uv)), truth, mask) / (T - 1);
                epeZero += FlowField.endpointError(new FlowField(uv.height(), uv.width()), truth, mask) / (T - 1);
            }
        }
        System.out.printf("replayed file: flow endpoint error %.3f px (zero field %.3f px)%n", epe, epeZero);
        assertTrue(epe < epeZero, "flow EPE " + epe + " vs zero field " + epeZero);
    }

    @Test
    void exportingAgainWritesTheSameBytes() throws IOException {
        Path again = export(Topic.FLOW.key(), STREAM, T, "tiff-flow-again.ome.tif");
        assertEquals(-1, Files.mismatch(exports.get("flow"), again));
        assertEquals(-1, Files.mismatch(io.fluostream.cli.tiff.TiffExport.csvPath(exports.get("flow")),
                io.fluostream.cli.tiff.TiffExport.csvPath(again)));
    }

    @Test
    void aFileWithTheWrongChannelCountPassesUnmixUnchangedAndReachesExport() throws IOException {
        Path unmixed = export(Topic.UNMIXED.key(), TWO, TWO_T, "two-unmixed.ome.tif");
        Path flow = export(Topic.FLOW.key(), TWO, TWO_T, "two-flow.ome.tif");
        try (TiffStack s = TiffStack.open(unmixed, TiffStack.Options.defaults())) {
            assertEquals(2, s.layout().sizeC());
            assertEquals(TWO_T, s.layout().sizeT());
        }
        for (Map<String, String> row : csv(unmixed)) {
            assertEquals("passthrough", row.get("provenance.unmix.method"));
            assertTrue(row.get("provenance.unmix.note").contains("no spectra for 2 channels"), row.toString());
        }
        try (TiffStack s = TiffStack.open(flow, TiffStack.Options.defaults())) {
            assertEquals(FLOW_CHANNELS, s.metadata().channels().stream().map(ChannelInfo::name).toList());
            assertEquals(TWO_T, s.layout().sizeT());
        }
    }

    @Test
    void aTruncatedFileIsRefusedAndNothingIsPublished() {
        assertEquals(2, corrupt.exit(), corrupt.err());
        assertTrue(corrupt.err().contains("truncated") && corrupt.err().contains("nothing was published"), corrupt.err());
        assertEquals(0, rawRecords("tiff/truncated"));
    }

    @Test
    void aFileCorruptMidwaySaysHowManyFramesWentOut() {
        assertEquals(1, midway.exit(), midway.err());
        assertTrue(midway.err().contains("2 of 4 frames went out"), midway.err());
        assertTrue(midway.err().contains("page 2"), midway.err());
        assertEquals(2, rawRecords("tiff/broken"));
    }

    @Test
    void exportSortsFramesAndWritesARepeatedSequenceOnce() throws Exception {
        String topic = "export-order-test";
        try (Admin admin = Admin.create(PipelineTopics.adminConfig(stack.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(RecordLimits.topic()))).all().get();
        }
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(RigSimulator.producerConfig(stack.bootstrap()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (long seq : new long[] {2, 0, 1, 1}) {
                Frame f = FrameImages.withImage(Frame.newBuilder().setStreamId("order").setSequence(seq)
                                .setAcquiredAtUs(1_000_000 * (seq + 1)),
                        new Image(1, 2, 3, new float[] {seq, seq, seq, seq, seq, seq + 0.5f}), PixelType.FLOAT32, Encoding.RAW)
                        .build();
                p.send(new ProducerRecord<>(topic, "order", f.toByteArray()));
            }
            p.flush();
        }
        Path out = dir.resolve("order.ome.tif");
        Run r = fluostream("export", "--topic", topic, "--stream", "order", "--output", out.toString(), "--timeout-s", "3",
                "--bootstrap", stack.bootstrap());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("1 repeated frames"), r.out());
        try (TiffStack s = TiffStack.open(out, TiffStack.Options.defaults())) {
            assertEquals(3, s.layout().sizeT());
            for (int t = 0; t < 3; t++) {
                assertEquals(t + 0.5f, timePoint(s, t).data()[5], 0);
            }
        }
        assertEquals(List.of("0", "1", "2"), csv(out).stream().map(m -> m.get("sequence")).toList());
    }

    /** Records with this key on the raw topic. */
    private int rawRecords(String key) {
        Map<String, Object> c = new HashMap<>(RecordLimits.consumer());
        c.put("bootstrap.servers", stack.bootstrap());
        c.put("isolation.level", "read_committed");
        c.put("enable.auto.commit", false);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(names.name(Topic.RAW)).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            int n = 0;
            while (parts.stream().anyMatch(p -> consumer.position(p) < end.get(p))) {
                for (ConsumerRecord<String, byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    if (key.equals(rec.key())) {
                        n++;
                    }
                }
            }
            return n;
        }
    }
}
