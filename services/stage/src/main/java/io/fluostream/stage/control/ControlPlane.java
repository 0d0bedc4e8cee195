package io.fluostream.stage.control;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.fluostream.frames.PipelineTopics;
import io.fluostream.frames.RecordLimits;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.proto.AuditEntry;
import io.fluostream.proto.CommandReceipt;
import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.InvalidParameterException;
import io.fluostream.stage.StageRuntime;
import io.grpc.Status;
import io.grpc.StatusException;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Makes a control call reach every replica of the stage. The replica that takes a call writes it as
 * a {@link ControlCommand} to the compacted control topic; every replica (this one included) reads
 * that topic from the start when it starts and then follows it, applying each command of its stage
 * in topic order ({@link CommandApplier}). So all replicas apply the same commands in the same order,
 * and a restarted replica ends in the state the commands left.
 *
 * <p>After applying a command, a replica writes an {@code applied} {@link AuditEntry} to the audit
 * topic; the replica that took the call reads those to count how many replicas applied it within
 * {@code fluostream.control.ack-wait}. Config: {@code fluostream.control.enabled} (true),
 * {@code fluostream.control.apply-timeout} (10s), {@code fluostream.control.ack-wait} (2s).
 */
@ApplicationScoped
public class ControlPlane {

    private static final Logger LOG = Logger.getLogger(ControlPlane.class);

    @Inject
    StageRuntime runtime;

    @Inject
    Instance<KafkaStreams> streams;

    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private boolean enabled;
    private Duration applyTimeout;
    private Duration ackWait;
    private Map<String, Object> clientSettings;
    private String controlTopic;
    private String auditTopic;
    private String applicationId;
    private KafkaProducer<String, byte[]> producer;
    private Admin admin;
    private CommandApplier applier;
    private volatile boolean running;
    private Thread reader;

    /** The outcome of a command on this replica, and how far it got on the others. */
    public record Applied(StageReply reply, CommandReceipt receipt) {
    }

    private static final class Pending {
        final CompletableFuture<Status> local = new CompletableFuture<>();
        final Set<String> appliedBy = ConcurrentHashMap.newKeySet();
        volatile StageReply reply;
    }

    void start(@Observes StartupEvent event) {
        Config config = ConfigProvider.getConfig();
        enabled = config.getOptionalValue("fluostream.control.enabled", Boolean.class).orElse(true);
        if (!enabled) {
            LOG.warn("control plane disabled (fluostream.control.enabled=false): control calls answer UNAVAILABLE");
            runtime.control().replayDone();
            return;
        }
        applyTimeout = config.getOptionalValue("fluostream.control.apply-timeout", Duration.class).orElse(Duration.ofSeconds(10));
        ackWait = config.getOptionalValue("fluostream.control.ack-wait", Duration.class).orElse(Duration.ofSeconds(2));
        TopicNames names = TopicNames.from(key -> config.getOptionalValue(key, String.class));
        controlTopic = names.name(Topic.CONTROL);
        auditTopic = names.name(Topic.AUDIT);
        applicationId = config.getOptionalValue("quarkus.kafka-streams.application-id", String.class)
                .orElse("fluostream-" + runtime.identity().stage());
        clientSettings = KafkaClientSettings.from(config);

        Map<String, Object> p = new HashMap<>(clientSettings);
        p.putAll(RecordLimits.producer());
        p.put("acks", "all");
        p.put("enable.idempotence", true);
        p.put("linger.ms", 0);
        p.put("client.id", applicationId + "-control-" + runtime.identity().instance());
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        admin = Admin.create(withTimeouts(new HashMap<>(clientSettings)));
        applier = new CommandApplier(runtime, new CommandApplier.StagePause() {
            @Override
            public void pause() {
                streams.get().pause();
            }

            @Override
            public void resume() {
                streams.get().resume();
            }
        });
        runtime.metrics().lagSource(() -> {
            try {
                return ConsumerLag.of(streams.get(), runtime.inputTopic());
            } catch (RuntimeException e) {
                return Double.NaN;
            }
        });
        running = true;
        reader = new Thread(this::follow, "fluostream-control");
        reader.setDaemon(true);
        reader.start();
    }

