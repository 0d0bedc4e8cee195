package io.fluostream.cli.bench;

import io.fluostream.cli.FrameCollector;
import io.fluostream.cli.Home;
import io.fluostream.cli.Json;
import io.fluostream.cli.ManagedProcess;
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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code ./fluostream bench pipeline}: the real services on the embedded broker, fed as fast as the
 * broker takes frames (so a slower stage builds lag), measured at the end of the chain: frames per
 * second, latency from acquisition to the flow output, loss and duplication, each stage's own
 * throughput (from its processing-time metric) and the peak resident memory of the largest process.
 *
 * <p>Frames are rendered before the clock starts (the simulator is slower than the pipeline at
 * camera sizes): up to 16 distinct frames per stream, cycled with fresh sequence numbers.
 *
 * <p>With {@code --warmup K}, K frames go through first on streams of their own, at the same rate,
 * and the clock starts once all of them reached the flow output: the figures are then those of
 * warm services (a facility's pipeline runs for days; only the first minute after a deployment is
 * cold). Without it (the default) the run includes the cold start.
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = "Throughput, latency, loss and memory of the four-stage pipeline on this machine.")
final class BenchPipeline implements Callable<Integer> {

    private static final int DISTINCT_FRAMES = 16;

    @Option(names = "--size", description = "Frame height and width, px (default ${DEFAULT-VALUE}).")
    int size = 512;

    @Option(names = "--channels", description = "Detection channels (default ${DEFAULT-VALUE}); fluorophores = min(3, channels).")
    int channels = 4;

    @Option(names = "--frames", description = "Frames in all (default ${DEFAULT-VALUE}).")
    int frames = 200;

    @Option(names = "--streams", description = "Streams the frames are spread over (default ${DEFAULT-VALUE}).")
    int streams = 2;

    @Option(names = "--fps", description = "Camera rate: frames per second published over all streams; 0 = as fast as the"
            + " broker takes them (default ${DEFAULT-VALUE}). At a rate the pipeline sustains, latency is per-frame work, not queueing.")
    double publishFps = 0;

    @Option(names = "--train", description = "Let the denoise stage train on the stream as it does by default in a"
            + " deployment; off here, so the figures are the classical pipeline's (the benchmark's definition).")
    boolean train;

    @Option(names = "--partitions", description = "Partitions per topic (default ${DEFAULT-VALUE}).")
    int partitions = 2;

    @Option(names = "--warmup", description = "Frames sent through first, on their own streams and at the same rate, and"
            + " not counted: the figures are then those of warm services (default ${DEFAULT-VALUE}: cold start included).")
    int warmup = 0;

    @Override
    public Integer call() throws Exception {
        if (!(publishFps >= 0) || Double.isInfinite(publishFps)) {
            throw new ParameterException(new CommandLine(this),
                    "--fps must be a finite rate >= 0 (0 = as fast as the broker takes them), got " + publishFps);
        }
        if (warmup < 0) {
            throw new ParameterException(new CommandLine(this), "--warmup must be >= 0 frames, got " + warmup);
        }
        Home home = Home.locate();
        Path runDir = home.root().resolve("run/bench-pipeline");
        Stack.deleteData(runDir);
        TopicNames names = TopicNames.defaults();
        SimulationSettings settings = SimulationSettings.defaults().withSize(size, size)
                .withChannelsAndFluorophores(channels, Math.min(3, channels));

        say("rendering " + Math.min(DISTINCT_FRAMES, frames) + " distinct frames per stream, " + size + "x" + size + "x" + channels);
        List<List<Frame>> rendered = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            ForwardModel model = new ForwardModel(settings, s);
            List<Frame> list = new ArrayList<>();
            for (int t = 0; t < Math.min(DISTINCT_FRAMES, frames); t++) {
                list.add(SimulatedFrames.toFrame(model, model.frame(t), streamId(s), 0, 0));
            }
            rendered.add(list);
        }

