package io.fluostream.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.DeadLetters;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.stabilise.ShiftResampler;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.stage.FrameTopology;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.StreamMemory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stabilise service's topology on TopologyTestDriver (no broker): simulated unmixed frames with
 * known drift go in on frames.unmixed; stabilised frames with their figures come out on
 * frames.stabilised.
 */
class StabiliseTopologyTest {

    private static final String STREAM = "rig-1/cam-0/pos-0";

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> unmixed;
    private TestOutputTopic<String, byte[]> stabilised;
    private TestOutputTopic<String, byte[]> dlq;
    private StabiliseKernel kernel;
    private StageRuntime runtime;

    // Deformation off, so the truth drift is unambiguous; drift up to a quarter of the field.
    private final SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(128).width(128)
            .maxFlowPxPerFrame(0).maxDriftPx(32).seed(3).build();
    private final ForwardModel model = new ForwardModel(sim, 0);

    @BeforeEach
    void start() throws Exception {
        kernel = new StabiliseKernel();
        runtime = new StageRuntime(kernel, new StageIdentity("stabilise", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of("threads", 2));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "stabilise-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("stabilise-tt").toString());
        driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
        unmixed = driver.createInputTopic("frames.unmixed", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        stabilised = driver.createOutputTopic("frames.stabilised", Serdes.String().deserializer(),
                Serdes.ByteArray().deserializer());
        dlq = driver.createOutputTopic("frames.dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
        kernel.close();
    }

    /** An unmixed frame as the unmix stage writes it: float32 abundances of frame t. */
    private static Frame frame(long sequence, Image abundances) {
        return FrameImages.withImage(Frame.newBuilder().setStreamId(STREAM).setSequence(sequence).setAcquiredAtUs(1),
                abundances, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
    }

    private Frame process(long sequence, Image abundances) throws Exception {
        unmixed.pipeInput(STREAM, frame(sequence, abundances).toByteArray());
        List<TestRecord<String, byte[]>> out = stabilised.readRecordsToList();
        assertEquals(1, out.size(), "one stabilised frame per unmixed frame");
        return Frame.parseFrom(out.get(0).value());
    }

    /**
     * Frames with known drift: each carries its measured shift within 0.06 px of the truth (noise-free
     * abundances; measured ≤ 0.04 px on this 128 × 128 scene, where large cells entering the small
     * field dominate), is not flagged, and every channel is moved by exactly the same shift.
     */
    @Test
    void framesCarryTheirShiftAndEveryChannelIsCorrectedAlike() throws Exception {
        Frame first = process(0, model.frame(0).abundances());
        assertEquals(1.0, first.getFiguresOrThrow("stabilise.registered"));
        assertTrue(first.getProvenance(first.getProvenanceCount() - 1).getNote().contains("became the stream's template"));
        ShiftResampler resampler = new ShiftResampler();
        for (int t = 40; t <= 200; t += 40) {
            SimulatedFrame truth = model.frame(t);
            Frame out = process(t, truth.abundances());
            double dx = out.getFiguresOrThrow("stabilise.shift_x_px");
            double dy = out.getFiguresOrThrow("stabilise.shift_y_px");
            assertEquals(truth.driftX(), dx, 0.06, "dx at t=" + t);
            assertEquals(truth.driftY(), dy, 0.06, "dy at t=" + t);
            assertEquals(0.0, out.getFiguresOrThrow("stabilise.low_confidence"), "t=" + t);
            assertEquals(1.0, out.getFiguresOrThrow("stabilise.registered"));
            assertEquals(dx, out.getFiguresOrThrow("stabilise.applied_shift_x_px"), 1e-12);
            assertEquals("rigid-phase-correlation", out.getProvenance(out.getProvenanceCount() - 1).getMethod());

            Image corrected = FrameImages.image(out);
            assertEquals(truth.abundances().channels(), corrected.channels());
            for (int c = 0; c < corrected.channels(); c++) {
                Image alone = resampler.resample(truth.abundances().channel(c), dx, dy);
                assertEquals(0, rmse(alone, corrected.channel(c)), 1e-3, "channel " + c + " at t=" + t);
            }
        }
        assertTrue(dlq.isEmpty());
        assertEquals(6, runtime.metrics().framesOut());
    }

    /** A blank frame is flagged and passed as acquired; the stream then goes on registering. */
    @Test
    void blankFramesAreFlaggedAndPassedUnregistered() throws Exception {
        process(0, model.frame(0).abundances());
        Image blank = new Image(3, sim.height(), sim.width());
        java.util.Arrays.fill(blank.data(), 40f);
        Frame out = process(1, blank);
        assertEquals(1.0, out.getFiguresOrThrow("stabilise.low_confidence"));
        assertEquals(0.0, out.getFiguresOrThrow("stabilise.registered"));
        assertEquals(0.0, out.getFiguresOrThrow("stabilise.confidence"));
        assertEquals(0, rmse(blank, FrameImages.image(out)), 0.0, "passed as acquired");
        assertTrue(out.getProvenance(0).getNote().contains("passed unregistered"), out.getProvenance(0).getNote());

        SimulatedFrame truth = model.frame(80);
        Frame next = process(2, truth.abundances());
        assertEquals(0.0, next.getFiguresOrThrow("stabilise.low_confidence"));
        assertEquals(truth.driftX(), next.getFiguresOrThrow("stabilise.shift_x_px"), 0.06);
    }

    /** With low_confidence = hold, the blank frame gets the last trusted shift instead. */
    @Test
    void holdPolicyAppliesTheLastTrustedShift() throws Exception {
        runtime.parameters().set(Map.of("low_confidence", "hold"));
        process(0, model.frame(0).abundances());
        Frame good = process(1, model.frame(120).abundances());
        Frame held = process(2, new Image(3, sim.height(), sim.width()));
        assertEquals(1.0, held.getFiguresOrThrow("stabilise.low_confidence"));
        assertEquals(1.0, held.getFiguresOrThrow("stabilise.registered"));
        assertEquals(good.getFiguresOrThrow("stabilise.shift_x_px"), held.getFiguresOrThrow("stabilise.applied_shift_x_px"),
                1e-12);
        assertEquals(good.getFiguresOrThrow("stabilise.shift_y_px"), held.getFiguresOrThrow("stabilise.applied_shift_y_px"),
                1e-12);
    }

    /**
     * The template is kept in the stream-memory store: a template already there (as after a
     * restart) is used for the stream's first frame seen by this instance.
     */
    @Test
    void templateComesFromStreamMemory() throws Exception {
        KeyValueStore<String, byte[]> memory = driver.getKeyValueStore(StreamMemory.storeName("stabilise"));
        memory.put(StabiliseKernel.TEMPLATE + ":" + STREAM, frame(0, model.frame(0).abundances()).toByteArray());
        SimulatedFrame truth = model.frame(160);
        Frame out = process(160, truth.abundances());
        assertEquals(0.0, out.getFiguresOrThrow("stabilise.template_sequence"));
        assertEquals(truth.driftX(), out.getFiguresOrThrow("stabilise.shift_x_px"), 0.06);
        assertEquals(truth.driftY(), out.getFiguresOrThrow("stabilise.shift_y_px"), 0.06);

        // A new stream's first frame is stored as its template.
        unmixed.pipeInput("other", FrameImages.withImage(Frame.newBuilder().setStreamId("other").setSequence(5),
                model.frame(0).abundances(), PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build().toByteArray());
        assertEquals(5, FrameImages.parse(memory.get(StabiliseKernel.TEMPLATE + ":other")).getSequence());
    }

    /** Piecewise mode, chosen live, adds the field summary and (on request) the field as planes. */
    @Test
    void piecewiseModeReportsTheDisplacementField() throws Exception {
        runtime.parameters().set(Map.of("mode", "piecewise", "patch_px", 48, "patch_overlap_px", 16,
                "field_planes", true));
        process(0, model.frame(0).abundances());
        SimulatedFrame truth = model.frame(60);
        Frame out = process(1, truth.abundances());
        assertEquals("piecewise-rigid-phase-correlation", out.getProvenance(0).getMethod());
        assertTrue(out.getFiguresOrThrow("stabilise.patches") >= 4);
        assertTrue(out.getFiguresOrThrow("stabilise.patch_shift_max_px") < 0.3, "rigid motion: patches agree");
        Image fx = FrameImages.plane(out, "stabilise.field_x_px").orElseThrow();
        assertEquals(truth.driftX(), fx.get(0, sim.height() / 2, sim.width() / 2), 0.1);
        assertTrue(FrameImages.plane(out, "stabilise.field_y_px").isPresent());
    }

    /** A registration channel the frame does not have sends the frame to the dead-letter topic with a reason. */
    @Test
    void aMissingRegistrationChannelIsRejectedWithAReason() {
        runtime.parameters().set(Map.of("registration_channel", 5));
        unmixed.pipeInput(STREAM, frame(0, model.frame(0).abundances()).toByteArray());
        assertTrue(stabilised.isEmpty());
        TestRecord<String, byte[]> dead = dlq.readRecord();
        assertEquals("incompatible", DeadLetters.header(dead.headers(), DeadLetters.REASON));
        assertTrue(DeadLetters.header(dead.headers(), DeadLetters.MESSAGE).contains("registration_channel is 5"));
    }

    private static double rmse(Image a, Image b) {
        double sq = 0;
        for (int i = 0; i < a.data().length; i++) {
            double d = a.data()[i] - b.data()[i];
            sq += d * d;
        }
        return Math.sqrt(sq / a.data().length);
    }
}
