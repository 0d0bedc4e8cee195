package io.fluostream.cli.bench;

import io.fluostream.cli.Json;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.ConsistentFlow;
import io.fluostream.imaging.flow.FlowEstimate;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.FlowRefiner;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.flow.SimulatedFlowPair;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.flow.LearnedFlowRefiner;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./fluostream bench flow}: accuracy of the flow stage's two methods against the forward
 * model's exact flow, and their speed.
 *
 * <p>Accuracy: for photon levels 5, 20, 100 (e⁻ per unit abundance) and largest per-frame
 * displacements 1, 4, 10 px, simulated drift-free streams (held-out seeds: the learned model
 * never saw them) give the pair of frames 0 → 1; each method estimates the flow as the stage
 * does (forward–backward, {@link ConsistentFlow}) and its mean endpoint error over the pixels
 * with signal in the clean frame 0 (a 16 px border excluded) is averaged over the pairs of a key
 * ({@code "p20_d4"}). {@code epe_zero_px} is the error of reporting no motion, for scale. Input:
 * by default the raw frames minus the camera offset, channels summed; {@code --input denoised}
 * scores the classical denoiser's output instead, as the pipeline would feed the stage, and the
 * variational error on denoised frames is always reported too ({@code epe_px_denoised}).
 *
 * <p>Speed: a 512×512 stream (20 e⁻, 4 px), consecutive frames, as the stage runs it (pyramid
 * of a frame reused for the next pair, confidence and outliers included), {@code --threads}
 * threads. Megapixels per second of wall time, and the process CPU time per frame with the load
 * average, since these machines are shared.
 */
@Command(name = "flow", mixinStandardHelpOptions = true,
        description = "Flow accuracy (EPE vs simulated truth) of the variational and learned methods, and speed at 512x512.")
public final class BenchFlow implements Callable<Integer> {

    private static final double[] PHOTONS = {5, 20, 100};
    private static final double[] DISPLACEMENTS = {1, 4, 10};
    private static final int BORDER_MARGIN = 16;
    /** Seeds the learned model's training never draws (it uses SplittableRandom(1) draws). */
    private static final long FIRST_SEED = 20_000;

    @Option(names = "--size", description = "Frame side for accuracy, px (default ${DEFAULT-VALUE}).")
    int size = 256;

    @Option(names = "--pairs", description = "Simulated pairs per key (default ${DEFAULT-VALUE}).")
    int pairs = 3;

    @Option(names = "--threads", description = "Threads for the speed figures (default ${DEFAULT-VALUE}).")
    int threads = 2;

    @Option(names = "--input", description = "Frames scored: raw (offset-free raw counts) or denoised (default ${DEFAULT-VALUE}).")
    SimulatedFlowPair.Input input = SimulatedFlowPair.Input.RAW;

    @Option(names = "--speed-seconds", description = "Timed seconds per speed figure (default ${DEFAULT-VALUE}).")
    double speedSeconds = 8;

    @Option(names = "--no-learned", description = "Skip the learned method.")
    boolean noLearned;

