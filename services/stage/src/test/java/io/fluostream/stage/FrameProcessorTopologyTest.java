package io.fluostream.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.DeadLetters;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
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
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared frame processor on TopologyTestDriver, with a toy kernel that doubles every pixel. */
class FrameProcessorTopologyTest {

    /** Doubles pixels; remembers the running count per stream to exercise stream memory. */
    static final class Doubler implements StageKernel {
        @Override
        public String stage() {
            return "double";
        }

        @Override
        public Topic input() {
            return Topic.RAW;
        }

        @Override
        public Topic output() {
            return Topic.DENOISED;
        }

        @Override
        public boolean stateful() {
            return true;
        }

        @Override
        public List<Parameter> parameters() {
            return List.of(Parameter.number("gain", 0, 10, 2, "", "multiplier"));
        }

        @Override
        public List<QualitySignal> qualitySignals() {
            return List.of(new QualitySignal("mean", "mean_adu", "mean output"));
        }

        /** Five-channel frames "need" a petabyte: more than any heap. */
        @Override
        public long workingBytes(long channels, long height, long width, ParameterValues parameters) {
            return channels == 5 ? 1L << 50 : channels * height * width * Float.BYTES;
        }

        @Override
        public StageOutput process(FrameInput in) throws FrameRejected {
            if (in.pixels().channels() == 3) {
                throw new FrameRejected(FrameRejected.Reason.INCOMPATIBLE, "three channels are not allowed here");
            }
            Image out = in.pixels().copy();
            float g = (float) in.parameters().number("gain");
            for (int i = 0; i < out.data().length; i++) {
                out.data()[i] *= g;
            }
            long seen = in.memory().image("previous").map(StreamMemory.Remembered::sequence).orElse(-1L);
            in.memory().remember("previous", in.sequence(), out);
            return StageOutput.of(out).figure("mean", 1.0).figure("previous_sequence", seen).method("doubler");
        }
    }

    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> raw;
    private TestOutputTopic<String, byte[]> out;
    private TestOutputTopic<String, byte[]> dlq;
    private StageRuntime runtime;

