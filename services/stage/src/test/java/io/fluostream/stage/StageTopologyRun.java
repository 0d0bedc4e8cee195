package io.fluostream.stage;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.proto.Frame;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * Test support for the stage services: runs frames through a fresh {@link FrameTopology} of a stage
 * on {@link TopologyTestDriver} (no broker), keyed by their stream id, and returns what the stage
 * wrote to its output topic. A frame sent to the dead-letter topic fails the calling test.
 */
public final class StageTopologyRun {

    private StageTopologyRun() {
    }

    public static List<Frame> run(StageRuntime runtime, List<Frame> frames) throws Exception {
        String stage = runtime.identity().stage();
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, stage + "-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory(stage + "-tt").toString());
        try (TopologyTestDriver driver = new TopologyTestDriver(FrameTopology.build(runtime), p)) {
            TestInputTopic<String, byte[]> in = driver.createInputTopic(runtime.inputTopic(), Serdes.String().serializer(),
                    Serdes.ByteArray().serializer());
            TestOutputTopic<String, byte[]> out = driver.createOutputTopic(runtime.outputTopic(),
                    Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
            TestOutputTopic<String, byte[]> dlq = driver.createOutputTopic(runtime.deadLetterTopic(), Serdes.String().deserializer(),
                    Serdes.ByteArray().deserializer());
            for (Frame f : frames) {
                in.pipeInput(f.getStreamId(), f.toByteArray());
            }
            assertTrue(dlq.isEmpty(), "no frame may be dead-lettered");
            List<Frame> result = new ArrayList<>();
            for (byte[] value : out.readValuesToList()) {
                result.add(Frame.parseFrom(value));
            }
            return result;
        }
    }
}