    void stop(@Observes ShutdownEvent event) {
        running = false;
        if (reader != null) {
            reader.interrupt();
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }

    public boolean enabled() {
        return enabled;
    }

    public String stage() {
        return runtime.identity().stage();
    }

    public String instance() {
        return runtime.identity().instance();
    }

    public void countCall(String call, String result) {
        runtime.metrics().controlCall(call, result);
    }

    /** A new command of this stage, from a call that {@code principal} made. */
    public ControlCommand.Builder command(String principal) {
        return ControlCommand.newBuilder()
                .setId(UUID.randomUUID().toString())
                .setStage(runtime.identity().stage())
                .setPrincipal(principal)
                .setOriginInstance(runtime.identity().instance())
                .setIssuedAtUs(System.currentTimeMillis() * 1000);
    }

    /**
     * Writes a command to the control topic and waits until this replica has applied it, then (up to
     * the ack wait) until every replica the broker knows of has.
     *
     * @throws StatusException INVALID_ARGUMENT / UNIMPLEMENTED when applying failed here (the other
     *                         replicas fail the same way), UNAVAILABLE when Kafka cannot take it,
     *                         DEADLINE_EXCEEDED when it was written but not applied here in time
     */
    public Applied submit(ControlCommand command) throws StatusException {
        if (!enabled) {
            throw Status.UNAVAILABLE.withDescription("the control plane is disabled on this replica (fluostream.control.enabled=false)").asException();
        }
        Pending p = new Pending();
        pending.put(command.getId(), p);
        try {
            CompletableFuture<Integer> known = CompletableFuture.supplyAsync(this::replicasKnown);
            RecordMetadata written;
            try {
                written = producer.send(new ProducerRecord<>(controlTopic, 0, ControlKeys.key(command), command.toByteArray()))
                        .get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw Status.UNAVAILABLE.withDescription("could not write the command to " + controlTopic + ": " + rootMessage(e)
                        + "; nothing was changed, try again when Kafka is reachable").asException();
            }
            Status local;
            try {
                local = p.local.get(applyTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw Status.DEADLINE_EXCEEDED.withDescription("the command (id " + command.getId() + ") is on " + controlTopic
                        + " at offset " + written.offset() + " but this replica did not apply it within " + applyTimeout
                        + "; every replica will still apply it: check the status again").asException();
            } catch (ExecutionException e) {
                throw Status.INTERNAL.withDescription(rootMessage(e)).asException();
            }
            if (!local.isOk()) {
                throw local.asException();
            }
            int replicas = 0;
            try {
                replicas = known.get(ackWait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // unknown: report 0 known replicas
            }
            long deadline = System.nanoTime() + ackWait.toNanos();
            while (p.appliedBy.size() < replicas && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            CommandReceipt receipt = CommandReceipt.newBuilder()
                    .setCommandId(command.getId())
                    .setOffset(written.offset())
                    .setReplicasApplied(p.appliedBy.size())
                    .setReplicasKnown(replicas)
                    .addAllAppliedBy(new TreeSet<>(p.appliedBy))
                    .build();
            return new Applied(p.reply, receipt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted").asException();
        } finally {
            pending.remove(command.getId());
        }
    }

    /** Runs a read-only stage-specific call on this replica only. */
    public StageReply query(io.fluostream.proto.StageCommand command, String principal) {
        CommandContext ctx = new CommandContext("", principal, runtime.identity().instance(), false, true);
        return applier().applyToKernel(command, ctx, StageReply.newBuilder());
    }

    private CommandApplier applier() {
        return applier != null ? applier : new CommandApplier(runtime, new CommandApplier.StagePause() {
            @Override
            public void pause() {
                streams.get().pause();
            }

            @Override
            public void resume() {
                streams.get().resume();
            }
        });
    }

    /** Writes an entry to the audit topic (never blocks the call; a failure is logged). */
    public void audit(AuditEntry entry) {
        LOG.infof("audit: %s %s by %s -> %s %s", entry.getKind(), entry.getCall(), entry.getPrincipal(), entry.getResult(),
                entry.getMessage());
        if (producer == null) {
            return;
        }
        try {
            String json = JsonFormat.printer().omittingInsignificantWhitespace().print(entry);
            producer.send(new ProducerRecord<>(auditTopic, entry.getStage(), json.getBytes(StandardCharsets.UTF_8)), (md, e) -> {
                if (e != null) {
                    LOG.warnf("could not write an audit entry to %s: %s", auditTopic, e.getMessage());
                }
            });
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            LOG.warnf("could not write an audit entry to %s: %s", auditTopic, e.getMessage());
        }
    }

    /** Members of the stage's consumer group: the replicas the broker knows of (0 when unknown). */
    private int replicasKnown() {
        try {
            return admin.describeConsumerGroups(List.of(applicationId)).describedGroups().get(applicationId)
                    .get(2, TimeUnit.SECONDS).members().size();
        } catch (Exception e) {
            return 0;
        }
    }

    // --- the reader thread ------------------------------------------------------------------------

    private void follow() {
        while (running) {
            try {
                ensureTopics();
                followTopics();
            } catch (WakeupException | InterruptException e) {
                return;
            } catch (Exception e) {
                if (!running) {
                    return;
                }
                LOG.warnf("control topic reader: %s; retrying in 2 s", rootMessage(e));
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void followTopics() {
        Map<String, Object> c = new HashMap<>(clientSettings);
        c.putAll(RecordLimits.consumer());
        c.put("enable.auto.commit", false);
        c.put("auto.offset.reset", "earliest");
        c.put("allow.auto.create.topics", false);
        c.put("client.id", applicationId + "-control-reader-" + runtime.identity().instance());
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition control = new TopicPartition(controlTopic, 0);
            List<TopicPartition> audit = new ArrayList<>();
            for (PartitionInfo pi : consumer.partitionsFor(auditTopic, Duration.ofSeconds(30))) {
                audit.add(new TopicPartition(auditTopic, pi.partition()));
            }
            List<TopicPartition> all = new ArrayList<>(audit);
            all.add(control);
            consumer.assign(all);
            consumer.seekToEnd(audit);
            long applied = runtime.control().appliedOffset();
            if (applied >= 0) {
                consumer.seek(control, applied + 1);
            } else {
                consumer.seekToBeginning(List.of(control));
            }
            long replayEnd = consumer.endOffsets(List.of(control)).get(control);
            while (running) {
                if (!runtime.control().isReplayed() && consumer.position(control) >= replayEnd) {
                    LOG.infof("control topic %s replayed up to offset %d: %s", controlTopic, replayEnd,
                            runtime.control().stagePaused() ? "stage paused" : "paused streams " + runtime.control().pausedStreams());
                    runtime.control().replayDone();
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    if (r.topic().equals(controlTopic)) {
                        applyRecord(r, r.offset() < replayEnd && !runtime.control().isReplayed());
                    } else {
                        readAudit(r);
                    }
                }
            }
        }
    }

    private void applyRecord(ConsumerRecord<String, byte[]> r, boolean replayed) {
        if (r.value() == null) {
            runtime.control().applied(r.offset());
            return;
        }
        ControlCommand command;
        try {
            command = ControlCommand.parseFrom(r.value());
        } catch (InvalidProtocolBufferException e) {
            LOG.errorf("skipping record %d of %s: not a ControlCommand (%s)", r.offset(), controlTopic, e.getMessage());
            runtime.control().applied(r.offset());
            return;
        }
        if (!command.getStage().equals(runtime.identity().stage())) {
            runtime.control().applied(r.offset());
            return;
        }
        CommandContext ctx = new CommandContext(command.getId(), command.getPrincipal(), runtime.identity().instance(), replayed, false);
        Status result;
        StageReply reply = null;
        try {
            reply = applier().apply(command, ctx);
            result = Status.OK;
        } catch (InvalidParameterException | InvalidCommandException e) {
            result = Status.INVALID_ARGUMENT.withDescription(e.getMessage());
        } catch (UnsupportedOperationException e) {
            result = Status.UNIMPLEMENTED.withDescription(e.getMessage());
        } catch (RuntimeException e) {
            LOG.errorf(e, "applying control command %s failed", command.getId());
            result = Status.INTERNAL.withDescription(runtime.identity().stage() + " failed to apply the command: " + e);
        }
        runtime.control().applied(r.offset());
        Pending p = pending.get(command.getId());
        if (p != null) {
            p.reply = reply;
            p.appliedBy.add(runtime.identity().instance());
            p.local.complete(result);
        }
        if (replayed) {
            LOG.infof("replayed %s from %s: %s", command.getChangeCase(), command.getPrincipal(), result.getCode());
        } else {
            audit(AuditEntry.newBuilder()
                    .setKind("applied")
                    .setStage(command.getStage())
                    .setInstance(runtime.identity().instance())
                    .setPrincipal(command.getPrincipal())
                    .setCall(command.getChangeCase().name())
                    .setAtUs(System.currentTimeMillis() * 1000)
                    .setResult(result.getCode().name())
                    .setMessage(result.getDescription() == null ? (reply == null ? "" : reply.getMessage()) : result.getDescription())
                    .setCommandId(command.getId())
                    .build());
        }
    }

    private void readAudit(ConsumerRecord<String, byte[]> r) {
        if (pending.isEmpty() || r.value() == null) {
            return;
        }
        try {
            AuditEntry.Builder b = AuditEntry.newBuilder();
            JsonFormat.parser().ignoringUnknownFields().merge(new String(r.value(), StandardCharsets.UTF_8), b);
            Pending p = pending.get(b.getCommandId());
            if (p != null && "applied".equals(b.getKind())) {
                p.appliedBy.add(b.getInstance());
            }
        } catch (InvalidProtocolBufferException e) {
            // not ours to read
        }
    }

    /** Creates the control and audit topics when they are missing (a stack or Kubernetes normally has). */
    private void ensureTopics() throws Exception {
        Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        List<NewTopic> missing = new ArrayList<>();
        if (!existing.contains(controlTopic)) {
            missing.add(new NewTopic(controlTopic, 1, (short) -1).configs(PipelineTopics.controlTopic()));
        }
        if (!existing.contains(auditTopic)) {
            missing.add(new NewTopic(auditTopic, 1, (short) -1).configs(PipelineTopics.auditTopic()));
        }
        if (!missing.isEmpty()) {
            try {
                admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
                LOG.infof("created %s", missing);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    private static Map<String, Object> withTimeouts(Map<String, Object> m) {
        m.put("request.timeout.ms", 10_000);
        m.put("default.api.timeout.ms", 30_000);
        return m;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
