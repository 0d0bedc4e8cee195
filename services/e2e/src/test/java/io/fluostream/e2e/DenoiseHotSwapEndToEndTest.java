package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.protobuf.ByteString;
import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.Home;
import io.fluostream.cli.Stack;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.denoise.BlindSpotTrainer;
import io.fluostream.learning.denoise.DenoiserDesign;
import io.fluostream.learning.denoise.ModelRecords;
import io.fluostream.learning.denoise.Normalisation;
import io.fluostream.learning.denoise.TrainingSettings;
import io.fluostream.proto.Frame;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * A model hot-swap under load on a real broker, with the packaged services as processes: while a
 * rig streams frames, a model version and its activation are published to the model topic; the
 * denoise service must switch from the classical method to the model between two frames — every
 * frame exactly once on frames.denoised, in order, classical before the swap and the model after,
 * never back.
 */
class DenoiseHotSwapEndToEndTest {

    private static final int FRAMES = 30;

    @Test
    void modelSwapsInBetweenFramesWithNoFrameLostOrDoubled() throws Exception {
        TopicNames names = TopicNames.defaults();
        SimulationSettings sim = SimulationSettings.defaults().withSize(128, 128).withSeed(11);
        RigOptions rig = new RigOptions(1, FRAMES, 3, sim);
        Path runDir = Files.createTempDirectory("fluostream-e2e-swap");
        // Training off: the test publishes the model itself, at a moment it chooses.
        try (Stack stack = Stack.start(Home.locate(), runDir, Stack.Ports.free(), 1,
                Map.of("fluostream.denoise.train-on-start", "false"), System.out::println)) {
            CompletableFuture<RigSimulator.Published> streaming = CompletableFuture.supplyAsync(() -> {
                try {
                    return new RigSimulator(rig).publish(stack.bootstrap(), names.name(Topic.RAW), s -> { });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Map<Long, List<String>> methods = new TreeMap<>();
            try (FrameCollector c = new FrameCollector(stack.bootstrap(), List.of(names.name(Topic.DENOISED)))) {
                // Wait for the first frames to come through classically, then publish the model mid-stream.
                c.collect(r -> record(r.value(), methods), () -> methods.size() >= 5, Duration.ofSeconds(120));
                publishModel(stack.bootstrap(), names.name(Topic.MODELS), sim.channels());
                c.collect(r -> record(r.value(), methods), () -> methods.size() >= FRAMES, Duration.ofSeconds(120));
            }
            streaming.get();

            assertEquals(FRAMES, methods.size(), "every frame arrives: " + methods.keySet());
            List<String> order = new ArrayList<>();
            methods.forEach((seq, m) -> {
                assertEquals(1, m.size(), "frame " + seq + " arrived " + m.size() + " times");
                order.add(m.get(0));
            });
            int firstLearned = order.indexOf("n2v-unet/1");
            assertTrue(firstLearned > 0, "classical first, then the model: " + order);
            for (int i = 0; i < order.size(); i++) {
                assertEquals(i < firstLearned ? "vst-wavelet" : "n2v-unet/1", order.get(i), "frame " + i + " of " + order);
            }
        }
    }

    private static void record(byte[] value, Map<Long, List<String>> methods) {
        try {
            Frame f = Frame.parseFrom(value);
            methods.computeIfAbsent(f.getSequence(), k -> new ArrayList<>()).add(f.getProvenance(f.getProvenanceCount() - 1).getMethod());
            if (!f.getProvenance(f.getProvenanceCount() - 1).getMethod().equals("vst-wavelet")) {
                assertTrue(FrameImages.plane(f, "denoise.uncertainty").isPresent(), "learned frames carry the uncertainty plane");
            }
        } catch (Exception e) {
            throw new AssertionError("not a frame on frames.denoised", e);
        }
    }

    /** An untrained network of the stage's design: the swap, not the weights, is under test. */
    private static void publishModel(String bootstrap, String topic, int channels) throws Exception {
        DenoiserDesign design = new DenoiserDesign(channels, 0, 8, 1);
        byte[] weights;
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, TrainingSettings.defaults(), new Normalisation(0f, 1f), Device.cpu(), 1)) {
            weights = t.weights();
        }
        TrainedModel m = TrainedModel.newBuilder().setStage("denoise").setName("n2v-unet").setVersion(1).setTraining("n2v")
                .setFormat(WeightsFormat.WEIGHTS_DJL).setWeights(ByteString.copyFrom(weights))
                .setArchitecture(NetworkArchitecture.newBuilder().setFamily("unet").setChannels(channels).setBaseFeatures(8)
                        .setDepth(1).setFold(2).setInputShift(0f).setInputScale(1f))
                .setCreatedAtUs(System.currentTimeMillis() * 1000).setTrainedBy("e2e-test").build();
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(RigSimulator.producerConfig(bootstrap),
                new StringSerializer(), new ByteArraySerializer())) {
            p.send(new ProducerRecord<>(topic, ModelRecords.versionKey(m), ModelRecords.of(m).toByteArray())).get();
            p.send(new ProducerRecord<>(topic, ModelRecords.activeKey("denoise"), ModelRecords.of(
                    ModelRecords.activation("denoise", "n2v-unet/1", "e2e hot swap", "e2e-test")).toByteArray())).get();
        }
    }
}
