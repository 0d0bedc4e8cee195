package io.fluostream.unmix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectraEstimator;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.AdoptSpectraRequest;
import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.EstimateSpectraRequest;
import io.fluostream.proto.Matrix;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Provenance;
import io.fluostream.proto.SetSpectraRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.FrameTopology;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.InvalidParameterException;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.control.CommandApplier;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The unmix stage on TopologyTestDriver (no broker): denoised forward-model frames in on
 * frames.denoised, unmixed frames out on frames.unmixed, the camera's raw frames tapped on
 * frames.raw for blind estimation, parameters changed between frames and control calls
 * (SetSpectra, EstimateSpectra, AdoptSpectra) run as the control plane runs them.
 */
class UnmixTopologyTest {

    /** Photon level 100, 64 x 64: bright enough that NNLS recovers the abundances well. */
    private static final SimulationSettings SIM = SimulationSettings.defaults().withSize(64, 64).withPhotonLevel(100);
    private static ForwardModel model;
    private static ReferenceSpectra truthSpectra;
    private static final SimulatedFrame[] FRAMES = new SimulatedFrame[6];
    private static final Image[] DENOISED = new Image[6];
    /** Raw camera frames for blind estimation: photon level 20 (the issue's target level), 128 x 128. */
    private static final SimulationSettings RAW_SIM = SimulationSettings.defaults().withSize(128, 128).withPhotonLevel(20);
    private static ForwardModel rawModel;
    private static final int RAW_FRAMES = 16;
    /**
     * Worst spectral angle allowed for the estimate from 16 tapped 128² raw frames at photon level
     * 20: measured 2.35°. The bound is the issue's target, 5°: other tile sets of the same stream
     * gave 3.1° (8 tiles), 3.9° (every second of 32 frames) and 4.9° (4 tiles), so a tighter bound
     * would test the sample's luck more than the plumbing. Broken plumbing fails it by far: these
     * tiles' pixels through the pixel estimator gave 24°, denoised pixels about 16°.
     */
    private static final double MAX_ANGLE_DEG = 5;
    /**
     * How far the removed uniform level may be from offset + diffuse background, ADU: measured within
     * 0.07 ADU on every channel. 0.5 ADU is a seventh of one raw pixel's noise (about 3.6 ADU) and
     * below the diffuse background (0.8-2.2 ADU), so a level that is the offset alone fails.
     */
    private static final double MAX_LEVEL_ERROR_ADU = 0.5;
    private static final Frame[] RAW = new Frame[RAW_FRAMES];

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> denoised;
    private TestInputTopic<String, byte[]> raw;
    private TestOutputTopic<String, byte[]> unmixed;
    private TestOutputTopic<String, byte[]> dlq;
    private StageRuntime runtime;
    private UnmixKernel kernel;

    @BeforeAll
    static void simulate() {
        model = new ForwardModel(SIM, 0);
        truthSpectra = ReferenceSpectra.of(model.mixingMatrix());
        ClassicalDenoiser denoiser = new ClassicalDenoiser();
        for (int t = 0; t < FRAMES.length; t++) {
            FRAMES[t] = model.frame(t);
            DENOISED[t] = denoiser.denoise(FRAMES[t].raw(), SIM.offsetAdu()).denoised();
        }
        rawModel = new ForwardModel(RAW_SIM, 0);
        for (int t = 0; t < RAW_FRAMES; t++) {
            RAW[t] = rawFrame("rig-1", t, rawModel.frame(t).raw());
        }
    }

    /** A camera frame as the rig publishes it: uint16 counts, offset included. */
    private static Frame rawFrame(String stream, long seq, Image counts) {
        return FrameImages.withImage(Frame.newBuilder().setStreamId(stream).setSequence(seq).setAcquiredAtUs(1 + seq)
                .setAcquisition(Acquisition.newBuilder().setCameraOffsetAdu(RAW_SIM.offsetAdu())
                        .setCameraGainAduPerElectron(RAW_SIM.gainAduPerElectron())),
                counts, PixelType.UINT16, Encoding.SHUFFLE_ZSTD).build();
    }

