package io.fluostream.cli.bench;

import io.fluostream.cli.Json;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.CameraNoise;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.stabilise.DisplacementField;
import io.fluostream.imaging.stabilise.FieldResampler;
import io.fluostream.imaging.stabilise.Registration;
import io.fluostream.imaging.stabilise.StabiliseSettings;
import io.fluostream.imaging.stabilise.Stabiliser;
import io.fluostream.imaging.stabilise.StreamTemplate;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./fluostream bench stabilise}: accuracy of drift correction against the simulator's known
 * drift and a known smooth deformation, and speed, beside a plain integer-pixel phase correlation.
 *
 * <p><b>Rigid accuracy</b>: simulated streams with the deformation off (so the truth drift is
 * unambiguous) and drift up to 25 % of the field; every frame is registered on the sum of its
 * raw channels minus the camera offset (no denoising) with the stage's defaults (running-mean
 * template, automatic binning); the error is the RMS over frames of |measured − true drift| (both
 * axes together), frame 0 (the template) left out. The baseline registers the same frames to the
 * first frame by phase correlation without windows or sub-pixel refinement.
 *
 * <p><b>Piecewise accuracy</b>: a drift-free simulated frame, warped by a known smooth field (a
 * rigid offset plus sinusoids of 1.2–1.6 fields' wavelength and up to 2.5 px amplitude, changing
 * every frame), then given camera noise; the error is the RMS over all pixels and frames of
 * |estimated − true displacement|.
 *
 * <p><b>Speed</b>: estimate + resample of one-channel frames (a slowly drifting stream), wall
 * clock, with the stated thread count; the JSON also carries CPU time (all threads, helpers'
 * spin-waits included), one thread's throughput per CPU-second, and the machine's load.
 */
@Command(name = "stabilise", mixinStandardHelpOptions = true,
        description = "Drift correction: accuracy against the simulator's truth and speed, beside an integer-pixel"
                + " phase-correlation baseline. The last line is one JSON object.")
public final class BenchStabilise implements Callable<Integer> {

    @Option(names = "--size", description = "Frame side for the accuracy runs, px (default ${DEFAULT-VALUE}).")
    int size = 512;

    @Option(names = "--streams", description = "Simulated streams per photon level (default ${DEFAULT-VALUE}).")
    int streams = 2;

    @Option(names = "--frames", description = "Frames per stream (default ${DEFAULT-VALUE}).")
    int frames = 48;

    @Option(names = "--stride", description = "Simulator time steps between registered frames (default ${DEFAULT-VALUE}).")
    int stride = 8;

    @Option(names = "--piecewise-frames", description = "Frames of the piecewise accuracy run (default ${DEFAULT-VALUE}).")
    int piecewiseFrames = 32;

    @Option(names = "--threads", description = "Threads per frame for the stage's speed figures (default ${DEFAULT-VALUE}).")
    int threads = 2;

    @Option(names = "--speed-frames", description = "Frames timed per speed figure (default ${DEFAULT-VALUE}).")
    int speedFrames = 300;

    @Option(names = "--quick", description = "Small, fast run (for a smoke test; the figures are not the benchmark's).")
    boolean quick;

    @Option(names = "--seed", description = "Simulator seed (default ${DEFAULT-VALUE}).")
    long seed = 7;

