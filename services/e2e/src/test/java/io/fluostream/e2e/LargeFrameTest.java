package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineAudit;
import io.fluostream.cli.Stack;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.Frame;
import io.fluostream.proto.Pixels;
import io.fluostream.rig.RigSimulator;
import io.fluostream.rig.SimulatedFrames;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * Camera-sized frames through the whole pipeline: 2048×2048 with 1 and with 4 channels (8 and
 * 32 MiB raw). Raw frames travel inline (compressed); the float reconstructions, 16–64 MiB, go
 * through the claim-check blob store; every frame arrives once, intact, with the default heaps.
 */
class LargeFrameTest {

    private static final int SIZE = 2048;
    private static final int FRAMES = 2;

    @Test
    void cameraSizedFramesPassEveryStageExactlyOnce() throws Exception {
        TopicNames names = TopicNames.defaults();
        ForwardModel mono = new ForwardModel(SimulationSettings.defaults().withSize(SIZE, SIZE)
                .withChannelsAndFluorophores(1, 1), 0);
        ForwardModel four = new ForwardModel(SimulationSettings.defaults().withSize(SIZE, SIZE), 1);
        try (Stack stack = Stack.start(Home.locate(), Files.createTempDirectory("fluostream-large"), Stack.Ports.free(), 2,
                Map.of(), System.out::println)) {
            List<Frame> sent = new ArrayList<>();
            try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(RigSimulator.producerConfig(stack.bootstrap()),
                    new StringSerializer(), new ByteArraySerializer())) {
                for (int t = 0; t < FRAMES; t++) {
                    sent.add(SimulatedFrames.toFrame(mono, mono.frame(t), "large/mono", System.currentTimeMillis() * 1000, 0));
                    sent.add(SimulatedFrames.toFrame(four, four.frame(t), "large/four", System.currentTimeMillis() * 1000, 0));
                }
                for (Frame f : sent) {
                    p.send(new ProducerRecord<>(names.name(Topic.RAW), f.getStreamId(), f.toByteArray())).get();
                }
            }
            PipelineAudit audit = new PipelineAudit(names);
            List<ConsumerRecord<String, byte[]>> stabilised = new ArrayList<>();
            List<ConsumerRecord<String, byte[]>> raw = new ArrayList<>();
            try (FrameCollector c = new FrameCollector(stack.bootstrap(), audit.topics())) {
                c.collect(r -> {
                    audit.accept(r);
                    if (r.topic().equals(names.name(Topic.STABILISED))) {
                        stabilised.add(r);
                    } else if (r.topic().equals(names.name(Topic.RAW))) {
                        raw.add(r);
                    }
                }, () -> audit.complete(2 * FRAMES), Duration.ofSeconds(600));
            }
            for (Topic t : Topic.pipeline()) {
                assertEquals(Set.of(0L, 1L), audit.sequences(t, "large/mono"), "mono frames on " + names.name(t));
                assertEquals(Set.of(0L, 1L), audit.sequences(t, "large/four"), "4-channel frames on " + names.name(t));
                assertEquals(0, audit.duplicated(t), "duplicates on " + names.name(t));
            }
            assertTrue(audit.deadLetters().isEmpty(), "no frame rejected: " + audit.deadLetters());

            // The raw frames arrive bit for bit; the reconstructions come back from the blob store whole.
            for (ConsumerRecord<String, byte[]> r : raw) {
                Frame got = FrameImages.parse(r.value());
                Frame want = sent.stream().filter(f -> f.getStreamId().equals(got.getStreamId())
                        && f.getSequence() == got.getSequence()).findFirst().orElseThrow();
                assertArrayEquals(FrameImages.image(want).data(), FrameImages.image(got).data());
            }
            for (ConsumerRecord<String, byte[]> r : stabilised) {
                Frame f = FrameImages.parse(r.value());
                if (f.getStreamId().equals("large/four")) {
                    assertEquals(Pixels.PayloadCase.BLOB, f.getPixels().getPayloadCase(), "float 3x2048x2048 goes by claim check");
                    Image im = FrameImages.image(f);
                    assertEquals(3, im.channels());
                    assertEquals(SIZE, im.height());
                }
            }
        }
    }
}
