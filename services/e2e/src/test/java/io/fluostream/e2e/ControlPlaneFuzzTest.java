package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.PipelineStage;
import io.fluostream.cli.ctl.ControlClient;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.ActivateModelRequest;
import io.fluostream.proto.AdoptSpectraRequest;
import io.fluostream.proto.EstimateSpectraRequest;
import io.fluostream.proto.Frame;
import io.fluostream.proto.GetParametersRequest;
import io.fluostream.proto.GetStatusRequest;
import io.fluostream.proto.ListModelsRequest;
import io.fluostream.proto.LoadModelRequest;
import io.fluostream.proto.Matrix;
import io.fluostream.proto.ParameterSpec;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.Parameters;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.SetSpectraRequest;
import io.fluostream.proto.StageControlGrpc.StageControlBlockingStub;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.proto.StopTrainingRequest;
import io.fluostream.proto.TrainingProgressRequest;
import io.fluostream.rig.RigSimulator;
import io.fluostream.rig.SimulatedFrames;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gRPC control API of every stage under random and out-of-range requests (issue 9): each call
 * is answered with a status that says what was wrong (never UNKNOWN, INTERNAL or a hang), nothing
 * invalid changes a stage's parameters, and frames still flow through all four stages afterwards.
 *
 * <p>Requests are drawn from a fixed seed so a failure can be replayed; the seed and the call are
 * in every assertion message.
 */
@ExtendWith(SharedPipeline.class)
// Last of the classes on the shared pipeline (junit-platform.properties): it leaves it as it found it.
@Order(Integer.MAX_VALUE - 6)
class ControlPlaneFuzzTest {

    private static final long SEED = 20261125L;
    private static final int CALLS_PER_STAGE = 60;
    /** Answers that name what was wrong; anything else (UNKNOWN, INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED) fails. */
    private static final Set<Status.Code> CLEAR_REFUSALS = EnumSet.of(Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND,
            Status.Code.UNIMPLEMENTED, Status.Code.FAILED_PRECONDITION, Status.Code.OUT_OF_RANGE, Status.Code.ALREADY_EXISTS,
            Status.Code.RESOURCE_EXHAUSTED);

    private final SharedPipeline.Running pipeline = SharedPipeline.get();

    @Test
    void randomAndOutOfRangeRequestsAreRefusedClearlyAndFramesStillFlow() throws Exception {
        Random random = new Random(SEED);
        for (PipelineStage stage : PipelineStage.values()) {
            try (ControlClient client = ControlClient.connect("localhost:" + pipeline.grpc(stage), pipeline.token(), false, null,
                    Duration.ofSeconds(30))) {
                StageControlBlockingStub stub = client.stub();
                // An earlier class may have just stopped a replica: let the stage settle first.
                awaitRunning(stub, stage);
                Parameters before = stub.getParameters(GetParametersRequest.getDefaultInstance());
                List<String> fuzzStreams = new ArrayList<>();
                Map<String, Integer> answers = new TreeMap<>();
                for (int i = 0; i < CALLS_PER_STAGE; i++) {
                    Call call = randomCall(random, before.getSpecsList(), fuzzStreams);
                    String where = stage.id() + " call " + i + " (seed " + SEED + "): " + call.what;
                    try {
                        call.run.apply(stub);
                        answers.merge("OK", 1, Integer::sum);
                        assertTrue(call.mayBeAccepted, where + " was accepted");
                    } catch (StatusRuntimeException e) {
                        Status.Code code = e.getStatus().getCode();
                        answers.merge(code.name(), 1, Integer::sum);
                        assertTrue(CLEAR_REFUSALS.contains(code), where + " answered " + e.getStatus());
                        String description = e.getStatus().getDescription();
                        assertTrue(description != null && !description.isBlank(), where + " refused without a reason: " + code);
                    }
                }
                System.out.println("control fuzz " + stage.id() + ": " + answers);
                for (String s : fuzzStreams) {
                    stub.resume(ResumeRequest.newBuilder().setStreamId(s).build());
                }
                quietly(() -> stub.stopTraining(StopTrainingRequest.getDefaultInstance()));
                assertEquals(before.getValuesMap(), stub.getParameters(GetParametersRequest.getDefaultInstance()).getValuesMap(),
                        stage.id() + ": invalid requests changed the parameters");
                awaitRunning(stub, stage);
            }
        }
        assertFramesStillReachTheLastStage();
    }

