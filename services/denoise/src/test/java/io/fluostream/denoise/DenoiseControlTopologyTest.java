package io.fluostream.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.google.protobuf.ByteString;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.denoise.BlindSpotTrainer;
import io.fluostream.learning.denoise.DenoiserDesign;
import io.fluostream.learning.denoise.InMemoryModelLog;
import io.fluostream.learning.denoise.ModelRecords;
import io.fluostream.learning.denoise.ModelRegistry;
import io.fluostream.learning.denoise.Normalisation;
import io.fluostream.learning.denoise.StreamDenoiser;
import io.fluostream.learning.denoise.TrainingSettings;
import io.fluostream.proto.ActivateModelRequest;
import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.Frame;
import io.fluostream.proto.ListModelsRequest;
import io.fluostream.proto.LoadModelRequest;
import io.fluostream.proto.ModelInfo;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.proto.StopTrainingRequest;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.TrainingProgressRequest;
import io.fluostream.proto.WeightsFormat;
import io.fluostream.rig.SimulatedFrames;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.FrameTopology;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.control.CommandApplier;
import io.fluostream.stage.control.ControlKeys;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The denoise stage's control calls on two replicas (TopologyTestDriver each, sharing one model log
 * as the model topic would): StartTraining trains on the replica that took the call only,
 * TrainingProgress reports step, loss and validation, ListModels lists the versions, ActivateModel
 * puts a version — or the previous one, or the classical method — in force on every replica, LoadModel
 * imports a file; a call no replica could apply is refused (INVALID_ARGUMENT in gRPC) and the model
 * in force keeps serving. Changing calls go the way the control plane sends them: checked on the
 * called replica, then applied by every replica in order (as {@link CommandApplier} does for
 * commands read from the control topic).
 */
class DenoiseControlTopologyTest {

    private static final String STREAM = "sim/pos0";

    private final SimulationSettings settings = SimulationSettings.defaults().withSize(64, 64).withPhotonLevel(10);
    private final ForwardModel model = new ForwardModel(settings, 0);
    private final InMemoryModelLog log = new InMemoryModelLog();
    private final List<Replica> replicas = new ArrayList<>();
    private Replica first;
    private Replica second;
    private int next;

    @TempDir
    Path dir;

    /** One stage replica: its own registry, kernel, runtime and topology. */
    private final class Replica {
        final String instance;
        final ModelRegistry registry;
        final DenoiseKernel kernel;
        final StageRuntime runtime;
        final CommandApplier applier;
        final TopologyTestDriver driver;
        final TestInputTopic<String, byte[]> raw;
        final TestOutputTopic<String, byte[]> out;

