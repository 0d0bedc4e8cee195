package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.fluostream.cli.FluoStream;
import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.PipelineStage;
import io.fluostream.cli.Stack;
import io.fluostream.cli.ctl.ControlClient;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.AuditEntry;
import io.fluostream.proto.CommandReceipt;
import io.fluostream.proto.Frame;
import io.fluostream.proto.GetParametersRequest;
import io.fluostream.proto.GetStatusRequest;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.Parameters;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.Provenance;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.StageControlGrpc.StageControlBlockingStub;
import io.fluostream.proto.StageStatus;
import io.fluostream.proto.StreamStatus;
import io.fluostream.rig.RigSimulator;
import io.fluostream.rig.SimulatedFrames;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The control plane on two replicas of denoise (separate processes, one partition of frames.raw
 * each): a call taken by one replica changes what every replica does, a paused stream is held by
 * whichever replica owns it and released in order, commands survive a restart, calls without a
 * valid token are refused, and every call is audited.
 */
@ExtendWith(SharedPipeline.class)
// After the classes that start their own stack, so two stacks never run at once (junit-platform.properties).
@Order(Integer.MAX_VALUE - 9)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneEndToEndTest {

    private static final int PARTITIONS = 2;
    private static SharedPipeline.Running pipeline;
    private static Stack.Replica second;
    private static ControlClient first;
    private static ControlClient other;
    private static String hashBefore;
    private static final ForwardModel MODEL = new ForwardModel(SimulationSettings.defaults().withSize(48, 48).withSeed(9), 0);

    @BeforeAll
    static void startASecondReplica() throws Exception {
        pipeline = SharedPipeline.get();
        hashBefore = denoiseProvenance(List.of()).stream().map(Provenance::getParameterHash).findFirst().orElseThrow();
        second = pipeline.stack.startReplica(PipelineStage.DENOISE, Duration.ofSeconds(180));
        first = client(pipeline.grpc(PipelineStage.DENOISE), pipeline.token());
        other = client(second.grpcPort(), pipeline.token());
        // Both replicas in the group, each running its share of the partitions.
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            StageStatus a = first.stub().getStatus(GetStatusRequest.getDefaultInstance());
            StageStatus b = other.stub().getStatus(GetStatusRequest.getDefaultInstance());
            if (a.getState().name().equals("RUNNING") && b.getState().name().equals("RUNNING") && b.getLag() >= 0 && a.getLag() >= 0) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the two denoise replicas did not both run");
    }

    @AfterAll
    static void putThePipelineBack() throws Exception {
        if (first != null) {
            first.stub().setParameters(set("strength", "1"));
            first.stub().resume(ResumeRequest.newBuilder().setStreamId(stream(0)).build());
            first.stub().resume(ResumeRequest.newBuilder().setStreamId("held-over-restart").build());
            first.close();
        }
        if (other != null) {
            other.close();
        }
        if (second != null) {
            second.process().stop(30);
        }
    }

    private static ControlClient client(int port, String token) throws Exception {
        return ControlClient.connect("localhost:" + port, token, false, null, Duration.ofSeconds(30));
    }

    private static SetParametersRequest set(String name, String value) {
        return SetParametersRequest.newBuilder().putValues(name, ParameterValue.newBuilder().setText(value).build()).build();
    }

    /** A stream id whose frames land on partition {@code p} of frames.raw (the default partitioner). */
    private static String stream(int p) {
        for (int i = 0; ; i++) {
            String id = "ctl/pos" + i;
            if (Utils.toPositive(Utils.murmur2(id.getBytes(StandardCharsets.UTF_8))) % PARTITIONS == p) {
                return id;
            }
        }
    }

    private static void publish(String stream, int from, int count) throws Exception {
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(RigSimulator.producerConfig(pipeline.stack.bootstrap()),
                new StringSerializer(), new ByteArraySerializer())) {
            for (int t = from; t < from + count; t++) {
                Frame f = SimulatedFrames.toFrame(MODEL, MODEL.frame(t), stream, System.currentTimeMillis() * 1000, 0);
                producer.send(new ProducerRecord<>(pipeline.names.name(Topic.RAW), stream, f.toByteArray()));
            }
            producer.flush();
        }
    }

    /** denoise's provenance of the frames on frames.denoised, for the given streams (all when empty). */
    private static List<Provenance> denoiseProvenance(List<String> streams) throws Exception {
        return denoised(streams, 0, Duration.ofSeconds(3)).stream()
                .map(f -> f.getProvenanceList().stream().filter(p -> p.getStage().equals("denoise")).findFirst().orElseThrow())
                .toList();
    }

    /** Frames of the given streams on frames.denoised, reading until {@code expected} arrived or nothing came for idle. */
    private static List<Frame> denoised(List<String> streams, int expected, Duration idle) throws Exception {
        List<Frame> out = new ArrayList<>();
        try (FrameCollector c = new FrameCollector(pipeline.stack.bootstrap(), List.of(pipeline.names.name(Topic.DENOISED)))) {
            c.collect((ConsumerRecord<String, byte[]> r) -> {
                try {
                    Frame f = Frame.parseFrom(r.value());
                    if (streams.isEmpty() || streams.contains(f.getStreamId())) {
                        out.add(f);
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, () -> expected > 0 && out.size() >= expected, idle);
        }
        return out;
    }

    @Test
    @Order(1)
    void callsWithoutAValidTokenAreRefusedAndHealthIsOpen() throws Exception {
        for (int port : List.of(pipeline.grpc(PipelineStage.DENOISE), second.grpcPort())) {
            for (String token : new String[] {null, "not-the-token"}) {
                try (ControlClient c = client(port, token)) {
                    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                            () -> c.stub().pause(PauseRequest.getDefaultInstance()));
                    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
                    e = assertThrows(StatusRuntimeException.class, () -> c.stub().getStatus(GetStatusRequest.getDefaultInstance()));
                    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), "status is not open unless configured");
                }
            }
        }
        assertEquals(0, ctl("denoise", "health", "--target", "localhost:" + second.grpcPort()), "gRPC health needs no token");
        assertTrue(first.stub().getStatus(GetStatusRequest.getDefaultInstance()).getPausedStreamsList().isEmpty(),
                "the refused pause changed nothing");
    }

    @Test
    @Order(2)
    void aParameterSetThroughOneReplicaChangesWhatEveryReplicaDoes() throws Exception {
        Parameters reply = other.stub().setParameters(set("strength", "2"));
        CommandReceipt receipt = reply.getReceipt();
        assertEquals(2, receipt.getReplicasKnown(), "both replicas are in denoise's group");
        assertEquals(Set.of("denoise-1", second.instance()), new TreeSet<>(receipt.getAppliedByList()));
        assertEquals(2.0, first.stub().getParameters(GetParametersRequest.getDefaultInstance()).getValuesOrThrow("strength").getNumber(),
                "the replica that did not take the call has the new value too");

        // Frames of two streams, one on each partition (so one on each replica), are all denoised
        // with the new parameters.
        List<String> streams = List.of(stream(0), stream(1));
        publish(streams.get(0), 0, 3);
        publish(streams.get(1), 0, 3);
        List<Provenance> made = denoiseProvenance(streams);
        assertEquals(6, made.size());
        assertEquals(Set.of("denoise-1", second.instance()), made.stream().map(Provenance::getInstance).collect(Collectors.toSet()),
                "each replica processed one of the streams");
        Set<String> hashes = made.stream().map(Provenance::getParameterHash).collect(Collectors.toSet());
        assertEquals(1, hashes.size(), "every replica used the same parameters: " + hashes);
        assertTrue(!hashes.contains(hashBefore), "and not the ones before the call");

        StatusRuntimeException bad = assertThrows(StatusRuntimeException.class, () -> first.stub().setParameters(set("strength", "40")));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertTrue(bad.getStatus().getDescription().contains("strength must be a number in [0.25, 4]"), bad.getStatus().getDescription());
        assertEquals(2.0, other.stub().getParameters(GetParametersRequest.getDefaultInstance()).getValuesOrThrow("strength").getNumber());
    }

    @Test
    @Order(3)
    void aPausedStreamIsHeldByTheReplicaThatOwnsItAndReleasedInOrderOnResume() throws Exception {
        String held = stream(0);
        String running = stream(1);
        StageStatus paused = first.stub().pause(PauseRequest.newBuilder().setStreamId(held).build());
        assertEquals(2, paused.getReceipt().getReplicasApplied());
        publish(held, 3, 4);
        publish(running, 3, 4);
        // 3 frames of each stream came through before the pause; now only the running one goes on.
        List<Frame> during = denoised(List.of(held, running), 10, Duration.ofSeconds(20));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L),
                during.stream().filter(f -> f.getStreamId().equals(running)).map(Frame::getSequence).toList(), "the other stream goes on");
        assertEquals(3, during.stream().filter(f -> f.getStreamId().equals(held)).count(), "only the 3 frames from before the pause");
        long parked = 0;
        for (ControlClient c : List.of(first, other)) {
            for (StreamStatus s : c.stub().getStatus(GetStatusRequest.getDefaultInstance()).getStreamsList()) {
                if (s.getStreamId().equals(held)) {
                    assertTrue(s.getPaused());
                    parked += s.getParked();
                }
            }
        }
        assertEquals(4, parked, "the 4 new frames are held, by the replica that owns the stream");

        other.stub().resume(ResumeRequest.newBuilder().setStreamId(held).build());
        List<Frame> after = denoised(List.of(held), 7, Duration.ofSeconds(20));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), after.stream().map(Frame::getSequence).toList(),
                "every frame once, in order");
    }

    @Test
    @Order(4)
    void commandsSurviveARestartOfAReplica() throws Exception {
        first.stub().pause(PauseRequest.newBuilder().setStreamId("held-over-restart").build());
        second.process().kill();
        pipeline.stack.restartReplica(second, Duration.ofSeconds(180));
        try (ControlClient restarted = client(second.grpcPort(), pipeline.token())) {
            assertEquals(2.0, restarted.stub().getParameters(GetParametersRequest.getDefaultInstance()).getValuesOrThrow("strength").getNumber(),
                    "parameters set before the restart");
            StageStatus s = restarted.stub().getStatus(GetStatusRequest.getDefaultInstance());
            assertTrue(s.getPausedStreamsList().contains("held-over-restart"), "pauses set before the restart: " + s.getPausedStreamsList());
            assertEquals(first.stub().getStatus(GetStatusRequest.getDefaultInstance()).getControlOffset(), s.getControlOffset(),
                    "both replicas applied the control topic to the same offset");
        }
    }

    @Test
    @Order(5)
    void stageSpecificCallsTheStageDoesNotServeAnswerUnimplemented() {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> first.stub().setReference(SetReferenceRequest.newBuilder().setStreamId("x").setNextFrame(true).build()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
        assertEquals("denoise does not serve SetReference; it is a call of the stabilise stage", e.getStatus().getDescription());
    }

    @Test
    @Order(6)
    void theCommandLineClientSpeaksTheSameApi() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = ctl("denoise", "get", "--target", "localhost:" + second.grpcPort(), "--token", pipeline.token(), "--json");
        } finally {
            System.setOut(out);
        }
        assertEquals(0, rc);
        Parameters.Builder p = Parameters.newBuilder();
        JsonFormat.parser().merge(captured.toString(StandardCharsets.UTF_8), p);
        assertEquals(2.0, p.getValuesOrThrow("strength").getNumber());
        assertEquals(2, ctl("denoise", "set", "strength=-1", "--target", "localhost:" + second.grpcPort(), "--token", pipeline.token()),
                "a refused change exits 2");
        assertEquals(2, ctl("denoise", "status", "--target", "localhost:" + second.grpcPort(), "--token", "wrong"));
    }

    @Test
    @Order(7)
    void everyCallIsAuditedWithWhoWhatWhenAndTheResult() throws Exception {
        List<AuditEntry> entries = new ArrayList<>();
        try (FrameCollector c = new FrameCollector(pipeline.stack.bootstrap(), List.of(pipeline.names.name(Topic.AUDIT)))) {
            c.collect(r -> {
                AuditEntry.Builder b = AuditEntry.newBuilder();
                try {
                    JsonFormat.parser().merge(new String(r.value(), StandardCharsets.UTF_8), b);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                entries.add(b.build());
            }, () -> false, Duration.ofSeconds(3));
        }
        AuditEntry set = entries.stream().filter(e -> e.getKind().equals("call") && e.getCall().equals("SetParameters")
                && e.getResult().equals("OK") && e.getRequest().contains("strength")).findFirst().orElseThrow();
        assertEquals("default", set.getPrincipal(), "who: the token's name");
        assertTrue(set.getAtUs() > 0 && !set.getCommandId().isEmpty());
        Map<String, Set<String>> appliedBy = new HashMap<>();
        for (AuditEntry e : entries) {
            if (e.getKind().equals("applied")) {
                appliedBy.computeIfAbsent(e.getCommandId(), k -> new TreeSet<>()).add(e.getInstance());
            }
        }
        assertEquals(Set.of("denoise-1", second.instance()), appliedBy.get(set.getCommandId()), "each replica reports applying it");
        assertTrue(entries.stream().anyMatch(e -> e.getResult().equals("UNAUTHENTICATED") && e.getPrincipal().equals("unauthenticated")),
                "refused calls are audited too");
        assertTrue(entries.stream().anyMatch(e -> e.getResult().equals("INVALID_ARGUMENT") && e.getCall().equals("SetParameters")));
    }

    @Test
    @Order(8)
    void withTlsOnTheControlPortCallsNeedTlsAndTheToken() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("grpc-tls");
        java.nio.file.Path keyStore = dir.resolve("grpc.p12");
        java.nio.file.Path ca = dir.resolve("ca.pem");
        String keytool = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        run(keytool, "-genkeypair", "-alias", "grpc", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", "changeit");
        run(keytool, "-exportcert", "-rfc", "-alias", "grpc", "-keystore", keyStore.toString(), "-storepass", "changeit",
                "-file", ca.toString());
        Stack.Replica tls = pipeline.stack.startReplica(PipelineStage.DENOISE, Duration.ofSeconds(180), Map.of(
                "quarkus.grpc.server.plain-text", "false",
                "quarkus.grpc.server.ssl.key-store", keyStore.toString(),
                "quarkus.grpc.server.ssl.key-store-password", "changeit",
                "quarkus.grpc.server.ssl.key-store-type", "PKCS12"));
        try {
            String target = "localhost:" + tls.grpcPort();
            try (ControlClient c = ControlClient.connect(target, pipeline.token(), true, ca, Duration.ofSeconds(30))) {
                assertEquals(tls.instance(), c.stub().getStatus(GetStatusRequest.getDefaultInstance()).getInstance());
            }
            try (ControlClient c = ControlClient.connect(target, null, true, ca, Duration.ofSeconds(30))) {
                assertEquals(Status.Code.UNAUTHENTICATED, assertThrows(StatusRuntimeException.class,
                        () -> c.stub().getStatus(GetStatusRequest.getDefaultInstance())).getStatus().getCode(), "TLS is no token");
            }
            try (ControlClient c = client(tls.grpcPort(), pipeline.token())) {
                assertEquals(Status.Code.UNAVAILABLE, assertThrows(StatusRuntimeException.class,
                        () -> c.stub().getStatus(GetStatusRequest.getDefaultInstance())).getStatus().getCode(), "plain text is refused");
            }
            assertEquals(0, ctl("denoise", "status", "--target", target, "--token", pipeline.token(), "--ca-cert", ca.toString()));
        } finally {
            tls.process().stop(30);
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ":\n" + out);
    }

    private static int ctl(String... args) {
        String[] full = new String[args.length + 1];
        full[0] = "ctl";
        System.arraycopy(args, 0, full, 1, args.length);
        return new picocli.CommandLine(new FluoStream()).execute(full);
    }
}
