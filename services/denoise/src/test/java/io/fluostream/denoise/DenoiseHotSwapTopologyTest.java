package io.fluostream.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.protobuf.ByteString;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.denoise.BlindSpotTrainer;
import io.fluostream.learning.denoise.DenoiserDesign;
import io.fluostream.learning.denoise.InMemoryModelLog;
import io.fluostream.learning.denoise.ModelRecords;
import io.fluostream.learning.denoise.ModelRefusedException;
import io.fluostream.learning.denoise.ModelRegistry;
import io.fluostream.learning.denoise.Normalisation;
import io.fluostream.learning.denoise.OnlineTrainer;
import io.fluostream.learning.denoise.StreamDenoiser;
import io.fluostream.learning.denoise.TrainingOptions;
import io.fluostream.learning.denoise.TrainingSettings;
import io.fluostream.proto.Frame;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import io.fluostream.rig.SimulatedFrames;
import io.fluostream.stage.FrameTopology;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The denoise service's topology while models change under it (TopologyTestDriver): the classical
 * method serves until a model trained on the stream is activated, then output frames name the model
 * version and carry the uncertainty plane; a model that does not fit is refused and the one in force
 * keeps serving; rolling back returns to the previous choice — and every frame comes out exactly
 * once, in order.
 */
class DenoiseHotSwapTopologyTest {

    private static final String STREAM = "sim/pos0";

    private final SimulationSettings settings = SimulationSettings.defaults().withSize(64, 64).withPhotonLevel(10);
    private final ForwardModel model = new ForwardModel(settings, 0);
    private final InMemoryModelLog log = new InMemoryModelLog();
    private ModelRegistry registry;
    private DenoiseKernel kernel;
    private TopologyTestDriver driver;
    private TestInputTopic<String, byte[]> raw;
    private TestOutputTopic<String, byte[]> out;
    private int next;

    @BeforeEach
    void start() throws Exception {
        registry = new ModelRegistry("denoise", Device.cpu());
        log.subscribe(registry::apply);
        kernel = new DenoiseKernel(new StreamDenoiser("denoise", registry, log, "test-1"));
        StageRuntime runtime = new StageRuntime(kernel, new StageIdentity("denoise", "test", "test-1"),
                TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "denoise-hot-swap-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("denoise").toString());
        driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
        raw = driver.createInputTopic("frames.raw", Serdes.String().serializer(), Serdes.ByteArray().serializer());
        out = driver.createOutputTopic("frames.denoised", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        kernel.stopTraining();
        driver.close();
        kernel.denoiser().close();
    }

    /** Pipes the next frames and returns the provenance method of each output. */
    private List<String> pipe(int frames) throws Exception {
        List<String> methods = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            int t = next++;
            raw.pipeInput(STREAM, SimulatedFrames.toFrame(model, model.frame(t), STREAM, 1, 0).toByteArray());
            Frame f = Frame.parseFrom(out.readValue());
            assertEquals(t, f.getSequence(), "frames come out once each, in order");
            String method = f.getProvenance(0).getMethod();
            methods.add(method);
            boolean learned = !method.equals(StreamDenoiser.CLASSICAL_METHOD);
            assertEquals(learned, FrameImages.plane(f, "denoise.uncertainty").isPresent(),
                    "the uncertainty plane comes with learned frames");
            assertEquals(learned, f.containsFigures("denoise.uncertainty_mean_adu"));
        }
        assertTrue(out.isEmpty(), "one output per input");
        return methods;
    }

    @Test
    void classicalUntilActivatedThenTheModelVersionThenRollBack() throws Exception {
        TrainingOptions tiny = TrainingOptions.defaults().withNetwork(4, 1)
                .withTraining(new TrainingSettings(16, 2, 1e-3, 0.05, 2))
                .withSchedule(2, 1, 3, 1000, 3).withSampling(32, 1).withAutoActivate(false);
        kernel.startTraining(tiny);
        assertEquals(List.of("vst-wavelet", "vst-wavelet", "vst-wavelet", "vst-wavelet", "vst-wavelet", "vst-wavelet"),
                pipe(6));
        for (int i = 0; i < 600 && kernel.progress().versions() == 0; i++) {
            assertFalse(kernel.progress().state() == OnlineTrainer.State.FAILED, kernel.progress().message());
            Thread.sleep(100);
        }
        assertEquals(1, kernel.progress().versions(), kernel.progress().toString());
        assertEquals("n2v-unet/1", kernel.models().get(0).getName() + "/" + kernel.models().get(0).getVersion());
        // Published, not yet in force (auto-activation off): frames stay classical.
        assertEquals(List.of("vst-wavelet"), pipe(1));

        kernel.activate("n2v-unet/1");
        assertEquals(List.of("n2v-unet/1", "n2v-unet/1", "n2v-unet/1"), pipe(3));
        assertEquals("n2v-unet/1", kernel.activeModel());

        assertEquals("classical", kernel.rollBack());
        assertEquals(List.of("vst-wavelet", "vst-wavelet"), pipe(2));
    }

    @Test
    void aModelForOtherChannelsIsRefusedAndTheOneInForceKeepsServing() throws Exception {
        publishUntrained("n2v-unet", 1, settings.channels());
        publishUntrained("n2v-unet", 2, 2);
        pipe(1);
        kernel.activate("n2v-unet/1");
        assertEquals(List.of("n2v-unet/1", "n2v-unet/1"), pipe(2));

        ModelRefusedException e = assertThrows(ModelRefusedException.class, () -> kernel.activate("n2v-unet/2"));
        assertTrue(e.getMessage().contains("takes frames of 2 channel(s), the frame has 4"), e.getMessage());
        assertTrue(e.getMessage().contains("n2v-unet/1 keeps serving"), e.getMessage());
        assertEquals(List.of("n2v-unet/1", "n2v-unet/1"), pipe(2));

        // Even if an activation of it arrives from the model topic (another replica did not check),
        // this replica refuses it and keeps its model.
        log.publish(ModelRecords.activeKey("denoise"), ModelRecords.of(ModelRecords.activation("denoise", "n2v-unet/2", "test", "other")));
        assertTrue(registry.lastRefusal().orElse("").contains("refused n2v-unet/2"), registry.lastRefusal().toString());
        assertEquals(List.of("n2v-unet/1"), pipe(1));

        assertThrows(ModelRefusedException.class, () -> kernel.activate("n2v-unet/9"));
        assertThrows(ModelRefusedException.class, () -> kernel.activate("no-version"));
    }

    /** An untrained network's record, as the trainer would publish it. */
    private void publishUntrained(String name, int version, int channels) {
        DenoiserDesign design = new DenoiserDesign(channels, 0, 4, 1);
        Normalisation norm = new Normalisation(0f, 1f);
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, new TrainingSettings(16, 1, 1e-3, 0.05, 2), norm, Device.cpu(), 1)) {
            TrainedModel m = TrainedModel.newBuilder().setStage("denoise").setName(name).setVersion(version).setTraining("n2v")
                    .setFormat(WeightsFormat.WEIGHTS_DJL).setWeights(ByteString.copyFrom(t.weights()))
                    .setArchitecture(NetworkArchitecture.newBuilder().setFamily("unet").setChannels(channels).setBaseFeatures(4)
                            .setDepth(1).setFold(2).setInputShift(0f).setInputScale(1f))
                    .setCreatedAtUs(version).build();
            log.publish(ModelRecords.versionKey(m), ModelRecords.of(m));
        }
    }
}
