package io.fluostream.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.proto.BlobRef;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyDescription;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A stage with a tap ({@link StageKernel#tap()}) on TopologyTestDriver: tap frames are shown to the
 * kernel and go nowhere; unreadable ones are skipped and counted, never dead-lettered, and the
 * stage's own frames flow on. A stage without a tap keeps exactly the topology it had.
 */
class TapTopologyTest {

    /** Passes denoised frames through; observes every second raw frame of a stream (mean of its pixels). */
    static final class Watcher implements StageKernel {
        final Map<String, Integer> offered = new HashMap<>();
        final List<String> seen = new ArrayList<>();
        volatile boolean failObserve;

        @Override
        public String stage() {
            return "watch";
        }

        @Override
        public Topic input() {
            return Topic.DENOISED;
        }

        @Override
        public Topic output() {
            return Topic.UNMIXED;
        }

        @Override
        public Topic tap() {
            return Topic.RAW;
        }

        @Override
        public synchronized boolean observes(String streamId) {
            return offered.merge(streamId, 1, Integer::sum) % 2 == 1;
        }

        @Override
        public synchronized void observe(String streamId, Image pixels) {
            if (failObserve) {
                throw new IllegalStateException("observer broke");
            }
            double sum = 0;
            for (float v : pixels.data()) {
                sum += v;
            }
            seen.add(streamId + ":" + (long) (sum / pixels.data().length));
        }

        @Override
        public List<Parameter> parameters() {
            return List.of();
        }

        @Override
        public List<QualitySignal> qualitySignals() {
            return List.of();
        }

        @Override
        public StageOutput process(FrameInput in) throws FrameRejected {
            return StageOutput.of(in.pixels()).method("watch");
        }
    }

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> raw;
    private TestInputTopic<String, byte[]> denoised;
    private TestOutputTopic<String, byte[]> unmixed;
    private TestOutputTopic<String, byte[]> dlq;
    private StageRuntime runtime;
    private Watcher watcher;

    @BeforeEach
    void start() throws Exception {
        watcher = new Watcher();
        runtime = new StageRuntime(watcher, new StageIdentity("watch", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of());
        driver = new TopologyTestDriver(FrameTopology.build(runtime), properties());
        raw = driver.createInputTopic("frames.raw", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        denoised = driver.createInputTopic("frames.denoised", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        unmixed = driver.createOutputTopic("frames.unmixed", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        dlq = driver.createOutputTopic("frames.dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private static Properties properties() throws Exception {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "tap-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("tap-tt").toString());
        return p;
    }

    /** A frame whose pixels all equal {@code level}. */
    private static Frame frame(String stream, long seq, float level, PixelType type) {
        Image im = new Image(2, 4, 5);
        Arrays.fill(im.data(), level);
        return FrameImages.withImage(Frame.newBuilder().setStreamId(stream).setSequence(seq).setAcquiredAtUs(1),
                im, type, Encoding.SHUFFLE_ZSTD).build();
    }

    @Test
    void tapFramesAreObservedWhenTheKernelAsksAndGoNowhere() throws Exception {
        for (int t = 0; t < 4; t++) {
            raw.pipeInput("s1", frame("s1", t, 100 + t, PixelType.UINT16).toByteArray());
        }
        raw.pipeInput("s2", frame("s2", 0, 7, PixelType.UINT16).toByteArray());
        assertEquals(List.of("s1:100", "s1:102", "s2:7"), watcher.seen, "every second frame of each stream, in order");
        assertEquals(Map.of("s1", 4, "s2", 1), watcher.offered);
        assertTrue(unmixed.isEmpty() && dlq.isEmpty(), "a tap writes nothing");
        assertEquals(3, runtime.metrics().tapFramesObserved());
        assertEquals(0, runtime.metrics().framesIn(), "tap frames are not the stage's input");

        denoised.pipeInput("s1", frame("s1", 0, 3, PixelType.FLOAT32).toByteArray());
        assertEquals(1, unmixed.readRecordsToList().size());
        assertEquals(3, watcher.seen.size(), "input frames are not observed");
    }

    @Test
    void unreadableTapFramesAreSkippedAndCountedNeverDeadLetteredAndTheStageGoesOn() throws Exception {
        byte[] good = frame("s1", 0, 50, PixelType.UINT16).toByteArray();
        // Each of these is offered on an "observe" turn of its stream (every second frame).
        raw.pipeInput("a", Arrays.copyOf(good, good.length / 2));                        // truncated
        raw.pipeInput("b", new byte[0]);                                                   // empty
        raw.pipeInput("c", frame("s1", 0, 50, PixelType.UINT16).toByteArray());           // key is not the stream id
        Frame claimed = frame("d", 0, 50, PixelType.UINT16);
        claimed = claimed.toBuilder().setPixels(claimed.getPixels().toBuilder().setBlob(BlobRef.newBuilder()
                .setUri("blob:" + "0".repeat(64)).setSha256("0".repeat(64)).setEncodedBytes(10))).build();
        raw.pipeInput("d", claimed.toByteArray());                                         // blob not reachable
        raw.pipeInput("e", frame("e", 0, 50, PixelType.UINT16).toBuilder().setStreamId("").build().toByteArray());
        raw.pipeInput(null, new byte[] {1, 2, 3});                                         // no key, not a frame
        assertEquals(6, runtime.metrics().tapFramesSkipped());

        watcher.failObserve = true;
        raw.pipeInput("f", frame("f", 0, 50, PixelType.UINT16).toByteArray());
        assertEquals(7, runtime.metrics().tapFramesSkipped(), "an observer that throws skips the frame only");
        watcher.failObserve = false;

        raw.pipeInput("s1", good);
        denoised.pipeInput("s1", frame("s1", 0, 3, PixelType.FLOAT32).toByteArray());
        assertEquals(List.of("s1:50"), watcher.seen, "the tap still observes");
        assertEquals(1, unmixed.readRecordsToList().size(), "the stage still processes its input");
        assertTrue(dlq.isEmpty(), "nothing from the tap is dead-lettered");
        assertEquals(1, runtime.metrics().tapFramesObserved());
        assertEquals(7, runtime.metrics().tapFramesSkipped());
        assertEquals(0, runtime.metrics().framesRejected());
    }

    /** The graph FrameTopology built before taps existed, node for node. */
    private static Topology withoutTap(StageRuntime stage) {
        String name = stage.identity().stage();
        Topology t = new Topology();
        t.addSource("frames-in", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), stage.inputTopic());
        t.addProcessor(name, stage::newProcessor, "frames-in");
        t.addStateStore(StreamLedger.store(name), name);
        t.addStateStore(ParkedFrames.store(name), name);
        if (stage.stateful()) {
            t.addStateStore(StreamMemory.store(name), name);
        }
        t.addSink(FrameProcessor.OUTPUT, stage.outputTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
        t.addSink(FrameProcessor.DEAD_LETTERS, stage.deadLetterTopic(), Serdes.String().serializer(), Serdes.ByteArray().serializer(), name);
        return t;
    }

    @Test
    void aStageWithoutATapHasExactlyTheTopologyItHadAndATapAddsOnlyItsOwnSubTopology() {
        StageRuntime plain = new StageRuntime(new FrameProcessorTopologyTest.Doubler(), new StageIdentity("double", "test", "t1"),
                TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
        assertEquals(withoutTap(plain).describe().toString(), FrameTopology.build(plain).describe().toString());

        TopologyDescription tapped = FrameTopology.build(runtime).describe();
        assertEquals(2, tapped.subtopologies().size());
        TopologyDescription.Subtopology first = tapped.subtopologies().stream().filter(s -> s.id() == 0).findFirst().orElseThrow();
        TopologyDescription.Subtopology own = withoutTap(runtime).describe().subtopologies().iterator().next();
        assertEquals(own.toString(), first.toString(), "the stage's sub-topology keeps id 0 and every node name");
        TopologyDescription.Subtopology tap = tapped.subtopologies().stream().filter(s -> s.id() == 1).findFirst().orElseThrow();
        assertEquals(List.of("tap-in", "watch-tap"), tap.nodes().stream().map(TopologyDescription.Node::name).sorted().toList());
        assertTrue(tapped.globalStores().isEmpty());
        assertEquals(0, tap.nodes().stream().filter(n -> n instanceof TopologyDescription.Processor p && !p.stores().isEmpty()).count(),
                "the tap keeps no store");
    }
}
