package io.fluostream.cli;

import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fluostream demo}: the whole system on this machine. Starts the broker and the four stage
 * services as separate processes, publishes simulated streams, waits until every frame has passed
 * every stage, scores each stage against the simulator's ground truth, prints a table and, as its
 * last line, one JSON object; then stops everything it started. Exits 1 if a frame was lost or
 * duplicated.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the four-stage pipeline on simulated streams and report what each stage achieved.")
final class DemoCommand implements Callable<Integer> {

    @Mixin
    SimulationOptions simulation = new SimulationOptions();

    @Option(names = "--partitions", description = "Partitions per frame topic (default ${DEFAULT-VALUE}).")
    int partitions = 2;

    @Option(names = "--timeout-s", description = "Give up when no frame moved for this long (default ${DEFAULT-VALUE}).")
    int timeoutSeconds = 180;

    @Override
    public Integer call() throws Exception {
        Home home = Home.locate();
        Path runDir = home.root().resolve("run/demo");
        Stack.deleteData(runDir);
        RigOptions rig = simulation.toRigOptions();
        int expected = rig.streams() * rig.frames();
        TopicNames names = TopicNames.defaults();

        try (Stack stack = Stack.start(home, runDir, Stack.Ports.free(), partitions, Map.of(), DemoCommand::say)) {
            PipelineAudit audit = new PipelineAudit(names);
            AtomicBoolean complete = new AtomicBoolean();
            long start = System.nanoTime();
            Thread watcher = new Thread(() -> {
                try (FrameCollector c = new FrameCollector(stack.bootstrap(), audit.topics())) {
                    complete.set(c.collect(audit::accept, () -> audit.complete(expected), Duration.ofSeconds(timeoutSeconds)));
                }
            }, "demo-watcher");
            watcher.start();
            say("rig: publishing " + rig.streams() + " streams x " + rig.frames() + " frames, "
                    + rig.simulation().height() + "x" + rig.simulation().width() + " px, " + rig.simulation().channels()
                    + " channels, " + rig.simulation().fluorophores() + " fluorophores, photon level " + rig.simulation().photonLevel());
            new RigSimulator(rig).publish(stack.bootstrap(), names.name(Topic.RAW), DemoCommand::say);
            watcher.join();
            double wall = (System.nanoTime() - start) / 1e9;
            if (!complete.get()) {
                say("not every frame reached every stage within the timeout; see the logs in " + runDir.resolve("logs"));
            }
            say("scoring every stage against the ground truth ...");
            GroundTruthReport truth = new GroundTruthReport(rig);
            truth.measure(stack.bootstrap(), names);

            int lost = expected - audit.distinct(Topic.FLOW);
            int duplicated = 0;
            Map<String, Object> out = new LinkedHashMap<>();
            for (Topic t : Topic.pipeline()) {
                duplicated += audit.duplicated(t);
                if (t != Topic.RAW) {
                    out.put(stageOf(t), audit.distinct(t));
                }
            }
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("frames_published", expected);
            report.put("frames_out", out);
            report.put("frames_dlq", audit.deadLetters().size());
            report.put("lost", lost);
            report.put("duplicated", duplicated);
            report.put("wall_seconds", wall);
            report.put("fps", expected / wall);
            report.put("denoise_psnr_in_db", truth.psnrIn());
            report.put("denoise_psnr_out_db", truth.psnrOut());
            report.put("unmix_rmse_rel", truth.unmixRmseRel());
            report.put("unmix_rmse_rel_ls", truth.unmixRmseRelLeastSquares());
            report.put("stabilise_rms_err_px", truth.stabiliseRmsErrorPx());
            report.put("flow_epe_px", truth.flowEpePx());
            report.put("flow_epe_zero_px", truth.flowEpeZeroPx());

            printTable(audit, truth, expected, wall);
            System.out.println(Json.write(report));
            return lost == 0 && duplicated == 0 && complete.get() ? 0 : 1;
        }
    }

    private static String stageOf(Topic t) {
        return switch (t) {
            case DENOISED -> "denoise";
            case UNMIXED -> "unmix";
            case STABILISED -> "stabilise";
            case FLOW -> "flow";
            default -> t.key();
        };
    }

    private static void printTable(PipelineAudit audit, GroundTruthReport truth, int expected, double wall) {
        System.out.println();
        System.out.printf("%-10s %10s %10s %10s  %s%n", "stage", "frames", "duplicated", "reordered", "quality against ground truth");
        System.out.printf("%-10s %10d %10d %10d  %s%n", "rig", audit.distinct(Topic.RAW), audit.duplicated(Topic.RAW),
                audit.outOfOrder(Topic.RAW), String.format("raw PSNR %.2f dB", truth.psnrIn()));
        System.out.printf("%-10s %10d %10d %10d  %s%n", "denoise", audit.distinct(Topic.DENOISED), audit.duplicated(Topic.DENOISED),
                audit.outOfOrder(Topic.DENOISED), String.format("PSNR %.2f dB (%+.2f dB)", truth.psnrOut(), truth.psnrOut() - truth.psnrIn()));
        System.out.printf("%-10s %10d %10d %10d  %s%n", "unmix", audit.distinct(Topic.UNMIXED), audit.duplicated(Topic.UNMIXED),
                audit.outOfOrder(Topic.UNMIXED), String.format("abundance RMSE/mean %.3f (least squares %.3f)",
                        truth.unmixRmseRel(), truth.unmixRmseRelLeastSquares()));
        System.out.printf("%-10s %10d %10d %10d  %s%n", "stabilise", audit.distinct(Topic.STABILISED), audit.duplicated(Topic.STABILISED),
                audit.outOfOrder(Topic.STABILISED), String.format("drift error %.3f px RMS", truth.stabiliseRmsErrorPx()));
        System.out.printf("%-10s %10d %10d %10d  %s%n", "flow", audit.distinct(Topic.FLOW), audit.duplicated(Topic.FLOW),
                audit.outOfOrder(Topic.FLOW), String.format("endpoint error %.3f px (zero field %.3f px)",
                        truth.flowEpePx(), truth.flowEpeZeroPx()));
        System.out.printf("%d frames published, %d in the dead-letter topic; %.1f s, %.1f frames/s through all stages%n%n",
                expected, audit.deadLetters().size(), wall, expected / wall);
    }

    static void say(String line) {
        System.out.println("[demo] " + line);
        System.out.flush();
    }
}