    private static void awaitRunning(StageControlBlockingStub stub, PipelineStage stage) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String state = "";
        while (System.nanoTime() < deadline) {
            state = stub.getStatus(GetStatusRequest.getDefaultInstance()).getState().name();
            if (state.equals("RUNNING")) {
                return;
            }
            Thread.sleep(250);
        }
        fail(stage.id() + " is " + state + ", not RUNNING after 90 s");
    }

    /** One request, whether a valid-looking one may be accepted, and a line saying what it was. */
    private record Call(String what, boolean mayBeAccepted, Function<StageControlBlockingStub, Object> run) {
    }

    private static Call randomCall(Random random, List<ParameterSpec> specs, List<String> fuzzStreams) {
        switch (random.nextInt(12)) {
            case 0, 1, 2 -> {
                SetParametersRequest r = invalidParameters(random, specs);
                return new Call("SetParameters " + shortText(r.toString()), false, s -> s.setParameters(r));
            }
            case 3 -> {
                String stream = "fuzz/" + random.nextInt(1_000_000);
                fuzzStreams.add(stream);
                // Pausing a stream that has no frames yet is allowed (it holds them when they come); resumed below.
                return new Call("Pause " + stream, true, s -> s.pause(PauseRequest.newBuilder().setStreamId(stream).build()));
            }
            case 4 -> {
                SetReferenceRequest.Builder r = SetReferenceRequest.newBuilder().setStreamId(randomText(random, 40));
                if (random.nextBoolean()) {
                    r.setFrame(ByteString.copyFrom(randomBytes(random, random.nextInt(4096))));
                } else {
                    r.setSequence(Long.MAX_VALUE - random.nextInt(10));
                }
                return new Call("SetReference with a random frame or sequence", r.hasSequence(), s -> s.setReference(r.build()));
            }
            case 5 -> {
                SetSpectraRequest r = SetSpectraRequest.newBuilder().setSpectra(invalidMatrix(random)).build();
                return new Call("SetSpectra " + shortText(r.getSpectra().toString()), false, s -> s.setSpectra(r));
            }
            case 6 -> {
                EstimateSpectraRequest r = EstimateSpectraRequest.newBuilder().setStreamId(randomText(random, 30))
                        .setComponents(1000 + random.nextInt(100_000)).setFrames(Integer.MAX_VALUE).build();
                return new Call("EstimateSpectra " + shortText(r.toString()), false, s -> s.estimateSpectra(r));
            }
            case 7 -> {
                AdoptSpectraRequest r = AdoptSpectraRequest.newBuilder().setCandidateId(randomText(random, 20))
                        .setSpectra(invalidMatrix(random)).build();
                return new Call("AdoptSpectra of an unknown candidate", false, s -> s.adoptSpectra(r));
            }
            case 8 -> {
                StartTrainingRequest r = StartTrainingRequest.newBuilder().setStreamId(randomText(random, 30))
                        .setSteps(Integer.MAX_VALUE).putOptions(randomText(random, 12), ParameterValue.newBuilder()
                                .setNumber(Double.NaN).build()).build();
                return new Call("StartTraining " + shortText(r.toString()), false, s -> s.startTraining(r));
            }
            case 9 -> {
                ActivateModelRequest r = ActivateModelRequest.newBuilder().setModelId(randomText(random, 24)).build();
                return new Call("ActivateModel of an unknown model", false, s -> s.activateModel(r));
            }
            case 10 -> {
                LoadModelRequest r = LoadModelRequest.newBuilder().setPath("/nonexistent/" + randomText(random, 16) + ".pt")
                        .setActivate(true).build();
                return new Call("LoadModel of a missing file", false, s -> s.loadModel(r));
            }
            default -> {
                // Read-only calls with no arguments: served or UNIMPLEMENTED, never a failure.
                return random.nextBoolean()
                        ? new Call("TrainingProgress", true, s -> s.trainingProgress(TrainingProgressRequest.getDefaultInstance()))
                        : new Call("ListModels", true, s -> s.listModels(ListModelsRequest.getDefaultInstance()));
            }
        }
    }

    /** A parameter change no stage may accept: an unknown name, a value out of range, of the wrong type, or not a number. */
    private static SetParametersRequest invalidParameters(Random random, List<ParameterSpec> specs) {
        SetParametersRequest.Builder r = SetParametersRequest.newBuilder();
        if (specs.isEmpty() || random.nextInt(4) == 0) {
            return r.putValues("no_such_" + randomText(random, 8), ParameterValue.newBuilder().setNumber(random.nextGaussian()).build())
                    .build();
        }
        ParameterSpec spec = specs.get(random.nextInt(specs.size()));
        ParameterValue value = switch (spec.getType()) {
            case "number", "integer" -> switch (random.nextInt(5)) {
                case 0 -> ParameterValue.newBuilder().setNumber(Double.NaN).build();
                case 1 -> ParameterValue.newBuilder().setNumber(Double.POSITIVE_INFINITY).build();
                case 2 -> ParameterValue.newBuilder().setNumber(spec.getMax() + 1 + Math.abs(spec.getMax()) * 1e6).build();
                case 3 -> ParameterValue.newBuilder().setNumber(spec.getMin() - 1 - Math.abs(spec.getMin()) * 1e6).build();
                default -> ParameterValue.newBuilder().setText("twelve").build();
            };
            case "text" -> spec.getChoicesCount() > 0
                    ? ParameterValue.newBuilder().setText("not-one-of-" + randomText(random, 6)).build()
                    : ParameterValue.newBuilder().setMatrix(invalidMatrix(random)).build();
            case "flag" -> ParameterValue.newBuilder().setText(randomText(random, 5) + "?").build();
            default -> ParameterValue.newBuilder().setMatrix(invalidMatrix(random)).build();
        };
        return r.putValues(spec.getName(), value).build();
    }

    /** A matrix no stage can use: its values don't fill rows × cols, or they are negative or not finite. */
    private static Matrix invalidMatrix(Random random) {
        int rows = 1 + random.nextInt(5);
        int cols = 1 + random.nextInt(5);
        Matrix.Builder m = Matrix.newBuilder().setRows(rows).setCols(cols);
        int kind = random.nextInt(3);
        int n = kind == 0 ? rows * cols + 1 + random.nextInt(3) : rows * cols;
        for (int i = 0; i < n; i++) {
            m.addValues(random.nextDouble());
        }
        if (kind == 1) {
            m.setValues(random.nextInt(n), -1 - random.nextDouble());
        } else if (kind == 2) {
            m.setValues(random.nextInt(n), random.nextBoolean() ? Double.NaN : Double.NEGATIVE_INFINITY);
        }
        return m.build();
    }

    private static String randomText(Random random, int maxLength) {
        int n = 1 + random.nextInt(maxLength);
        StringBuilder b = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            // Printable ASCII with some controls and non-ASCII mixed in.
            int kind = random.nextInt(10);
            b.append(kind == 0 ? (char) random.nextInt(32) : kind == 1 ? (char) (0x80 + random.nextInt(0x700))
                    : (char) (33 + random.nextInt(94)));
        }
        String s = b.toString();
        return s.equals("*") ? "**" : s;
    }

    private static byte[] randomBytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static String shortText(String s) {
        String line = s.replace('\n', ' ');
        return line.length() > 160 ? line.substring(0, 160) + "..." : line;
    }

    private static void quietly(Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            if (!CLEAR_REFUSALS.contains(e.getStatus().getCode())) {
                fail("StopTraining answered " + e.getStatus());
            }
        }
    }

    /** A new stream after the fuzzing reaches frames.flow complete: the stages are still working. */
    private void assertFramesStillReachTheLastStage() throws Exception {
        String stream = "fuzz/after";
        int frames = 4;
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(48, 48).withSeed(17), 0);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(RigSimulator.producerConfig(pipeline.stack.bootstrap()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int t = 0; t < frames; t++) {
                Frame f = SimulatedFrames.toFrame(model, model.frame(t), stream, System.currentTimeMillis() * 1000, 0);
                producer.send(new ProducerRecord<>(pipeline.names.name(Topic.RAW), stream, f.toByteArray()));
            }
            producer.flush();
        }
        Set<Long> arrived = new TreeSet<>();
        try (FrameCollector c = new FrameCollector(pipeline.stack.bootstrap(), List.of(pipeline.names.name(Topic.FLOW)))) {
            c.collect((ConsumerRecord<String, byte[]> r) -> {
                if (stream.equals(r.key())) {
                    try {
                        arrived.add(Frame.parseFrom(r.value()).getSequence());
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
            }, () -> arrived.size() >= frames, Duration.ofSeconds(120));
        }
        assertEquals(Set.of(0L, 1L, 2L, 3L), arrived, "frames of a new stream on frames.flow after the fuzzing");
    }
}