    @Override
    public Integer call() {
        if (quick) {
            size = Math.min(size, 128);
            streams = 1;
            frames = Math.min(frames, 8);
            piecewiseFrames = Math.min(piecewiseFrames, 4);
            speedFrames = Math.min(speedFrames, 10);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        StabiliseSettings rigid = StabiliseSettings.DEFAULT;
        System.out.printf("stabilise bench: %d streams x %d frames of %dx%d, registering the sum of raw channels"
                + " minus offset; %s template, %s mode%n", streams, frames, size, size, rigid.template().id(),
                rigid.mode().id());

        double[] photon20 = rigidAccuracy(size, 20, rigid, true);
        double[] photon5 = rigidAccuracy(size, 5, rigid, false);
        json.put("rigid_rms_err_px_photon20", photon20[0]);
        json.put("rigid_rms_err_px_photon5", photon5[0]);
        json.put("baseline_rms_err_px_photon20", photon20[1]);
        double[] piecewise = piecewiseAccuracy(size, 20);
        json.put("piecewise_rms_err_px", piecewise[0]);

        int speedSize = quick ? 128 : 512;
        double[] rigid512 = speed(speedSize, rigid, threads);
        json.put("rigid_mpix_s_" + 512, rigid512[0]);
        double[] rigid2048 = quick ? new double[] {Double.NaN, Double.NaN} : speed(2048, rigid, threads);
        json.put("rigid_mpix_s_2048", rigid2048[0]);
        double[] baseline = baselineSpeed(speedSize);
        json.put("baseline_mpix_s_512", baseline[0]);
        double[] piecewise512 = speed(speedSize, rigid.withMode(StabiliseSettings.Mode.PIECEWISE), threads);
        json.put("piecewise_mpix_s_512", piecewise512[0]);
        // One thread, per second of its CPU time: what the code does per core, little affected by
        // other load on the machine (wall-clock figures above are).
        double[] rigidOne = speed(speedSize, rigid, 1);
        double[] piecewiseOne = speed(speedSize, rigid.withMode(StabiliseSettings.Mode.PIECEWISE), 1);

        // Conditions and supporting figures.
        json.put("accuracy_size_px", size);
        json.put("piecewise_rms_err_px_interior", piecewise[1]);
        json.put("piecewise_rigid_only_rms_err_px", piecewise[2]);
        json.put("rigid_max_drift_px", photon20[2]);
        json.put("rigid_min_confidence_photon5", photon5[3]);
        json.put("threads", threads);
        json.put("speed_channels", 1);
        json.put("rigid_cpu_ms_per_frame_512", rigid512[1]);
        json.put("rigid_cpu_ms_per_frame_2048", rigid2048[1]);
        json.put("piecewise_cpu_ms_per_frame_512", piecewise512[1]);
        json.put("baseline_threads", 1);
        json.put("rigid_mpix_per_cpu_s_512_1thread", mpixPerCpuSecond(speedSize, rigidOne[1]));
        json.put("piecewise_mpix_per_cpu_s_512_1thread", mpixPerCpuSecond(speedSize, piecewiseOne[1]));
        json.put("baseline_mpix_per_cpu_s_512", mpixPerCpuSecond(speedSize, baseline[1]));
        json.put("available_processors", Runtime.getRuntime().availableProcessors());
        json.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        json.put("quick", quick);
        System.out.println(Json.write(json));
        return 0;
    }

    /**
     * Registers {@link #streams} simulated streams at a photon level.
     *
     * @return {rigid RMS error, baseline RMS error (if asked), largest |drift| per axis, lowest confidence}
     */
    private double[] rigidAccuracy(int side, double photons, StabiliseSettings settings, boolean withBaseline) {
        SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(side).width(side)
                .photonLevel(photons).maxFlowPxPerFrame(0).maxDriftPx(0.25 * side).seed(seed).build();
        double sq = 0;
        double baseSq = 0;
        int n = 0;
        double maxDrift = 0;
        double minConfidence = 1;
        try (Stabiliser stabiliser = new Stabiliser(threads)) {
            for (int s = 0; s < streams; s++) {
                ForwardModel model = new ForwardModel(sim, s);
                StreamTemplate template = new StreamTemplate();
                BenchStabiliseBaseline baseline = withBaseline ? new BenchStabiliseBaseline(side, side) : null;
                for (int k = 0; k < frames; k++) {
                    int t = k * stride;
                    SimulatedFrame f = model.frame(t);
                    Image frame = offsetFree(f.raw(), sim.offsetAdu());
                    Registration r = stabiliser.register(template, frame, t, settings);
                    int[] integer = baseline == null ? null : baseline.register(frame);
                    if (k == 0) {
                        continue;
                    }
                    double ex = r.measured().dx() - f.driftX();
                    double ey = r.measured().dy() - f.driftY();
                    sq += ex * ex + ey * ey;
                    if (integer != null) {
                        double bx = integer[0] - f.driftX();
                        double by = integer[1] - f.driftY();
                        baseSq += bx * bx + by * by;
                    }
                    n++;
                    maxDrift = Math.max(maxDrift, Math.max(Math.abs(f.driftX()), Math.abs(f.driftY())));
                    minConfidence = Math.min(minConfidence, r.measured().confidence());
                }
            }
        }
        double rms = Math.sqrt(sq / n);
        double baseRms = withBaseline ? Math.sqrt(baseSq / n) : Double.NaN;
        System.out.printf("rigid, %.0f photons: RMS error %.4f px over %d frames (baseline %.4f px), |drift| up to"
                + " %.1f px per axis, lowest confidence %.3f%n", photons, rms, n, baseRms, maxDrift, minConfidence);
        return new double[] {rms, baseRms, maxDrift, minConfidence};
    }

    /** @return {RMS field error, the same over the interior (1/8 of the side in from each edge), rigid-only RMS} */
    private double[] piecewiseAccuracy(int side, double photons) {
        int margin = 32;
        int big = side + 2 * margin;
        SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(big).width(big)
                .photonLevel(photons).maxFlowPxPerFrame(0).maxDriftPx(0).seed(seed).build();
        ForwardModel model = new ForwardModel(sim, 0);
        Image clean = model.driftFreeClean(0);
        CameraNoise camera = CameraNoise.of(sim);
        FieldResampler warp = new FieldResampler();
        StabiliseSettings piecewise = StabiliseSettings.DEFAULT.withMode(StabiliseSettings.Mode.PIECEWISE);
        double sq = 0;
        long n = 0;
        double interiorSq = 0;
        long interiorN = 0;
        double rigidSq = 0;
        try (Stabiliser stabiliser = new Stabiliser(threads)) {
            StreamTemplate template = new StreamTemplate();
            for (int k = 0; k < piecewiseFrames; k++) {
                KnownField truth = k == 0 ? KnownField.NONE : KnownField.forFrame(k, side);
                Image warped = warp.resample(clean, truth.inverseOnGrid(big, big, margin));
                Image raw = camera.expose(warped, new SplittableRandom(seed * 1000 + k));
                Image frame = crop(raw, margin, side, sim.offsetAdu());
                Registration r = stabiliser.register(template, frame, k, piecewise);
                if (k == 0) {
                    continue;
                }
                DisplacementField f = r.field();
                int border = side / 8;
                for (int y = 0; y < side; y += 2) {
                    for (int x = 0; x < side; x += 2) {
                        double dx = f != null ? f.dxAt(x, y) : r.appliedDx();
                        double dy = f != null ? f.dyAt(x, y) : r.appliedDy();
                        double e2 = sq(dx - truth.dx(x, y)) + sq(dy - truth.dy(x, y));
                        sq += e2;
                        n++;
                        rigidSq += sq(r.measured().dx() - truth.dx(x, y)) + sq(r.measured().dy() - truth.dy(x, y));
                        if (x >= border && x < side - border && y >= border && y < side - border) {
                            interiorSq += e2;
                            interiorN++;
                        }
                    }
                }
            }
        }
        double rms = Math.sqrt(sq / n);
        double interior = Math.sqrt(interiorSq / interiorN);
        double rigidOnly = Math.sqrt(rigidSq / n);
        System.out.printf("piecewise, %.0f photons, %dx%d: field RMS error %.4f px (interior %.4f px; a rigid shift"
                + " alone: %.4f px) over %d frames%n", photons, side, side, rms, interior, rigidOnly, piecewiseFrames - 1);
        return new double[] {rms, interior, rigidOnly};
    }

    /**
     * A smooth known displacement d(p) on the cropped frame's grid: the reference's content at p
     * appears in the frame at p + d(p).
     */
    private record KnownField(double offsetX, double offsetY, double amplitude, double phase, double side) {

        static final KnownField NONE = new KnownField(0, 0, 0, 0, 1);

        static KnownField forFrame(int k, int side) {
            return new KnownField(3.0, -2.0, 2.5 * Math.sin(0.7 * k + 0.3), 0.4 * k, side);
        }

        double dx(double x, double y) {
            return offsetX + amplitude * Math.sin(2 * Math.PI * x / (1.3 * side) + phase)
                    * Math.cos(2 * Math.PI * y / (1.6 * side) + 0.5 * phase);
        }

        double dy(double x, double y) {
            return offsetY + amplitude * Math.cos(2 * Math.PI * x / (1.5 * side) + 0.3 * phase)
                    * Math.sin(2 * Math.PI * y / (1.2 * side) + phase);
        }

        /**
         * The warp that makes the frame from the reference, on the uncropped grid: frame(q) =
         * reference(q + e(q)) with e(q) = p − q where p + d(p) = q (solved by fixed-point
         * iteration; the field's strain is ~3 %), as a field sampled at every pixel.
         */
        DisplacementField inverseOnGrid(int h, int w, int margin) {
            double[] ex = new double[h * w];
            double[] ey = new double[h * w];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double qx = x - margin;
                    double qy = y - margin;
                    double px = qx;
                    double py = qy;
                    for (int i = 0; i < 12; i++) {
                        double nx = qx - dx(px, py);
                        double ny = qy - dy(px, py);
                        px = nx;
                        py = ny;
                    }
                    ex[y * w + x] = px - qx;
                    ey[y * w + x] = py - qy;
                }
            }
            double[] cx = new double[w];
            double[] cy = new double[h];
            for (int i = 0; i < w; i++) {
                cx[i] = i;
            }
            for (int i = 0; i < h; i++) {
                cy[i] = i;
            }
            return new DisplacementField(h, w, cx, cy, ex, ey, new double[h * w]);
        }
    }

    /**
     * Registration speed over a slowly drifting one-channel stream (64 consecutive simulated
     * frames, cycled).
     *
     * @return {frame megapixels per second of wall time, CPU ms per frame summed over the threads}
     */
    private double[] speed(int side, StabiliseSettings settings, int threadCount) {
        Image[] stream = speedStream(side, quick ? 4 : side >= 2048 ? 8 : 64);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try (Stabiliser stabiliser = new Stabiliser(threadCount)) {
            StreamTemplate template = new StreamTemplate();
            Image out = new Image(1, side, side);
            int count = side >= 2048 ? Math.max(4, speedFrames / 8) : speedFrames;
            int warmup = Math.max(4, count / 3);
            for (int i = 0; i < warmup; i++) {
                stabiliser.register(template, stream[i % stream.length], i, settings, out);
            }
            long cpu0 = teamCpu(cpu);
            long wall0 = System.nanoTime();
            for (int i = 0; i < count; i++) {
                stabiliser.register(template, stream[i % stream.length], warmup + i, settings, out);
            }
            long wall = System.nanoTime() - wall0;
            long cpuNs = teamCpu(cpu) - cpu0;
            double mpix = (double) side * side * count / (wall / 1e9) / 1e6;
            double cpuMs = cpuNs / 1e6 / count;
            System.out.printf("%s %dx%d, %d thread(s): %.2f ms/frame wall = %.1f MP/s; CPU %.2f ms/frame (all threads)%n",
                    settings.mode().id(), side, side, threadCount, wall / 1e6 / count, mpix, cpuMs);
            return new double[] {mpix, cpuMs};
        }
    }

    /** The baseline's speed: integer phase correlation and integer translation, one thread. */
    private double[] baselineSpeed(int side) {
        Image[] stream = speedStream(side, quick ? 4 : 64);
        BenchStabiliseBaseline baseline = new BenchStabiliseBaseline(side, side);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        Image out = new Image(1, side, side);
        int warmup = Math.max(4, speedFrames / 3);
        for (int i = 0; i < warmup; i++) {
            int[] d = baseline.register(stream[i % stream.length]);
            BenchStabiliseBaseline.translate(stream[i % stream.length], d[0], d[1], out);
        }
        long cpu0 = cpu.getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        for (int i = 0; i < speedFrames; i++) {
            int[] d = baseline.register(stream[i % stream.length]);
            BenchStabiliseBaseline.translate(stream[i % stream.length], d[0], d[1], out);
        }
        long wall = System.nanoTime() - wall0;
        double cpuMs = (cpu.getCurrentThreadCpuTime() - cpu0) / 1e6 / speedFrames;
        double mpix = (double) side * side * speedFrames / (wall / 1e9) / 1e6;
        System.out.printf("baseline %dx%d, 1 thread: %.2f ms/frame wall = %.1f MP/s; CPU %.2f ms/frame%n",
                side, side, wall / 1e6 / speedFrames, mpix, cpuMs);
        return new double[] {mpix, cpuMs};
    }

    /** Consecutive frames of one simulated stream, as the offset-free sum of their raw channels. */
    private Image[] speedStream(int side, int count) {
        SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(side).width(side)
                .maxFlowPxPerFrame(0).seed(seed).build();
        ForwardModel model = new ForwardModel(sim, 0);
        Image[] out = new Image[count];
        for (int t = 0; t < count; t++) {
            Image raw = model.frame(t).raw();
            Image sum = new Image(1, side, side);
            float[] d = raw.data();
            float[] s = sum.data();
            int n = side * side;
            float offset = (float) (sim.offsetAdu() * raw.channels());
            for (int c = 0; c < raw.channels(); c++) {
                for (int i = 0; i < n; i++) {
                    s[i] += d[c * n + i];
                }
            }
            for (int i = 0; i < n; i++) {
                s[i] -= offset;
            }
            out[t] = sum;
        }
        return out;
    }

    /** CPU time so far of this thread and the stabiliser's helper threads, ns. */
    private static long teamCpu(ThreadMXBean cpu) {
        long total = cpu.getCurrentThreadCpuTime();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.isAlive() && t.getName().startsWith("stabilise-worker-")) {
                long ns = cpu.getThreadCpuTime(t.getId());
                if (ns > 0) {
                    total += ns;
                }
            }
        }
        return total;
    }

    private static Image offsetFree(Image raw, double offset) {
        Image out = raw.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) {
            d[i] -= (float) offset;
        }
        return out;
    }

    private static Image crop(Image raw, int margin, int side, double offset) {
        Image out = new Image(raw.channels(), side, side);
        for (int c = 0; c < raw.channels(); c++) {
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    out.set(c, y, x, raw.get(c, y + margin, x + margin) - (float) offset);
                }
            }
        }
        return out;
    }

    private static double mpixPerCpuSecond(int side, double cpuMsPerFrame) {
        return (double) side * side / (cpuMsPerFrame / 1e3) / 1e6;
    }

    private static double sq(double v) {
        return v * v;
    }
}