        Replica(String instance) throws Exception {
            this.instance = instance;
            registry = new ModelRegistry("denoise", Device.cpu());
            log.subscribe(registry::apply);
            kernel = new DenoiseKernel(new StreamDenoiser("denoise", registry, log, instance));
            runtime = new StageRuntime(kernel, new StageIdentity("denoise", "test", instance), TopicNames.defaults(),
                    new SimpleMeterRegistry(), Map.of());
            applier = new CommandApplier(runtime, new CommandApplier.StagePause() {
                @Override
                public void pause() {
                }

                @Override
                public void resume() {
                }
            });
            Properties p = new Properties();
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, "denoise-control-test-" + instance);
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
            p.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("denoise-" + instance).toString());
            driver = new TopologyTestDriver(FrameTopology.build(runtime), p);
            raw = driver.createInputTopic("frames.raw", Serdes.String().serializer(), Serdes.ByteArray().serializer());
            out = driver.createOutputTopic("frames.denoised", Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
        }
    }

    @BeforeEach
    void start() throws Exception {
        first = new Replica("denoise-1");
        second = new Replica("denoise-2");
        replicas.add(first);
        replicas.add(second);
    }

    @AfterEach
    void stop() {
        for (Replica r : replicas) {
            r.kernel.stopTraining();
            r.driver.close();
            r.kernel.denoiser().close();
        }
    }

    /**
     * A control call taken by {@code called}: read-only calls are answered there; changing ones are
     * checked there, then applied by every replica in control-topic order. Returns the called
     * replica's reply.
     */
    private StageReply call(Replica called, StageCommand command) {
        if (ControlKeys.readOnly(command.getCallCase())) {
            return called.applier.applyToKernel(command, new CommandContext("", "test", called.instance, false, true),
                    StageReply.newBuilder());
        }
        called.kernel.check(command);
        ControlCommand c = ControlCommand.newBuilder().setId(UUID.randomUUID().toString()).setStage("denoise")
                .setPrincipal("test").setOriginInstance(called.instance).setStageCommand(command).build();
        ControlKeys.key(c); // every changing call has a control-topic key
        StageReply answer = null;
        for (Replica r : replicas) {
            StageReply reply = r.applier.apply(c, new CommandContext(c.getId(), "test", r.instance, false, false,
                    c.getOriginInstance()));
            if (r == called) {
                answer = reply;
            }
        }
        return answer;
    }

    /** Pipes the next frame of the stream to every replica and returns the provenance method of each output. */
    private List<String> pipe(int frames) throws Exception {
        List<String> methods = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            int t = next++;
            byte[] frame = SimulatedFrames.toFrame(model, model.frame(t), STREAM, 1, 0).toByteArray();
            for (Replica r : replicas) {
                r.raw.pipeInput(STREAM, frame);
                Frame f = Frame.parseFrom(r.out.readValue());
                assertEquals(t, f.getSequence(), "frames come out once each, in order");
                methods.add(r.instance + ":" + f.getProvenance(0).getMethod());
                assertTrue(r.out.isEmpty(), "one output per input");
            }
        }
        return methods;
    }

    /** What every replica wrote for {@code frames} frames when all serve {@code method}. */
    private List<String> everywhere(int frames, String method) {
        List<String> methods = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            for (Replica r : replicas) {
                methods.add(r.instance + ":" + method);
            }
        }
        return methods;
    }

    private static StageCommand startTraining(long steps, Map<String, ParameterValue> options) {
        return StageCommand.newBuilder().setStartTraining(StartTrainingRequest.newBuilder().setSteps((int) steps)
                .putAllOptions(options)).build();
    }

    private static StageCommand activate(String id) {
        return StageCommand.newBuilder().setActivateModel(ActivateModelRequest.newBuilder().setModelId(id)).build();
    }

    private static StageCommand loadModel(Path path, boolean activate) {
        return StageCommand.newBuilder().setLoadModel(LoadModelRequest.newBuilder().setPath(path.toString())
                .setActivate(activate)).build();
    }

    private static final StageCommand PROGRESS = StageCommand.newBuilder()
            .setTrainingProgress(TrainingProgressRequest.getDefaultInstance()).build();
    private static final StageCommand LIST = StageCommand.newBuilder().setListModels(ListModelsRequest.getDefaultInstance()).build();

    private static ParameterValue integer(long v) {
        return ParameterValue.newBuilder().setInteger(v).build();
    }

    private static ParameterValue number(double v) {
        return ParameterValue.newBuilder().setNumber(v).build();
    }

    private static ParameterValue text(String v) {
        return ParameterValue.newBuilder().setText(v).build();
    }

    private static ParameterValue flag(boolean v) {
        return ParameterValue.newBuilder().setFlag(v).build();
    }

    /** A tiny network and budget: 3 steps on 16-px patches of 32-px crops, one version, not activated by itself. */
    private static Map<String, ParameterValue> tinyTraining() {
        return Map.ofEntries(Map.entry("base_features", integer(4)), Map.entry("depth", integer(1)),
                Map.entry("patch_size", integer(16)), Map.entry("batch_size", integer(2)),
                Map.entry("mask_fraction", number(0.05)), Map.entry("crop_size", integer(32)),
                Map.entry("sample_every", integer(1)), Map.entry("min_crops", integer(2)),
                Map.entry("held_out_crops", integer(1)), Map.entry("first_version_steps", integer(3)),
                Map.entry("steps_per_version", integer(1000)), Map.entry("auto_activate", flag(false)));
    }

    private static double value(StageReply r, String name) {
        ParameterValue v = r.getValuesOrThrow(name);
        return v.getKindCase() == ParameterValue.KindCase.INTEGER ? v.getInteger() : v.getNumber();
    }

    @Test
    void trainingRunsOnTheCalledReplicaAndEveryReplicaSwitchesVersions() throws Exception {
        Map<String, ParameterValue> options = new java.util.HashMap<>(tinyTraining());
        options.put("batch_size", text("2"));
        options.put("auto_activate", text("false"));
        StageReply started = call(first, startTraining(3, options));
        assertTrue(started.getTraining().getRunning(), started.toString());
        assertEquals(3, started.getTraining().getSteps());
        assertEquals("n2v-unet", started.getTraining().getModelId());
        assertEquals("idle", call(second, PROGRESS).getValuesOrThrow("state").getText(),
                "one trainer: the replica that took the call");

        assertEquals(everywhere(6, "vst-wavelet"), pipe(6), "the classical method serves until a version is in force");
        StageReply progress = call(first, PROGRESS);
        for (int i = 0; i < 600 && (value(progress, "versions") == 0 || progress.getTraining().getRunning()); i++) {
            assertNotEquals("failed", progress.getValuesOrThrow("state").getText(), progress.getMessage());
            Thread.sleep(100);
            progress = call(first, PROGRESS);
        }
        assertEquals(1, value(progress, "versions"), progress.toString());
        assertEquals(3, progress.getTraining().getStep());
        assertTrue(progress.getTraining().getLoss() > 0, "training loss reported: " + progress);
        assertTrue(value(progress, "validation_loss") > 0, "held-out loss reported: " + progress);
        assertEquals("n2v-unet/1", progress.getTraining().getModelId());
        assertFalse(progress.getTraining().getRunning(), "the run stops after its 3 steps");

        // Any replica lists what the trainer published (the model topic reaches them all).
        StageReply models = call(second, LIST);
        assertEquals(List.of("classical", "n2v-unet/1"), models.getModelsList().stream().map(ModelInfo::getId).toList());
        assertTrue(models.getModels(0).getActive());
        ModelInfo trained = models.getModels(1);
        assertFalse(trained.getActive());
        assertEquals(3.0, trained.getMetricsOrThrow("steps"));
        assertEquals(value(progress, "validation_loss"), trained.getMetricsOrThrow("validation_loss"), 1e-12);
        assertTrue(trained.getSource().startsWith("n2v by denoise-1"), trained.getSource());
        assertEquals(everywhere(1, "vst-wavelet"), pipe(1), "published, not in force (auto-activation off)");

        // Activated through the second replica: both serve it from their next frame.
        StageReply activated = call(second, activate("n2v-unet/1"));
        assertTrue(activated.getMessage().contains("n2v-unet/1 published as the version in force (classical served before)"),
                activated.getMessage());
        assertEquals(everywhere(2, "n2v-unet/1"), pipe(2));
        for (Replica r : replicas) {
            assertEquals("n2v-unet/1", r.kernel.modelVersion());
        }

        // Roll back through the first replica: the classical method again, everywhere.
        StageReply rolledBack = call(first, activate("previous"));
        assertEquals("classical", rolledBack.getValuesOrThrow("active").getText(), rolledBack.getMessage());
        assertEquals(everywhere(2, "vst-wavelet"), pipe(2));
        assertEquals("", second.kernel.modelVersion());

        StageReply stopped = call(first, StageCommand.newBuilder().setStopTraining(StopTrainingRequest.getDefaultInstance()).build());
        assertFalse(stopped.getTraining().getRunning());
        assertEquals(3, stopped.getTraining().getStep());
    }

    @Test
    void callsNoReplicaCouldApplyAreRefusedAndTheModelInForceKeepsServing() throws Exception {
        pipe(1);
        InvalidCommandException e = assertThrows(InvalidCommandException.class,
                () -> call(first, startTraining(0, Map.of("learning_speed", number(2)))));
        assertTrue(e.getMessage().contains("unknown StartTraining option(s) [learning_speed]; known: [temporal_context"), e.getMessage());
        e = assertThrows(InvalidCommandException.class, () -> call(first, startTraining(0, Map.of("batch_size", integer(0)))));
        assertTrue(e.getMessage().contains("batch size must be 1..256, got 0"), e.getMessage());
        e = assertThrows(InvalidCommandException.class, () -> call(first, startTraining(0, Map.of("auto_activate", integer(1)))));
        assertTrue(e.getMessage().contains("auto_activate must be true or false"), e.getMessage());
        // As ./fluostream ctl sends them: text, read as numbers and flags.
        e = assertThrows(InvalidCommandException.class, () -> call(first, startTraining(0, Map.of("learning_rate", text("2")))));
        assertTrue(e.getMessage().contains("learning rate must be in (0, 1), got 2.0"), e.getMessage());
        e = assertThrows(InvalidCommandException.class, () -> call(first, startTraining(0, Map.of("depth", text("two")))));
        assertTrue(e.getMessage().contains("depth must be a whole number"), e.getMessage());
        assertEquals("idle", call(first, PROGRESS).getValuesOrThrow("state").getText(), "nothing started");

        e = assertThrows(InvalidCommandException.class, () -> call(first, activate("previous")));
        assertTrue(e.getMessage().contains("nothing to roll back to"), e.getMessage());
        e = assertThrows(InvalidCommandException.class, () -> call(first, activate("n2v-unet/9")));
        assertTrue(e.getMessage().contains("no model n2v-unet/9 on the model log"), e.getMessage());
        assertThrows(InvalidCommandException.class, () -> call(first, activate("")));

        // A model of the frames' shape is loaded from a file and put in force on every replica.
        Path fits = exported(settings.channels());
        StageReply loaded = call(second, loadModel(fits, true));
        assertEquals("n2v-unet/1", loaded.getValuesOrThrow("model_id").getText(), loaded.getMessage());
        assertEquals(everywhere(2, "n2v-unet/1"), pipe(2));

        // Misfits and broken files: INVALID_ARGUMENT with the reason, nothing published, the model stays.
        int records = log.records().size();
        e = assertThrows(InvalidCommandException.class, () -> call(first, loadModel(exported(2), true)));
        assertTrue(e.getMessage().contains("takes frames of 2 channel(s), the frame has 4"), e.getMessage());
        assertTrue(e.getMessage().contains("n2v-unet/1 keeps serving"), e.getMessage());
        Path broken = dir.resolve("broken.pt");
        Files.write(broken, new byte[] {'P', 'K', 3, 4, 0, 0, 0});
        e = assertThrows(InvalidCommandException.class, () -> call(first, loadModel(broken, true)));
        assertTrue(e.getMessage().contains("n2v-unet/1 keeps serving"), e.getMessage());
        e = assertThrows(InvalidCommandException.class, () -> call(first, loadModel(dir.resolve("missing.pt"), true)));
        assertTrue(e.getMessage().contains("cannot read model file"), e.getMessage());
        assertThrows(InvalidCommandException.class, () -> call(first, loadModel(Path.of(" "), true)));
        assertEquals(records, log.records().size(), "a refused call publishes nothing");
        assertEquals(everywhere(2, "n2v-unet/1"), pipe(2));
    }

    @Test
    void commandsReplayedAfterARestartChangeNothing() throws Exception {
        pipe(1);
        CommandContext replayed = new CommandContext("c", "test", first.instance, true, false, first.instance);
        StageReply r = first.kernel.apply(startTraining(3, tinyTraining()), replayed);
        assertTrue(r.getMessage().contains("not started again"), r.getMessage());
        assertEquals("idle", call(first, PROGRESS).getValuesOrThrow("state").getText());
        first.kernel.apply(activate("classical"), replayed);
        assertEquals(0, log.records().size(), "the model topic already holds what a replayed command did");
    }

    /** A FluoStream model record with an untrained network for {@code channels}, as exported to a file. */
    private Path exported(int channels) throws Exception {
        DenoiserDesign design = new DenoiserDesign(channels, 0, 4, 1);
        try (BlindSpotTrainer t = new BlindSpotTrainer(design, new TrainingSettings(16, 1, 1e-3, 0.05, 2),
                new Normalisation(0f, 1f), Device.cpu(), 1)) {
            TrainedModel m = TrainedModel.newBuilder().setStage("denoise").setName("n2v-unet").setVersion(7).setTraining("n2v")
                    .setFormat(WeightsFormat.WEIGHTS_DJL).setWeights(ByteString.copyFrom(t.weights()))
                    .setArchitecture(NetworkArchitecture.newBuilder().setFamily("unet").setChannels(channels).setBaseFeatures(4)
                            .setDepth(1).setFold(2).setInputShift(0f).setInputScale(1f))
                    .build();
            Path file = dir.resolve("model-" + channels + "ch.pb");
            Files.write(file, m.toByteArray());
            return file;
        }
    }
}
