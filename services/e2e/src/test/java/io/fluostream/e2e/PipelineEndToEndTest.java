package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.GroundTruthReport;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineAudit;
import io.fluostream.cli.Stack;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Shape;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import io.fluostream.rig.SimulatedFrames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The whole pipeline on a real broker with the four packaged services as separate processes:
 * simulated 4-channel streams, a single-channel stream, and malformed records, all through one run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelineEndToEndTest {

    private static final int FRAMES = 12;
    private static final String MONO = "mono/pos0";
    private static final int MONO_FRAMES = 3;

    private Stack stack;
    private final TopicNames names = TopicNames.defaults();
    private final RigOptions rig = new RigOptions(2, FRAMES, 0, SimulationSettings.defaults().withSeed(7));
    private final PipelineAudit audit = new PipelineAudit(names);
    private GroundTruthReport truth;

    @BeforeAll
    void runThePipeline() throws Exception {
        Path runDir = Files.createTempDirectory("fluostream-e2e");
        stack = Stack.start(Home.locate(), runDir, Stack.Ports.free(), 2, Map.of(), System.out::println);
        new RigSimulator(rig).publish(stack.bootstrap(), names.name(Topic.RAW), System.out::println);
        publishSingleChannelStreamAndMalformedRecords();

        int expected = rig.streams() * FRAMES + MONO_FRAMES;
        try (FrameCollector c = new FrameCollector(stack.bootstrap(), audit.topics())) {
            c.collect(audit::accept, () -> audit.complete(expected) && audit.deadLetters().size() >= 5, Duration.ofSeconds(120));
        }
        truth = new GroundTruthReport(rig);
        truth.measure(stack.bootstrap(), names);
    }

    private void publishSingleChannelStreamAndMalformedRecords() throws Exception {
        ForwardModel mono = new ForwardModel(SimulationSettings.defaults().withSize(64, 64).withChannelsAndFluorophores(1, 1), 0);
        String raw = names.name(Topic.RAW);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(RigSimulator.producerConfig(stack.bootstrap()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int t = 0; t < MONO_FRAMES; t++) {
                Frame f = SimulatedFrames.toFrame(mono, mono.frame(t), MONO, System.currentTimeMillis() * 1000, 0);
                p.send(new ProducerRecord<>(raw, MONO, f.toByteArray()));
            }
            Frame good = SimulatedFrames.toFrame(mono, mono.frame(0), "bad/pos0", 1, 0);
            // 1. not a frame at all
            p.send(new ProducerRecord<>(raw, "bad/pos0", new byte[] {0x13, 0x37, 0x7f}));
            // 2. zero height
            p.send(new ProducerRecord<>(raw, "bad/pos0", good.toBuilder()
                    .setShape(Shape.newBuilder().setChannels(1).setHeight(0).setWidth(64)).build().toByteArray()));
            // 3. pixel bytes that do not match the shape
            p.send(new ProducerRecord<>(raw, "bad/pos0", FrameImages.withImage(good.toBuilder(), new Image(1, 8, 8),
                    PixelType.UINT16, Encoding.RAW).setShape(Shape.newBuilder().setChannels(2).setHeight(8).setWidth(8))
                    .build().toByteArray()));
            // 4. unknown pixel type
            p.send(new ProducerRecord<>(raw, "bad/pos0", good.toBuilder().setPixelTypeValue(42).build().toByteArray()));
            // 5. a sequence number going backwards on a stream that is already further
            Frame rewind = SimulatedFrames.toFrame(mono, mono.frame(1), MONO, 1, 0);
            p.send(new ProducerRecord<>(raw, MONO, rewind.toByteArray()));
            p.flush();
        }
    }

    @AfterAll
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void everyFrameArrivesExactlyOnceAtEveryStageInOrderPerStream() {
        int expected = rig.streams() * FRAMES + MONO_FRAMES;
        // The raw topic also holds the deliberately malformed records; every stage's output must not.
        for (Topic t : List.of(Topic.DENOISED, Topic.UNMIXED, Topic.STABILISED, Topic.FLOW)) {
            assertEquals(expected, audit.distinct(t), "distinct frames on " + names.name(t));
            assertEquals(0, audit.duplicated(t), "duplicates on " + names.name(t));
            assertEquals(0, audit.outOfOrder(t), "frames out of sequence order on " + names.name(t));
        }
        Set<Long> all = LongStream.range(0, FRAMES).boxed().collect(Collectors.toSet());
        assertEquals(all, audit.sequences(Topic.FLOW, RigOptions.streamId(0)));
        assertEquals(all, audit.sequences(Topic.FLOW, RigOptions.streamId(1)));
    }

    @Test
    void aSingleChannelStreamFlowsThroughTheWholeChain() {
        assertEquals(Set.of(0L, 1L, 2L), audit.sequences(Topic.FLOW, MONO));
    }

    @Test
    void malformedFramesLandInTheDeadLetterTopicWithAReason() {
        List<PipelineAudit.DeadLetter> dead = audit.deadLetters();
        assertEquals(5, dead.size(), "dead letters: " + dead);
        assertEquals(Set.of("undecodable", "bad_shape", "size_mismatch", "unknown_pixel_type", "sequence_not_increasing"),
                dead.stream().map(PipelineAudit.DeadLetter::reason).collect(Collectors.toSet()));
        for (PipelineAudit.DeadLetter d : dead) {
            assertEquals("denoise", d.stage(), "rejected at the first stage: " + d);
            assertTrue(d.message() != null && d.message().length() > 10, "a reason a user can act on: " + d);
        }
    }

    @Test
    void eachStageBeatsItsInput() {
        assertTrue(truth.psnrOut() > truth.psnrIn() + 3, "denoise PSNR " + truth.psnrIn() + " -> " + truth.psnrOut());
        assertTrue(truth.unmixRmseRel() < truth.unmixRmseRelLeastSquares(),
                "NNLS " + truth.unmixRmseRel() + " vs least squares " + truth.unmixRmseRelLeastSquares());
        assertTrue(truth.stabiliseRmsErrorPx() < 0.1, "drift error " + truth.stabiliseRmsErrorPx() + " px RMS");
        assertTrue(truth.flowEpePx() < truth.flowEpeZeroPx(),
                "flow EPE " + truth.flowEpePx() + " vs zero field " + truth.flowEpeZeroPx());
    }
}