    @BeforeEach
    void start() throws Exception {
        runtime = new StageRuntime(new Doubler(), new StageIdentity("double", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of());
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("tt").toString());
        driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
        raw = driver.createInputTopic("frames.raw", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        out = driver.createOutputTopic("frames.denoised", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        dlq = driver.createOutputTopic("frames.dlq", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private static Frame frame(String stream, long seq, int channels) {
        Image im = new Image(channels, 4, 5);
        for (int i = 0; i < im.data().length; i++) {
            im.data()[i] = 100 + i;
        }
        return FrameImages.withImage(Frame.newBuilder().setStreamId(stream).setSequence(seq).setAcquiredAtUs(1),
                im, PixelType.UINT16, Encoding.SHUFFLE_ZSTD).build();
    }

    @Test
    void goodFramesAreProcessedInOrderWithProvenanceAndFigures() throws Exception {
        raw.pipeInput("s1", frame("s1", 0, 2).toByteArray());
        raw.pipeInput("s1", frame("s1", 1, 2).toByteArray());
        List<TestRecord<String, byte[]>> records = out.readRecordsToList();
        assertEquals(2, records.size());
        Frame f1 = Frame.parseFrom(records.get(1).value());
        assertEquals(1, f1.getSequence());
        assertEquals(PixelType.FLOAT32, f1.getPixelType());
        assertEquals(200f + 2 * 3, FrameImages.image(f1).data()[3]);
        assertEquals("double", f1.getProvenance(0).getStage());
        assertEquals("doubler", f1.getProvenance(0).getMethod());
        assertEquals(0.0, f1.getFiguresOrThrow("double.previous_sequence"), "stream memory remembers frame 0");
        assertTrue(dlq.isEmpty());
    }

    @Test
    void aFrameTooBigForTheHeapIsDeadLetteredBeforeDecodingAndTheStreamGoesOn() {
        raw.pipeInput("s1", frame("s1", 0, 5).toByteArray());
        raw.pipeInput("s1", frame("s1", 1, 2).toByteArray());
        List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
        assertEquals(1, dead.size());
        assertEquals("too_large", DeadLetters.header(dead.get(0).headers(), DeadLetters.REASON));
        String message = DeadLetters.header(dead.get(0).headers(), DeadLetters.MESSAGE);
        assertTrue(message.startsWith("double needs about 1073741824 MiB of heap for a 5x4x5 frame"), message);
        assertTrue(message.contains("FLUOSTREAM_STAGE_HEAP"), message);
        assertEquals(1, out.readRecordsToList().size(), "the next frame of the stream still flows");
    }

    @Test
    void theHeapCheckAllowsAFrameUpToItsShareOfTheHeap() throws Exception {
        FrameProcessor p = new FrameProcessor(new Doubler(), runtime.parameters(), runtime.metrics(), new StreamLedger(),
                runtime.identity(), false);
        Frame f = frame("s1", 0, 2).toBuilder().setShape(frame("s1", 0, 2).getShape().toBuilder()
                .setHeight(1000).setWidth(1000)).build();
        long needed = 2L * 1000 * 1000 * Float.BYTES; // the Doubler's figure: 8 MB
        ParameterValues params = runtime.parameters().current();
        p.checkHeap(f, params, (long) Math.ceil(needed / FrameProcessor.HEAP_SHARE));
        FrameRejected e = org.junit.jupiter.api.Assertions.assertThrows(FrameRejected.class,
                () -> p.checkHeap(f, params, (long) (needed / FrameProcessor.HEAP_SHARE) - 1));
        assertEquals(FrameRejected.Reason.TOO_LARGE, e.reason());
        assertTrue(e.getMessage().contains("2x1000x1000 frame"), e.getMessage());
        assertTrue(e.getMessage().contains("raise the heap to at least 13 MiB"), e.getMessage());
    }

    @Test
    void malformedFramesGoToTheDeadLetterTopicWithAReasonAndTheStreamGoesOn() {
        raw.pipeInput("s1", new byte[] {1, 2, 3, 4});
        Frame bad = frame("s1", 0, 1).toBuilder().setShape(frame("s1", 0, 1).getShape().toBuilder().setHeight(0)).build();
        raw.pipeInput("s1", bad.toByteArray());
        raw.pipeInput("s1", frame("s1", 1, 3).toByteArray());
        raw.pipeInput("s1", frame("s1", 2, 1).toByteArray());
        raw.pipeInput("s1", frame("s1", 2, 1).toByteArray());
        raw.pipeInput("other", frame("s1", 7, 1).toByteArray());

        List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
        List<String> reasons = dead.stream().map(r -> DeadLetters.header(r.headers(), DeadLetters.REASON)).toList();
        assertEquals(List.of("undecodable", "bad_shape", "incompatible", "sequence_not_increasing", "bad_shape"), reasons);
        assertTrue(DeadLetters.header(dead.get(2).headers(), DeadLetters.MESSAGE).contains("three channels"));
        assertEquals("frames.raw", DeadLetters.header(dead.get(0).headers(), DeadLetters.SOURCE_TOPIC));
        assertEquals(4, dead.get(0).value().length, "the original bytes are kept");
        assertEquals(1, out.readRecordsToList().size(), "the one good frame still flows");
        assertEquals(5, runtime.metrics().framesRejected());
    }

    @Test
    void sequenceGapsAreCountedPerStream() {
        raw.pipeInput("s1", frame("s1", 0, 1).toByteArray());
        raw.pipeInput("s1", frame("s1", 4, 1).toByteArray());
        raw.pipeInput("s2", frame("s2", 10, 1).toByteArray());
        assertEquals(3, out.readRecordsToList().size());
        var s1 = runtime.ledger().streams().get(0);
        assertEquals("s1", s1.getStreamId());
        assertEquals(3, s1.getDropped());
        assertEquals(4, s1.getLastSequence());
        assertEquals(0, runtime.ledger().streams().get(1).getDropped());
    }

    @Test
    void parametersAreValidatedAsAWholeAndAppliedToTheNextFrame() throws Exception {
        InvalidParameterException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidParameterException.class,
                () -> runtime.parameters().set(Map.of("gain", 11.0)));
        assertTrue(e.getMessage().contains("gain must be a number in [0, 10]"), e.getMessage());
        runtime.parameters().set(Map.of("gain", "3"));
        raw.pipeInput("s1", frame("s1", 0, 1).toByteArray());
        assertEquals(300f, FrameImages.image(Frame.parseFrom(out.readValue())).data()[0]);
    }

    @Test
    void aPausedStreamIsHeldAndReleasedInOrderOnResumeWhileOtherStreamsFlow() throws Exception {
        runtime.control().pauseStream("s1");
        raw.pipeInput("s1", frame("s1", 0, 1).toByteArray());
        raw.pipeInput("s2", frame("s2", 0, 1).toByteArray());
        raw.pipeInput("s1", frame("s1", 1, 1).toByteArray());
        List<TestRecord<String, byte[]>> during = out.readRecordsToList();
        assertEquals(List.of("s2"), during.stream().map(TestRecord::key).toList(), "only the running stream flows");
        assertEquals(2, runtime.control().parked("s1"));

        // Resumed: a frame that arrives before the release must still queue behind the held ones.
        runtime.control().resumeStream("s1");
        raw.pipeInput("s1", frame("s1", 2, 1).toByteArray());
        assertTrue(out.isEmpty(), "frame 2 waits behind frames 0 and 1");
        for (int i = 0; i < 3; i++) {
            driver.advanceWallClockTime(FrameProcessor.RELEASE_INTERVAL);
        }
        List<Long> released = out.readRecordsToList().stream().map(r -> sequenceOf(r.value())).toList();
        assertEquals(List.of(0L, 1L, 2L), released, "every held frame, once, in order");
        assertEquals(0, runtime.control().parked("s1"));
        assertTrue(dlq.isEmpty());
    }

    @Test
    void aPausedStreamHoldsFramesUpToItsLimitAndTheRestGoToTheDeadLetterTopicWithTheReason() throws Exception {
        byte[] first = frame("s1", 0, 1).toByteArray();
        // Room for two frames of this size (each stored with its 8-byte timestamp), not three.
        runtime.control().maxParkedBytes(2L * (first.length + Long.BYTES) + first.length / 2);
        runtime.control().pauseStream("s1");
        raw.pipeInput("s1", first);
        raw.pipeInput("s1", frame("s1", 1, 1).toByteArray());
        raw.pipeInput("s1", frame("s1", 2, 1).toByteArray());
        raw.pipeInput("s2", frame("s2", 0, 1).toByteArray());
        assertEquals(List.of("s2"), out.readRecordsToList().stream().map(TestRecord::key).toList());
        assertEquals(2, runtime.control().parked("s1"));
        List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
        assertEquals(1, dead.size());
        assertEquals(2L, sequenceOf(dead.get(0).value()), "the frame that did not fit, as it came");
        assertEquals("parked_limit", DeadLetters.header(dead.get(0).headers(), DeadLetters.REASON));
        assertTrue(DeadLetters.header(dead.get(0).headers(), DeadLetters.MESSAGE).contains("max-parked-bytes"));

        runtime.control().resumeStream("s1");
        for (int i = 0; i < 2; i++) {
            driver.advanceWallClockTime(FrameProcessor.RELEASE_INTERVAL);
        }
        assertEquals(List.of(0L, 1L), out.readRecordsToList().stream().map(r -> sequenceOf(r.value())).toList());
        assertEquals(0, runtime.control().parked("s1"));
        // Released: the stream has room again.
        runtime.control().pauseStream("s1");
        raw.pipeInput("s1", frame("s1", 3, 1).toByteArray());
        assertEquals(1, runtime.control().parked("s1"));
        assertTrue(dlq.isEmpty());
    }

    private static long sequenceOf(byte[] value) {
        try {
            return Frame.parseFrom(value).getSequence();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