        try (Stack stack = Stack.start(home, runDir, Stack.Ports.free(), partitions,
                Map.of("fluostream.denoise.train-on-start", Boolean.toString(train)), BenchPipeline::say)) {
            PipelineAudit audit = new PipelineAudit(names);
            List<Long> latenciesMs = Collections.synchronizedList(new ArrayList<>());
            AtomicLong lastOutput = new AtomicLong();
            AtomicBoolean done = new AtomicBoolean();
            AtomicLong warmedUp = new AtomicLong();
            Map<String, Long> peakRss = new LinkedHashMap<>();
            Thread watcher = new Thread(() -> {
                try (FrameCollector c = new FrameCollector(stack.bootstrap(), List.of(names.name(Topic.FLOW)))) {
                    c.collect(r -> {
                        if (r.key() != null && r.key().startsWith(WARMUP_STREAM)) {
                            warmedUp.incrementAndGet();
                            return;
                        }
                        audit.accept(r);
                        try {
                            long acquiredUs = Frame.parseFrom(r.value()).getAcquiredAtUs();
                            latenciesMs.add(System.currentTimeMillis() - acquiredUs / 1000);
                        } catch (Exception e) {
                            // counted by the audit
                        }
                        lastOutput.set(System.nanoTime());
                    }, () -> audit.distinct(Topic.FLOW) >= frames, Duration.ofSeconds(300));
                }
                done.set(true);
            }, "bench-watcher");
            watcher.start();

            long start;
            Map<PipelineStage, double[]> processingAtStart = new LinkedHashMap<>();
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(RigSimulator.producerConfig(stack.bootstrap()),
                    new StringSerializer(), new ByteArraySerializer())) {
                if (warmup > 0) {
                    say("warming up: " + warmup + " frames on streams of their own, not counted");
                    publish(producer, names, rendered, warmup, WARMUP_STREAM, stack, peakRss);
                    long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
                    while (warmedUp.get() < warmup) {
                        if (System.nanoTime() > deadline || done.get()) {
                            throw new IllegalStateException("only " + warmedUp.get() + " of " + warmup
                                    + " warm-up frames reached the flow output");
                        }
                        sampleRss(stack, peakRss);
                        Thread.sleep(100);
                    }
                }
                for (PipelineStage s : PipelineStage.values()) {
                    processingAtStart.put(s, processingSeconds(stack.ports().http(s)));
                }
                say("publishing " + frames + " frames over " + streams + " streams "
                        + (publishFps > 0 ? "at " + publishFps + " frames/s" : "as fast as the broker takes them"));
                start = publish(producer, names, rendered, frames, STREAM, stack, peakRss);
            }
            while (!done.get()) {
                sampleRss(stack, peakRss);
                Thread.sleep(500);
            }
            watcher.join();
            double wall = (Math.max(lastOutput.get(), start) - start) / 1e9;
            int distinct = audit.distinct(Topic.FLOW);
            double fps = distinct / wall;