    @Override
    public Integer call() {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        LearnedFlowRefiner learned = noLearned ? null : LearnedFlowRefiner.shipped();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("input", input == SimulatedFlowPair.Input.RAW ? "raw offset-free, channels summed"
                : "classical denoiser output, channels summed");
        result.put("size", size);
        result.put("pairs_per_key", pairs);
        if (learned != null) {
            result.put("learned_model", learned.version());
        }
        Map<String, Object> epe = new LinkedHashMap<>();
        Map<String, Object> zero = new LinkedHashMap<>();
        Map<String, Object> learnedEpe = new LinkedHashMap<>();
        Map<String, Object> denoisedEpe = new LinkedHashMap<>();
        Map<String, Object> confidence = new LinkedHashMap<>();
        Map<String, Object> outliers = new LinkedHashMap<>();
        try (ConsistentFlow variational = new ConsistentFlow(ConsistentFlow.Settings.defaults(), threads);
             ConsistentFlow withNetwork = learned == null ? null
                     : new ConsistentFlow(ConsistentFlow.Settings.defaults(), threads, learned)) {
            for (double p : PHOTONS) {
                for (double d : DISPLACEMENTS) {
                    String key = String.format(Locale.ROOT, "p%.0f_d%.0f", p, d);
                    double[] sums = new double[6];
                    for (int k = 0; k < pairs; k++) {
                        SimulationSettings s = SimulationSettings.defaults().withSize(size, size).withMaxDriftPx(0)
                                .withPhotonLevel(p).withMaxFlowPxPerFrame(d).withSeed(FIRST_SEED + k);
                        ForwardModel model = new ForwardModel(s, 0);
                        SimulatedFlowPair pair = SimulatedFlowPair.simulate(model, 1, input);
                        SignalMask mask = pair.signalMask(BORDER_MARGIN);
                        FlowEstimate v = variational.estimate(pair.previous(), pair.next());
                        sums[0] += FlowField.endpointError(v.field(), pair.truth(), mask);
                        sums[1] += FlowField.endpointError(new FlowField(size, size), pair.truth(), mask);
                        sums[3] += mask.mean(v.confidence());
                        sums[4] += mask.mean(v.outliers());
                        if (withNetwork != null) {
                            FlowEstimate l = withNetwork.estimate(pair.previous(), pair.next());
                            sums[2] += FlowField.endpointError(l.field(), pair.truth(), mask);
                        }
                        SimulatedFlowPair denoised = input == SimulatedFlowPair.Input.DENOISED ? pair
                                : SimulatedFlowPair.simulate(model, 1, SimulatedFlowPair.Input.DENOISED);
                        sums[5] += FlowField.endpointError(variational.estimate(denoised.previous(), denoised.next()).field(),
                                pair.truth(), mask);
                    }
                    epe.put(key, round(sums[0] / pairs));
                    zero.put(key, round(sums[1] / pairs));
                    if (withNetwork != null) {
                        learnedEpe.put(key, round(sums[2] / pairs));
                    }
                    confidence.put(key, round(sums[3] / pairs));
                    outliers.put(key, round(sums[4] / pairs));
                    denoisedEpe.put(key, round(sums[5] / pairs));
                    System.out.printf(Locale.ROOT, "%-9s EPE variational %.3f px, learned %s, zero field %.3f px;"
                                    + " variational on denoised frames %.3f px; mean confidence %.2f%n", key,
                            sums[0] / pairs, withNetwork == null ? "-" : String.format(Locale.ROOT, "%.3f px", sums[2] / pairs),
                            sums[1] / pairs, sums[5] / pairs, sums[3] / pairs);
                }
            }
        }
        result.put("epe_px", epe);
        result.put("epe_zero_px", zero);
        result.put("learned_epe_px", learnedEpe);
        result.put("epe_px_denoised", denoisedEpe);
        result.put("mean_confidence", confidence);
        result.put("outlier_fraction", outliers);

        List<Image> stream = speedStream();
        Speed v = speed(stream, null);
        System.out.printf(Locale.ROOT, "variational 512x512, %d threads: %.1f MP/s (%.1f ms/frame wall, %.1f ms CPU/frame)%n",
                threads, v.megapixelsPerSecond(), v.msPerFrame(), v.cpuMsPerFrame());
        result.put("mpix_s_512", round(v.megapixelsPerSecond()));
        result.put("ms_per_frame_512", round(v.msPerFrame()));
        result.put("cpu_ms_per_frame_512", round(v.cpuMsPerFrame()));
        if (learned != null) {
            Speed l = speed(stream, learned);
            System.out.printf(Locale.ROOT, "learned 512x512, %d threads: %.2f MP/s (%.1f ms/frame wall, %.1f ms CPU/frame)%n",
                    threads, l.megapixelsPerSecond(), l.msPerFrame(), l.cpuMsPerFrame());
            result.put("learned_mpix_s_512", round(l.megapixelsPerSecond()));
            result.put("learned_ms_per_frame_512", round(l.msPerFrame()));
            learned.close();
        }
        result.put("threads", threads);
        result.put("cores", Runtime.getRuntime().availableProcessors());
        result.put("load_average", round(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        System.out.println(Json.write(result));
        return 0;
    }

    /** Consecutive drift-free 512×512 frames (offset-free raw, channels summed). */
    private static List<Image> speedStream() {
        SimulationSettings s = SimulationSettings.defaults().withSize(512, 512).withMaxDriftPx(0).withPhotonLevel(20)
                .withMaxFlowPxPerFrame(4).withSeed(FIRST_SEED);
        ForwardModel model = new ForwardModel(s, 0);
        List<Image> frames = new ArrayList<>();
        frames.add(SimulatedFlowPair.simulate(model, 1, SimulatedFlowPair.Input.RAW).previous());
        for (int t = 1; t <= 8; t++) {
            frames.add(SimulatedFlowPair.simulate(model, t, SimulatedFlowPair.Input.RAW).next());
        }
        return frames;
    }

    private record Speed(double megapixelsPerSecond, double msPerFrame, double cpuMsPerFrame) {
    }

    /** Runs the stream's pairs in order (cycling) for a warm-up, then for {@code speedSeconds}. */
    private Speed speed(List<Image> frames, FlowRefiner refiner) {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        com.sun.management.OperatingSystemMXBean cpu = os instanceof com.sun.management.OperatingSystemMXBean c ? c : null;
        try (ConsistentFlow flow = new ConsistentFlow(ConsistentFlow.Settings.defaults(), threads, refiner)) {
            FlowEstimate out = new FlowEstimate(512, 512);
            int pairs = frames.size() - 1;
            long warmEnd = System.nanoTime() + (long) (Math.min(3, speedSeconds / 2) * 1e9);
            int i = 0;
            while (System.nanoTime() < warmEnd) {
                flow.estimate(frames.get(i % pairs), frames.get(i % pairs + 1), out);
                i++;
            }
            long c0 = cpu == null ? 0 : cpu.getProcessCpuTime();
            long t0 = System.nanoTime();
            long end = t0 + (long) (speedSeconds * 1e9);
            int n = 0;
            while (n < 3 || System.nanoTime() < end) {
                flow.estimate(frames.get(i % pairs), frames.get(i % pairs + 1), out);
                i++;
                n++;
            }
            double ms = (System.nanoTime() - t0) / 1e6 / n;
            double cpuMs = cpu == null ? Double.NaN : (cpu.getProcessCpuTime() - c0) / 1e6 / n;
            return new Speed(512 * 512 / 1e3 / ms, ms, cpuMs);
        }
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