    @BeforeEach
    void start() throws Exception {
        kernel = new UnmixKernel();
        runtime = new StageRuntime(kernel, new StageIdentity("unmix", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of("spectra", truthSpectra.toText(), "threads", 1));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "unmix-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("unmix-tt").toString());
        driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
        denoised = driver.createInputTopic("frames.denoised", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        raw = driver.createInputTopic("frames.raw", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        unmixed = driver.createOutputTopic("frames.unmixed", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        dlq = driver.createOutputTopic("frames.dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
        kernel.close();
    }

    private static byte[] frame(String stream, long seq, Image pixels) {
        Frame.Builder b = Frame.newBuilder().setStreamId(stream).setSequence(seq).setAcquiredAtUs(1 + seq)
                .putFigures("denoise.gain_adu_per_electron", SIM.gainAduPerElectron())
                .putFigures("denoise.read_noise_electrons", SIM.readNoiseElectrons());
        return FrameImages.withImage(b, pixels, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build().toByteArray();
    }

    private Frame next() throws Exception {
        assertFalse(unmixed.isEmpty(), "no output frame; dead letters: " + dlq.readRecordsToList().size());
        return Frame.parseFrom(unmixed.readValue());
    }

    private static Provenance unmixProvenance(Frame f) {
        return f.getProvenance(f.getProvenanceCount() - 1);
    }

    @Test
    void denoisedFramesComeOutAsAbundancesWithResidualAndProvenance() throws Exception {
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        Frame out = next();
        Image abundances = FrameImages.image(out);
        assertEquals(3, abundances.channels());
        assertEquals(java.util.List.of("f0", "f1", "f2"), out.getChannelNamesList());
        Image truth = FRAMES[0].abundances();
        double rmseRel = Images.rmse(truth, abundances) / Images.mean(truth);
        // NNLS on a denoised 64 x 64 frame at 100 photons: measured 0.35 relative RMSE; wrong
        // spectra or a broken unmixer land far above 0.45.
        assertTrue(rmseRel < 0.45, "relative RMSE " + rmseRel);
        Image residual = FrameImages.plane(out, "unmix.residual").orElseThrow();
        assertEquals(1, residual.channels());
        assertEquals(64, residual.width());
        double relative = out.getFiguresOrThrow("unmix.relative_residual");
        assertTrue(relative > 0 && relative < 0.2, "relative residual " + relative); // measured 0.048
        Provenance p = unmixProvenance(out);
        assertEquals("unmix", p.getStage());
        assertEquals("nnls", p.getMethod());
        assertTrue(p.getNote().contains("spectra " + truthSpectra.fingerprint()), p.getNote());
        assertEquals(Long.parseLong(truthSpectra.fingerprint(), 16), (long) out.getFiguresOrThrow("unmix.spectra_fingerprint"));
        assertTrue(dlq.isEmpty());
    }

    @Test
    void aSingleChannelFramePassesThroughWithANote() throws Exception {
        Image single = DENOISED[0].channel(1);
        denoised.pipeInput("mono", frame("mono", 0, single));
        Frame out = next();
        assertEquals(1, FrameImages.image(out).channels());
        assertEquals("passthrough", unmixProvenance(out).getMethod());
        assertTrue(unmixProvenance(out).getNote().contains("no spectra for 1 channels"), unmixProvenance(out).getNote());
    }

    @Test
    void aSpectraChangeTakesEffectOnTheNextFrame() throws Exception {
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        Frame before = next();
        ReferenceSpectra other = ReferenceSpectra.parse("0.6,0.15,0.02;0.3,0.5,0.1;0.08,0.3,0.38;0.02,0.05,0.5");
        runtime.parameters().set(Map.of("spectra", other.toText()));
        denoised.pipeInput("rig-1", frame("rig-1", 1, DENOISED[1]));
        Frame after = next();
        assertTrue(unmixProvenance(after).getNote().contains(other.fingerprint()), unmixProvenance(after).getNote());
        assertTrue(!unmixProvenance(before).getParameterHash().equals(unmixProvenance(after).getParameterHash()));
        Image expected;
        try (NnlsUnmixer nnls = new NnlsUnmixer(other)) {
            expected = nnls.unmix(DENOISED[1]).abundances();
        }
        float[] got = FrameImages.image(after).data();
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected.data()[i], got[i], 1e-3 * (1 + Math.abs(expected.data()[i])), "sample " + i);
        }
    }

    @Test
    void badSpectraAreRejectedWithAMessageAndChangeNothing() throws Exception {
        InvalidParameterException dependent = assertThrows(InvalidParameterException.class,
                () -> runtime.parameters().set(Map.of("spectra", "1,2,0;2,4,1;3,6,0;1,2,1")));
        assertTrue(dependent.getMessage().contains("multiple of column 0"), dependent.getMessage());
        InvalidParameterException negative = assertThrows(InvalidParameterException.class,
                () -> runtime.parameters().set(Map.of("spectra", "0.5,-0.1;0.5,0.6")));
        assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
        InvalidParameterException shape = assertThrows(InvalidParameterException.class,
                () -> runtime.parameters().set(Map.of("spectra", "0.5,0.1,0.2;0.5,0.6,0.1")));
        assertTrue(shape.getMessage().contains("at least as many detection channels"), shape.getMessage());
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        assertTrue(unmixProvenance(next()).getNote().contains(truthSpectra.fingerprint()), "the old spectra still apply");
    }

    @Test
    void poissonMethodUsesTheDenoiseStagesCameraFit() throws Exception {
        runtime.parameters().set(Map.of("method", "poisson"));
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        Frame out = next();
        Provenance p = unmixProvenance(out);
        assertEquals("poisson", p.getMethod());
        assertTrue(p.getNote().contains("gain 2.000 ADU/e-") && p.getNote().contains("read noise 1.50 e-"), p.getNote());
        Image truth = FRAMES[0].abundances();
        double rmseRel = Images.rmse(truth, FrameImages.image(out)) / Images.mean(truth);
        // Measured 0.34 (NNLS: 0.35).
        assertTrue(rmseRel < 0.45, "relative RMSE " + rmseRel);
    }

    // --- Control calls: as the control plane runs them (check and resolve on the replica called,
    // then apply on every replica in control-topic order) ---------------------------------------------

    private static final ReferenceSpectra OTHER =
            ReferenceSpectra.parse("0.6,0.15,0.02;0.3,0.5,0.1;0.08,0.3,0.38;0.02,0.05,0.5");

    /** A second replica of the stage: its own kernel, parameters and topology. */
    private final class Replica implements AutoCloseable {
        final UnmixKernel kernel = new UnmixKernel();
        final StageRuntime runtime = new StageRuntime(kernel, new StageIdentity("unmix", "test", "t2"),
                TopicNames.defaults(), new SimpleMeterRegistry(), Map.of("spectra", truthSpectra.toText(), "threads", 1));
        final TopologyTestDriver driver;
        final TestInputTopic<String, byte[]> in;
        final TestOutputTopic<String, byte[]> out;

        Replica() throws Exception {
            kernel.bind(runtime.parameters());
            Properties p = new Properties();
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, "unmix-test");
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("unmix-tt2").toString());
            driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
            in = driver.createInputTopic("frames.denoised", Serdes.String().serializer(), Serdes.ByteArray().serializer());
            out = driver.createOutputTopic("frames.unmixed", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        }

        @Override
        public void close() {
            driver.close();
            kernel.close();
        }
    }

    private static final CommandApplier.StagePause NO_PAUSE = new CommandApplier.StagePause() {
        @Override
        public void pause() {
        }

        @Override
        public void resume() {
        }
    };

    /** What the replica called publishes: the call checked and resolved there. */
    private static ControlCommand publish(UnmixKernel called, StageCommand call) {
        called.check(call);
        return ControlCommand.newBuilder().setId("c1").setStage("unmix").setStageCommand(called.resolve(call)).build();
    }

    private static StageReply applyOn(StageRuntime replica, ControlCommand c, boolean replayed) {
        return new CommandApplier(replica, NO_PAUSE).apply(c,
                new CommandContext(c.getId(), "test", replica.identity().instance(), replayed, false));
    }

    private static StageCommand setSpectra(Matrix m, String... names) {
        return StageCommand.newBuilder().setSetSpectra(SetSpectraRequest.newBuilder().setSpectra(m)
                .addAllNames(java.util.List.of(names))).build();
    }

    /** Rows: fluorophores, columns: channels, as in control.proto. */
    private static Matrix matrix(int rows, int cols, double... values) {
        Matrix.Builder b = Matrix.newBuilder().setRows(rows).setCols(cols);
        for (double v : values) {
            b.addValues(v);
        }
        return b.build();
    }

    private static void assertUnmixedWith(ReferenceSpectra spectra, Image input, Frame out) throws Exception {
        assertTrue(unmixProvenance(out).getNote().contains("spectra " + spectra.fingerprint()), unmixProvenance(out).getNote());
        Image expected;
        try (NnlsUnmixer nnls = new NnlsUnmixer(spectra)) {
            expected = nnls.unmix(input).abundances();
        }
        float[] got = FrameImages.image(out).data();
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected.data()[i], got[i], 1e-3 * (1 + Math.abs(expected.data()[i])), "sample " + i);
        }
    }

    @Test
    void setSpectraChangesTheOutputFromTheNextFrameOnEveryReplicaWithNoFrameLost() throws Exception {
        kernel.bind(runtime.parameters());
        try (Replica other = new Replica()) {
            denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
            denoised.pipeInput("rig-1", frame("rig-1", 1, DENOISED[1]));
            ControlCommand c = publish(kernel, setSpectra(UnmixKernel.toMessage(OTHER), "GFP", "mCherry", "Cy5"));
            StageReply reply = applyOn(runtime, c, false);
            applyOn(other.runtime, c, false);
            assertEquals(OTHER.fingerprint(), reply.getValuesOrThrow("fingerprint").getText());
            assertEquals(OTHER, ReferenceSpectra.of(runtime.parameters().current().matrix("spectra")), "GetParameters shows it");
            denoised.pipeInput("rig-1", frame("rig-1", 2, DENOISED[2]));
            other.in.pipeInput("rig-2", frame("rig-2", 0, DENOISED[3]));

            java.util.List<Frame> outs = new java.util.ArrayList<>();
            while (!unmixed.isEmpty()) {
                outs.add(Frame.parseFrom(unmixed.readValue()));
            }
            assertEquals(java.util.List.of(0L, 1L, 2L), outs.stream().map(Frame::getSequence).toList(), "every frame, in order");
            assertUnmixedWith(truthSpectra, DENOISED[1], outs.get(1));
            assertEquals(java.util.List.of("f0", "f1", "f2"), outs.get(1).getChannelNamesList());
            assertUnmixedWith(OTHER, DENOISED[2], outs.get(2));
            assertEquals(java.util.List.of("GFP", "mCherry", "Cy5"), outs.get(2).getChannelNamesList());
            assertUnmixedWith(OTHER, DENOISED[3], Frame.parseFrom(other.out.readValue()));
            assertTrue(dlq.isEmpty());

            // A replica that restarts replays the command and ends with the same spectra.
            UnmixKernel restartedKernel = new UnmixKernel();
            StageRuntime restarted = new StageRuntime(restartedKernel, new StageIdentity("unmix", "test", "t3"),
                    TopicNames.defaults(), new SimpleMeterRegistry(), Map.of("spectra", truthSpectra.toText()));
            restartedKernel.bind(restarted.parameters());
            applyOn(restarted, c, true);
            assertEquals(OTHER, ReferenceSpectra.of(restarted.parameters().current().matrix("spectra")));
            restartedKernel.close();

            // A later SetParameters wins over it, as a later SetSpectra would over SetParameters.
            runtime.parameters().set(Map.of("spectra", truthSpectra.toText()));
            denoised.pipeInput("rig-1", frame("rig-1", 3, DENOISED[3]));
            Frame back = next();
            assertUnmixedWith(truthSpectra, DENOISED[3], back);
            assertEquals(java.util.List.of("f0", "f1", "f2"), back.getChannelNamesList(), "names belong to the spectra they came with");
        }
    }

    @Test
    void invalidSpectraAreRefusedWithTheReasonAndNothingChanges() throws Exception {
        kernel.bind(runtime.parameters());
        Map<String, Matrix> bad = new java.util.LinkedHashMap<>();
        bad.put("needs 12 values", matrix(3, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1));
        bad.put("negative", matrix(3, 4, 0.4, 0.3, 0.2, 0.1, 0.1, -0.2, 0.5, 0.3, 0, 0.1, 0.3, 0.6));
        bad.put("finite", matrix(3, 4, 0.4, 0.3, 0.2, 0.1, 0.1, Double.NaN, 0.5, 0.3, 0, 0.1, 0.3, 0.6));
        bad.put("multiple of column 0", matrix(3, 4, 0.4, 0.3, 0.2, 0.1, 0.8, 0.6, 0.4, 0.2, 0, 0.1, 0.3, 0.6));
        bad.put("at least as many detection channels", matrix(3, 2, 0.5, 0.5, 0.2, 0.8, 0.6, 0.4));
        bad.put("needs spectra", Matrix.getDefaultInstance());
        for (Map.Entry<String, Matrix> e : bad.entrySet()) {
            InvalidCommandException refused = assertThrows(InvalidCommandException.class,
                    () -> publish(kernel, setSpectra(e.getValue())), e.getKey());
            assertTrue(refused.getMessage().startsWith("SetSpectra") && refused.getMessage().contains(e.getKey()),
                    "expected '" + e.getKey() + "' in: " + refused.getMessage());
        }
        InvalidCommandException names = assertThrows(InvalidCommandException.class,
                () -> publish(kernel, setSpectra(UnmixKernel.toMessage(OTHER), "GFP", "mCherry")));
        assertTrue(names.getMessage().contains("2 names for 3 fluorophores"), names.getMessage());
        assertEquals(truthSpectra, ReferenceSpectra.of(runtime.parameters().current().matrix("spectra")));
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        assertUnmixedWith(truthSpectra, DENOISED[0], next());
    }

    private StageReply estimateSpectra(CommandApplier applier, EstimateSpectraRequest.Builder request) {
        return applier.applyToKernel(StageCommand.newBuilder().setEstimateSpectra(request).build(),
                new CommandContext("", "test", "t1", false, true), StageReply.newBuilder());
    }

    @Test
    void anUnreadableRawFrameIsSkippedAndCountedWhileTheStageGoesOn() throws Exception {
        kernel.bind(runtime.parameters());
        runtime.parameters().set(Map.of("sample_every", 1));
        byte[] whole = RAW[0].toByteArray();
        raw.pipeInput("rig-1", java.util.Arrays.copyOf(whole, whole.length / 2));
        denoised.pipeInput("rig-1", frame("rig-1", 0, DENOISED[0]));
        assertUnmixedWith(truthSpectra, DENOISED[0], next());
        raw.pipeInput("rig-1", RAW[1].toByteArray());
        denoised.pipeInput("rig-1", frame("rig-1", 1, DENOISED[1]));
        assertUnmixedWith(truthSpectra, DENOISED[1], next());
        assertTrue(dlq.isEmpty(), "nothing from the tap is dead-lettered");
        assertEquals(1, runtime.metrics().tapFramesSkipped());
        assertEquals(1, runtime.metrics().tapFramesObserved());
        assertEquals(0, runtime.metrics().framesRejected());
        assertEquals(1, kernel.tilesKept("rig-1"), "the readable frame after it is sampled");
    }

    @Test
    void tilesAreKeptWithinTheBudgetAndNoneWithSampleTilesZero() throws Exception {
        kernel.bind(runtime.parameters());
        runtime.parameters().set(Map.of("sample_every", 1, "sample_tiles", 0));
        Image small = new Image(4, 16, 16);
        java.util.Arrays.fill(small.data(), 120);
        raw.pipeInput("a", rawFrame("a", 0, small).toByteArray());
        assertEquals(0, kernel.tilesKept("a"));
        assertEquals(0, runtime.metrics().tapFramesObserved(), "not even decoded");

        // sample_every 3: frames 0, 3 and 6 of the stream (counted from the first while sampling).
        runtime.parameters().set(Map.of("sample_every", 3, "sample_tiles", 16));
        for (int t = 0; t < 7; t++) {
            raw.pipeInput("z", rawFrame("z", t, small).toByteArray());
        }
        assertEquals(3, kernel.tilesKept("z"));
        assertEquals(3, runtime.metrics().tapFramesObserved());
        InvalidCommandException none = assertThrows(InvalidCommandException.class, () -> estimateSpectra(
                new CommandApplier(runtime, NO_PAUSE), EstimateSpectraRequest.newBuilder().setStreamId("a")));
        assertTrue(none.getMessage().contains("sample_tiles > 0"), none.getMessage());

        // 128 tiles a stream: the budget of 256 holds two streams, the least recently tapped goes first.
        runtime.parameters().set(Map.of("sample_every", 1, "sample_tiles", 128));
        for (int t = 0; t < 3; t++) {
            raw.pipeInput("a", rawFrame("a", 1 + t, small).toByteArray());
        }
        raw.pipeInput("b", rawFrame("b", 0, small).toByteArray());
        raw.pipeInput("c", rawFrame("c", 0, small).toByteArray());
        assertEquals(0, kernel.tilesKept("a"), "dropped for the newer streams");
        assertEquals(0, kernel.tilesKept("z"), "dropped for the newer streams");
        assertEquals(1, kernel.tilesKept("b"));
        assertEquals(1, kernel.tilesKept("c"));
        // Fewer tiles a stream: the newest are kept.
        runtime.parameters().set(Map.of("sample_tiles", 1));
        raw.pipeInput("b", rawFrame("b", 1, small).toByteArray());
        assertEquals(1, kernel.tilesKept("b"));
        assertEquals(9, runtime.metrics().tapFramesObserved());
        assertTrue(dlq.isEmpty() && unmixed.isEmpty());
    }

    @Test
    void spectraEstimatedFromTappedRawFramesOnOneReplicaAreAdoptedByEvery() throws Exception {
        kernel.bind(runtime.parameters());
        // Every raw frame, so the stream's tiles are what a stream holds at the defaults (16 tiles).
        runtime.parameters().set(Map.of("sample_every", 1));
        for (int t = 0; t < RAW_FRAMES; t++) {
            raw.pipeInput("rig-1", RAW[t].toByteArray());
            if (t < 5) {
                denoised.pipeInput("rig-1", frame("rig-1", t, DENOISED[t]));
                next();
            }
        }
        assertTrue(dlq.isEmpty());
        assertEquals(RAW_FRAMES, runtime.metrics().tapFramesObserved());
        assertTrue(unmixed.isEmpty(), "raw frames are only observed, never unmixed");
        CommandApplier applier = new CommandApplier(runtime, NO_PAUSE);
        InvalidCommandException unknown = assertThrows(InvalidCommandException.class,
                () -> estimateSpectra(applier, EstimateSpectraRequest.newBuilder().setStreamId("rig-9")));
        assertTrue(unknown.getMessage().contains("rig-9") && unknown.getMessage().contains("raw frames")
                && unknown.getMessage().contains("frames.raw") && unknown.getMessage().contains("sample_tiles > 0"),
                unknown.getMessage());

        int tiles = RAW_FRAMES;
        StageReply estimate = estimateSpectra(applier, EstimateSpectraRequest.newBuilder().setStreamId("rig-1"));
        ReferenceSpectra candidate = UnmixKernel.spectraOf(estimate.getSpectra(), "test");
        String id = estimate.getValuesOrThrow("candidate_id").getText();
        assertEquals("rig-1@" + candidate.fingerprint(), id);
        assertEquals(tiles, estimate.getValuesOrThrow("tiles").getInteger(), "every tile kept");
        assertEquals(tiles * 128L * 128, estimate.getValuesOrThrow("pixels").getInteger(), "whole 128 x 128 tiles");
        double angle = SpectraEstimator.worstAngleDegrees(ReferenceSpectra.of(rawModel.mixingMatrix()), candidate, null);
        assertTrue(angle < MAX_ANGLE_DEG, candidate + " is " + angle + " deg from the truth");
        assertEquals(angle, estimate.getValuesOrThrow("worst_angle_to_current_deg").getNumber(), 1e-9,
                "the spectra in force are the truth");
        assertEquals(truthSpectra, ReferenceSpectra.of(runtime.parameters().current().matrix("spectra")), "not in force yet");
        // The uniform level removed from the raw counts: the camera offset plus the diffuse background
        // (gain x photons x background abundance x the channel's row of the mixing matrix).
        Matrix background = estimate.getValuesOrThrow("background").getMatrix();
        assertEquals(1, background.getRows());
        assertEquals(4, background.getCols());
        double[][] mixing = rawModel.mixingMatrix();
        for (int c = 0; c < 4; c++) {
            double expected = RAW_SIM.offsetAdu() + RAW_SIM.gainAduPerElectron() * RAW_SIM.photonLevel()
                    * RAW_SIM.backgroundAbundance() * java.util.Arrays.stream(mixing[c]).sum();
            assertEquals(expected, background.getValues(c), MAX_LEVEL_ERROR_ADU, "channel " + c + ": " + background.getValuesList());
        }

        StageReply newest = estimateSpectra(applier, EstimateSpectraRequest.newBuilder().setStreamId("rig-1").setFrames(2));
        assertEquals(2, newest.getValuesOrThrow("tiles").getInteger(), "frames: the newest n tiles");

        try (Replica other = new Replica()) {
            StageCommand byId = StageCommand.newBuilder().setAdoptSpectra(AdoptSpectraRequest.newBuilder().setCandidateId(id)).build();
            InvalidCommandException elsewhere = assertThrows(InvalidCommandException.class, () -> publish(other.kernel, byId));
            assertTrue(elsewhere.getMessage().contains("not known to this replica"), elsewhere.getMessage());
            StageCommand mismatched = StageCommand.newBuilder().setAdoptSpectra(AdoptSpectraRequest.newBuilder()
                    .setCandidateId(id).setSpectra(UnmixKernel.toMessage(OTHER))).build();
            InvalidCommandException wrong = assertThrows(InvalidCommandException.class, () -> publish(other.kernel, mismatched));
            assertTrue(wrong.getMessage().contains("not those of candidate"), wrong.getMessage());

            // Adopted by id on the replica that made it: the published command carries the matrix,
            // so the replica that never saw the estimate adopts the same spectra.
            ControlCommand c = publish(kernel, byId);
            assertEquals(candidate, UnmixKernel.spectraOf(c.getStageCommand().getAdoptSpectra().getSpectra(), "test"));
            applyOn(runtime, c, false);
            applyOn(other.runtime, c, false);
            denoised.pipeInput("rig-1", frame("rig-1", 5, DENOISED[5]));
            assertUnmixedWith(candidate, DENOISED[5], next());
            other.in.pipeInput("rig-1", frame("rig-1", 5, DENOISED[5]));
            assertUnmixedWith(candidate, DENOISED[5], Frame.parseFrom(other.out.readValue()));
            assertEquals(candidate, kernel.spectraInUse());
        }
    }
}
