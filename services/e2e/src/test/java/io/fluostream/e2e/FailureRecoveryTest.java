package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineAudit;
import io.fluostream.cli.PipelineStage;
import io.fluostream.cli.Stack;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.proto.Frame;
import io.fluostream.rig.RigSimulator;
import io.fluostream.rig.SimulatedFrames;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Failures mid-stream on the real broker: each stage killed with SIGKILL and restarted, the broker
 * restarted, and a stage scaled from one instance to two. In every case each frame reaches the end
 * of the pipeline exactly once and in order per stream; the time from the fault to the stage's next
 * output is printed as its recovery time.
 *
 * <p>Every scenario publishes its own streams at a camera-like rate while the fault happens, so the
 * scenarios share one stack and stay bounded (about a minute each).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailureRecoveryTest {

    private static final int FRAMES = 48;
    private static final double FPS = 8;
    /** The fault happens once this many frames of the scenario are published. */
    private static final int FAULT_AT = 12;

    private final TopicNames names = TopicNames.defaults();
    private final PipelineAudit audit = new PipelineAudit(names);
    private final SimulationSettings settings = SimulationSettings.defaults().withSize(96, 96);
    private final AtomicBoolean collecting = new AtomicBoolean(true);
    private Stack stack;
    private Thread collector;

    @BeforeAll
    void start() throws Exception {
        stack = Stack.start(Home.locate(), Files.createTempDirectory("fluostream-failures"), Stack.Ports.free(), 2,
                Map.of(), System.out::println);
        collector = new Thread(() -> {
            try (FrameCollector c = new FrameCollector(stack.bootstrap(), audit.topics())) {
                c.collect(audit::accept, () -> !collecting.get(), Duration.ofDays(1));
            }
        }, "audit");
        collector.start();
    }

    @AfterAll
    void stop() throws InterruptedException {
        collecting.set(false);
        if (collector != null) {
            collector.join(10_000);
        }
        if (stack != null) {
            stack.close();
        }
    }

    /** A fault to inject while a scenario's streams are being published. */
    private interface Fault {
        void inject() throws Exception;
    }

    @Test
    void aKilledDenoiseStageRecoversWithoutLosingOrDoublingFrames() throws Exception {
        killAndRestart(PipelineStage.DENOISE);
    }

    @Test
    void aKilledUnmixStageRecoversWithoutLosingOrDoublingFrames() throws Exception {
        killAndRestart(PipelineStage.UNMIX);
    }

    @Test
    void aKilledStabiliseStageRecoversWithoutLosingOrDoublingFrames() throws Exception {
        killAndRestart(PipelineStage.STABILISE);
    }

    @Test
    void aKilledFlowStageRecoversWithoutLosingOrDoublingFrames() throws Exception {
        killAndRestart(PipelineStage.FLOW);
    }

    @Test
    void aBrokerRestartLosesAndDoublesNothing() throws Exception {
        String stream = "fault/broker";
        runScenario(stream, 21, () -> {
            stack.broker().stop(30);
            Thread.sleep(1000);
            stack.restartBroker();
        });
        report(stream, Topic.FLOW, "broker restart");
    }

    @Test
    void aSecondInstanceTakesOverPartitionsWithoutLosingOrDoublingFrames() throws Exception {
        String stream = "fault/rebalance";
        runScenario(stream, 22, () -> stack.startReplica(PipelineStage.UNMIX, Duration.ofSeconds(180)));
        report(stream, Topic.UNMIXED, "rebalance unmix 1 -> 2 instances");
    }

    private void killAndRestart(PipelineStage stage) throws Exception {
        String stream = "fault/kill-" + stage.id();
        runScenario(stream, 10 + stage.ordinal(), () -> {
            stack.stage(stage).kill();
            Thread.sleep(1000);
            stack.restart(stage);
            stack.awaitReady(stage, Duration.ofSeconds(120));
        });
        report(stream, stage.output(), "kill -9 " + stage.id());
    }

    /** Publishes one stream at {@link #FPS}, injects the fault partway, and checks the delivery promise. */
    private void runScenario(String stream, int streamIndex, Fault fault) throws Exception {
        ForwardModel model = new ForwardModel(settings, streamIndex);
        AtomicInteger published = new AtomicInteger();
        CountDownLatch faultDue = new CountDownLatch(1);
        Thread publisher = new Thread(() -> publish(model, stream, published, faultDue), "publisher-" + stream);
        publisher.start();
        assertTrue(faultDue.await(60, TimeUnit.SECONDS), "publisher did not reach the fault point");
        faultAt = System.nanoTime();
        fault.inject();
        publisher.join(180_000);
        assertEquals(FRAMES, published.get(), "frames acknowledged by the broker");

        Set<Long> all = LongStream.range(0, FRAMES).boxed().collect(Collectors.toSet());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!audit.sequences(Topic.FLOW, stream).equals(all) && System.nanoTime() < deadline) {
            Thread.sleep(250);
        }
        for (Topic t : Topic.pipeline()) {
            assertEquals(all, audit.sequences(t, stream), "every frame of " + stream + " on " + names.name(t));
            assertEquals(0, audit.duplicated(t, stream), "duplicates of " + stream + " on " + names.name(t));
            assertEquals(0, audit.outOfOrder(t, stream), "frames out of order of " + stream + " on " + names.name(t));
        }
        assertTrue(audit.deadLetters().isEmpty(), "no frame rejected: " + audit.deadLetters());
    }

    private volatile long faultAt;

    private void publish(ForwardModel model, String stream, AtomicInteger published, CountDownLatch faultDue) {
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(RigSimulator.producerConfig(stack.bootstrap()),
                new StringSerializer(), new ByteArraySerializer())) {
            long start = System.nanoTime();
            for (int t = 0; t < FRAMES; t++) {
                long due = start + (long) (t * 1e9 / FPS);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000);
                }
                Frame f = SimulatedFrames.toFrame(model, model.frame(t), stream, System.currentTimeMillis() * 1000, FPS);
                p.send(new ProducerRecord<>(names.name(Topic.RAW), stream, f.toByteArray()), (meta, e) -> {
                    if (e == null) {
                        published.incrementAndGet();
                    }
                });
                if (t + 1 == FAULT_AT) {
                    faultDue.countDown();
                }
            }
            p.flush();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Prints the recovery time: from the fault to the first output after it, and the largest gap. */
    private void report(String stream, Topic output, String fault) {
        List<PipelineAudit.Arrival> arrivals = audit.arrivals(output, stream);
        long firstAfter = arrivals.stream().mapToLong(PipelineAudit.Arrival::nanos).filter(n -> n > faultAt).min().orElse(faultAt);
        long longestGap = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            longestGap = Math.max(longestGap, arrivals.get(i).nanos() - arrivals.get(i - 1).nanos());
        }
        System.out.printf("RECOVERY %s: first %s output %.1f s after the fault; longest gap between outputs %.1f s%n",
                fault, names.name(output), (firstAfter - faultAt) / 1e9, longestGap / 1e9);
    }
}