            Map<String, Object> stageMpix = new LinkedHashMap<>();
            for (PipelineStage s : PipelineStage.values()) {
                double[] before = processingAtStart.get(s);
                double[] after = processingSeconds(stack.ports().http(s));
                double secondsPerFrame = after[1] > before[1] ? (after[0] - before[0]) / (after[1] - before[1]) : -1;
                stageMpix.put(s.id(), secondsPerFrame > 0 ? (double) size * size * channels / secondsPerFrame / 1e6 : null);
            }
            List<Long> sorted = new ArrayList<>(latenciesMs);
            say("latency by arrival, median / max of each 20 frames, ms: " + latencyBlocks(sorted, 20));
            Collections.sort(sorted);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("size", size);
            out.put("channels", channels);
            out.put("frames", frames);
            out.put("publish_fps", publishFps > 0 ? publishFps : null);
            out.put("warmup_frames", warmup);
            out.put("denoise_training", train);
            out.put("lost", frames - distinct);
            out.put("duplicated", audit.duplicated(Topic.FLOW));
            out.put("fps", fps);
            out.put("mpix_s", fps * size * size * channels / 1e6);
            out.put("latency_p50_ms", percentile(sorted, 0.50));
            out.put("latency_p99_ms", percentile(sorted, 0.99));
            out.put("peak_rss_mib", peakRss.values().stream().mapToLong(Long::longValue).max().orElse(0) / 1024);
            out.put("peak_rss_mib_by_process", toMib(peakRss));
            out.put("stage_mpix_s", stageMpix);
            out.put("cpus", Runtime.getRuntime().availableProcessors());
            out.put("stage_heap", Stack.STAGE_HEAP);
            System.out.println(Json.write(out));
            return frames - distinct == 0 && audit.duplicated(Topic.FLOW) == 0 ? 0 : 1;
        }
    }

    /**
     * Publishes {@code count} frames round-robin over the streams {@code prefix + s}, paced at
     * {@code --fps} when set, and returns when the first one was due (the clock's start).
     */
    private long publish(KafkaProducer<String, byte[]> producer, TopicNames names, List<List<Frame>> rendered, int count,
                         String prefix, Stack stack, Map<String, Long> peakRss) throws InterruptedException {
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            if (publishFps > 0) {
                long due = start + (long) (i * 1e9 / publishFps);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
            int s = i % streams;
            int t = i / streams;
            Frame f = rendered.get(s).get(t % rendered.get(s).size()).toBuilder()
                    .setStreamId(prefix + s).setSequence(t).setAcquiredAtUs(System.currentTimeMillis() * 1000).build();
            producer.send(new ProducerRecord<>(names.name(Topic.RAW), prefix + s, f.toByteArray()));
            sampleRss(stack, peakRss);
        }
        producer.flush();
        return start;
    }

    /** "p50/max" of each block of {@code block} latencies in arrival order: warm-up and stalls show where they happen. */
    private static String latencyBlocks(List<Long> inArrivalOrder, int block) {
        StringBuilder b = new StringBuilder();
        for (int from = 0; from < inArrivalOrder.size(); from += block) {
            List<Long> part = new ArrayList<>(inArrivalOrder.subList(from, Math.min(from + block, inArrivalOrder.size())));
            Collections.sort(part);
            b.append(b.length() == 0 ? "" : " ").append(part.get(part.size() / 2)).append('/').append(part.get(part.size() - 1));
        }
        return b.toString();
    }

    private static final String STREAM = "bench/pos";
    private static final String WARMUP_STREAM = "bench/warmup";

    private static String streamId(int s) {
        return STREAM + s;
    }

    private static Map<String, Object> toMib(Map<String, Long> kib) {
        Map<String, Object> out = new LinkedHashMap<>();
        kib.forEach((k, v) -> out.put(k, v / 1024));
        return out;
    }

    /** Peak resident set (VmHWM, KiB) of the broker and every stage process, kept as the maximum seen. */
    private static void sampleRss(Stack stack, Map<String, Long> peak) {
        List<ManagedProcess> all = new ArrayList<>();
        all.add(stack.broker());
        for (PipelineStage s : PipelineStage.values()) {
            all.add(stack.stage(s));
        }
        for (ManagedProcess p : all) {
            if (p == null || !p.isAlive()) {
                continue;
            }
            try {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status"))) {
                    if (line.startsWith("VmHWM:")) {
                        long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                        peak.merge(p.name(), kib, Math::max);
                    }
                }
            } catch (Exception e) {
                // not Linux, or the process just ended: no figure
            }
        }
    }

    private static final Pattern SUM = Pattern.compile("^fluostream_frame_processing_seconds_sum\\{[^}]*\\} ([0-9.eE+-]+)", Pattern.MULTILINE);
    private static final Pattern COUNT = Pattern.compile("^fluostream_frame_processing_seconds_count\\{[^}]*\\} ([0-9.eE+-]+)", Pattern.MULTILINE);

    /** {seconds, frames} the stage has spent processing so far, from its own Prometheus histogram ({0, 0} if unreadable). */
    private static double[] processingSeconds(int httpPort) {
        try {
            String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://localhost:" + httpPort + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher sum = SUM.matcher(text);
            Matcher count = COUNT.matcher(text);
            if (sum.find() && count.find()) {
                return new double[] {Double.parseDouble(sum.group(1)), Double.parseDouble(count.group(1))};
            }
        } catch (Exception e) {
            say("could not read metrics on port " + httpPort + ": " + e.getMessage());
        }
        return new double[] {0, 0};
    }

    private static Double percentile(List<Long> sorted, double q) {
        if (sorted.isEmpty()) {
            return null;
        }
        return (double) sorted.get((int) Math.min(sorted.size() - 1, Math.round(q * (sorted.size() - 1))));
    }

    private static void say(String line) {
        System.out.println("[bench pipeline] " + line);
        System.out.flush();
    }
}
