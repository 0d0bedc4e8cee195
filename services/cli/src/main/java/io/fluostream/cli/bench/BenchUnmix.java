package io.fluostream.cli.bench;

import io.fluostream.cli.Json;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.NoiseModel;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.PoissonUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectraEstimator;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.learning.device.DeviceUnmixer;
import io.fluostream.learning.unmix.LearnedUnmixer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fluostream bench unmix}: quality of every unmixing method against the forward model's
 * ground truth, the exact NNLS path's speed, and blind spectra estimation.
 *
 * <p>Input is what the unmix stage sees: forward-model frames (default 4 channels, 3 fluorophores,
 * 256 × 256) denoised by {@link ClassicalDenoiser} with the known camera offset. RMSE is over all
 * abundance samples, divided by the mean true abundance. Poisson ML takes the gain and read noise
 * the denoiser fitted on the frame, as the stage does. Blind estimation reads raw camera frames
 * instead ({@code --blind-frames} of stream 2 at {@code --blind-photons}), as the stage samples
 * them from frames.raw for it. Speed: NNLS and LS on one denoised
 * 1024 × 1024 frame at 20 photons, {@code --threads} threads; {@code *_mpix_s} is wall-clock
 * throughput (what this machine gives now, other load included), {@code *_mpix_s_cpu} the same
 * work divided by the CPU time the unmixing threads got (what uncontended cores give).
 *
 * <p><b>Device</b> ({@code --device cpu|djl-cpu|gpu}): exact NNLS on the same frame as the stage
 * runs it with {@code fluostream.device} set so (the pure-Java unmixer for cpu, {@link DeviceUnmixer}
 * otherwise), timed by {@link DeviceThroughput}: {@code device}, {@code device_mpix_s} (null with
 * the reason when the device is unavailable). {@code --device-only} skips everything else.
 */
@Command(name = "unmix", mixinStandardHelpOptions = true,
        description = "Unmixing quality (LS, NNLS, Poisson ML, learned) vs ground truth, NNLS speed, blind spectra.")
public final class BenchUnmix implements Callable<Integer> {

    @Option(names = "--photons", split = ",", description = "Photon levels (default ${DEFAULT-VALUE}).")
    double[] photonLevels = {2, 5, 20, 100};

    @Option(names = "--size", description = "Side of the quality frames, px (default ${DEFAULT-VALUE}).")
    int size = 256;

    @Option(names = "--frames", description = "Frames per photon level (default ${DEFAULT-VALUE}).")
    int frames = 2;

    @Option(names = "--speed-size", description = "Side of the speed frame, px (default ${DEFAULT-VALUE}).")
    int speedSize = 1024;

    @Option(names = "--threads", description = "Threads for the speed runs (default ${DEFAULT-VALUE}).")
    int threads = 2;

    @Option(names = "--seconds", description = "Timed seconds per speed run (default ${DEFAULT-VALUE}).")
    double seconds = 4;

    @Option(names = "--blind-frames", description = "Frames sampled for blind estimation (default ${DEFAULT-VALUE}).")
    int blindFrames = 4;

    @Option(names = "--blind-photons", description = "Photon level of blind estimation (default ${DEFAULT-VALUE}).")
    double blindPhotons = 20;

    @Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--device-only", description = "Only the --device speed figure (no quality runs, no other speeds).")
    boolean deviceOnly;

    @Override
    public Integer call() throws Exception {
        if (!DeviceThroughput.CHOICES.contains(device.device())) {
            System.err.println("--device is '" + device.device() + "'; use one of " + DeviceThroughput.CHOICES);
            return 2;
        }
        if (deviceOnly) {
            ReferenceSpectra spectra = ReferenceSpectra.of(new ForwardModel(SimulationSettings.defaults().withSize(16, 16), 0)
                    .mixingMatrix());
            Map<String, Object> out = deviceSpeed(spectra);
            out.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            System.out.println(Json.write(out));
            return 0;
        }
        SimulationSettings base = SimulationSettings.defaults().withSize(size, size);
        ReferenceSpectra spectra = ReferenceSpectra.of(new ForwardModel(base.withSize(16, 16), 0).mixingMatrix());
        System.out.printf(Locale.ROOT, "unmix bench: C=%d F=%d, spectra %s, vector API %s, %d cores%n",
                spectra.channels(), spectra.fluorophores(), spectra.fingerprint(), SpectralUnmixer.vectorApiAvailable(),
                Runtime.getRuntime().availableProcessors());
        Map<String, Object> out = new LinkedHashMap<>();
        List<Double> levels = new ArrayList<>();
        List<Double> ls = new ArrayList<>();
        List<Double> nnls = new ArrayList<>();
        List<Double> poisson = new ArrayList<>();
        List<Double> learned = new ArrayList<>();
        String learnedNote;
        try (LearnedUnmixer model = loadLearned()) {
            learnedNote = model == null ? "shipped model unavailable"
                    : model.trainedFor(spectra) ? model.card().modelId() : "trained for other spectra";
            for (double photons : photonLevels) {
                double[] r = quality(base.withPhotonLevel(photons), spectra, model);
                levels.add(photons);
                ls.add(r[0]);
                nnls.add(r[1]);
                poisson.add(r[2]);
                learned.add(r[3]);
                System.out.printf(Locale.ROOT, "photons %6.1f  rmse_rel  ls %.4f  nnls %.4f  poisson %.4f  learned %.4f%n",
                        photons, r[0], r[1], r[2], r[3]);
            }
        }
        out.put("photon_levels", levels);
        out.put("rmse_rel_ls", ls);
        out.put("rmse_rel_nnls", nnls);
        out.put("rmse_rel_poisson", poisson);
        out.put("rmse_rel_learned", learned);
        out.put("learned_model", learnedNote);

        Image speedFrame = denoised(SimulationSettings.defaults().withSize(speedSize, speedSize), 1, 0).denoised();
        double negative = negativeShare(spectra, speedFrame);
        double[] nnlsSpeed;
        double[] lsSpeed;
        try (NnlsUnmixer n = new NnlsUnmixer(spectra, threads); LeastSquaresUnmixer l = new LeastSquaresUnmixer(spectra, threads)) {
            nnlsSpeed = speed(n, speedFrame);
            lsSpeed = speed(l, speedFrame);
            out.put("vectorised", n.vectorised());
        }
        System.out.printf(Locale.ROOT, "speed %dx%d, %d threads, %.0f%% of pixels need the exact fix: NNLS %.1f MP/s"
                        + " (%.1f per CPU-s x %d), LS %.1f MP/s (%.1f per CPU-s x %d)%n", speedSize, speedSize, threads,
                100 * negative, nnlsSpeed[0], nnlsSpeed[1] / threads, threads, lsSpeed[0], lsSpeed[1] / threads, threads);
        out.put("nnls_mpix_s", nnlsSpeed[0]);
        out.put("ls_mpix_s", lsSpeed[0]);
        out.put("nnls_mpix_s_cpu", nnlsSpeed[1]);
        out.put("ls_mpix_s_cpu", lsSpeed[1]);
        out.put("nnls_fixed_pixel_share", negative);
        out.put("threads", threads);
        out.put("speed_frame_px", speedSize);
        out.putAll(deviceSpeed(spectra));

        double angle = blindAngle(spectra);
        System.out.printf(Locale.ROOT, "blind estimation at %.0f photons from %d raw frames: worst angle %.2f deg%n",
                blindPhotons, blindFrames, angle);
        out.put("blind_spectral_angle_deg", angle);
        out.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.println(Json.write(out));
        return 0;
    }

    /** Exact NNLS of one denoised frame on the {@code --device}, as the stage builds it for that device. */
    private Map<String, Object> deviceSpeed(ReferenceSpectra spectra) {
        Image frame = denoised(SimulationSettings.defaults().withSize(speedSize, speedSize), 1, 0).denoised();
        Map<String, Object> json = DeviceThroughput.measure(device.device(), speedSize, speedSize, threads, seconds, 5,
                (DeviceChoice choice) -> {
                    DeviceUnmixer onDevice = choice.onDevice() ? new DeviceUnmixer(spectra, true, choice.device()) : null;
                    NnlsUnmixer java = onDevice == null ? new NnlsUnmixer(spectra, threads) : null;
                    return new DeviceThroughput.StageRun() {
                        @Override
                        public void frame(int i) {
                            if (onDevice != null) {
                                onDevice.unmix(frame);
                            } else {
                                java.unmix(frame);
                            }
                        }

                        @Override
                        public void close() {
                            if (onDevice != null) {
                                onDevice.close();
                            } else {
                                java.close();
                            }
                        }
                    };
                });
        json.put("device_method", "nnls");
        return json;
    }

    private static LearnedUnmixer loadLearned() {
        try {
            return LearnedUnmixer.shipped();
        } catch (Exception | LinkageError e) {
            System.out.println("learned unmixing unavailable: " + e.getMessage());
            return null;
        }
    }

    /** {LS, NNLS, Poisson, learned} relative RMSE over {@link #frames} frames of stream 1. */
    private double[] quality(SimulationSettings s, ReferenceSpectra spectra, LearnedUnmixer model) {
        double[] squared = new double[4];
        double truthSum = 0;
        long samples = 0;
        for (int k = 0; k < frames; k++) {
            int t = 5 * k;
            SimulatedFrame frame = new ForwardModel(s, 1).frame(t);
            ClassicalDenoiser.Result d = new ClassicalDenoiser().denoise(frame.raw(), s.offsetAdu());
            Image x = d.denoised();
            Image truth = frame.abundances();
            NoiseModel fit = d.noise().get(0);
            Image[] estimates = new Image[4];
            try (LeastSquaresUnmixer l = new LeastSquaresUnmixer(spectra, threads);
                    NnlsUnmixer n = new NnlsUnmixer(spectra, threads);
                    PoissonUnmixer p = new PoissonUnmixer(spectra, fit.gain(), fit.readNoiseElectrons(), threads)) {
                estimates[0] = l.unmix(x).abundances();
                estimates[1] = n.unmix(x).abundances();
                estimates[2] = p.unmix(x).abundances();
            }
            estimates[3] = model != null && model.trainedFor(spectra) ? model.unmix(x) : null;
            float[] tr = truth.data();
            for (int m = 0; m < 4; m++) {
                if (estimates[m] == null) {
                    squared[m] = Double.NaN;
                    continue;
                }
                float[] e = estimates[m].data();
                for (int i = 0; i < tr.length; i++) {
                    double diff = e[i] - tr[i];
                    squared[m] += diff * diff;
                }
            }
            for (float v : tr) {
                truthSum += v;
            }
            samples += tr.length;
        }
        double mean = truthSum / samples;
        double[] rel = new double[4];
        for (int m = 0; m < 4; m++) {
            rel[m] = Math.sqrt(squared[m] / samples) / mean;
        }
        return rel;
    }

    private static ClassicalDenoiser.Result denoised(SimulationSettings s, int stream, int t) {
        SimulatedFrame frame = new ForwardModel(s, stream).frame(t);
        return new ClassicalDenoiser().denoise(frame.raw(), s.offsetAdu());
    }

    /** Share of pixels whose least-squares solution has a negative coefficient (need the exact fix). */
    private static double negativeShare(ReferenceSpectra spectra, Image x) {
        try (LeastSquaresUnmixer l = new LeastSquaresUnmixer(spectra)) {
            return (double) LeastSquaresUnmixer.pixelsWithANegative(l.unmix(x).abundances()) / x.planeSize();
        }
    }

    /** Unmixes {@code x} again and again for at least {@code nanos}; returns how many times. */
    private static int computeFor(SpectralUnmixer u, Image x, Image a, Image r, long nanos) {
        long t0 = System.nanoTime();
        int count = 0;
        do {
            u.compute(x, a, r);
            count++;
        } while (System.nanoTime() - t0 < nanos);
        return count;
    }

    /**
     * {wall-clock MP/s, MP per CPU-second of the unmixing threads × threads}: median over timed
     * runs of about {@code seconds / 9} each, after warm-up: half-second rounds until the
     * throughput per CPU-second stops rising (two rounds in a row within 5% of the best), at most
     * 30 s. On a loaded machine the JIT's compiler threads get little CPU, and a fixed second of
     * warm-up timed the Vector API path before it was compiled (measured: 10 instead of 190 MP per CPU-s).
     */
    private double[] speed(SpectralUnmixer u, Image x) {
        Image a = new Image(u.spectra().fluorophores(), x.height(), x.width());
        Image r = new Image(1, x.height(), x.width());
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long warmUntil = System.nanoTime() + 30_000_000_000L;
        double best = 0;
        int flat = 0;
        while (flat < 2 && System.nanoTime() < warmUntil) {
            long cpu0 = unmixingCpuNanos(mx);
            int count = computeFor(u, x, a, r, 500_000_000L);
            double perCpuSecond = (double) count * x.planeSize() / Math.max(1, unmixingCpuNanos(mx) - cpu0);
            flat = perCpuSecond > 1.05 * best ? 0 : flat + 1;
            best = Math.max(best, perCpuSecond);
        }
        int runs = 9;
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        long budget = (long) (seconds / runs * 1e9);
        for (int k = 0; k < runs; k++) {
            long cpu0 = unmixingCpuNanos(mx);
            long t0 = System.nanoTime();
            int count = computeFor(u, x, a, r, budget);
            long elapsed = System.nanoTime() - t0;
            long cpuUsed = unmixingCpuNanos(mx) - cpu0;
            double megapixels = (double) count * x.planeSize() / 1e6;
            wall[k] = megapixels / (elapsed / 1e9);
            cpu[k] = megapixels / (cpuUsed / 1e9) * u.parallelism();
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        return new double[] {wall[runs / 2], cpu[runs / 2]};
    }

    /** CPU time of this thread and the unmixers' worker threads. */
    private static long unmixingCpuNanos(ThreadMXBean mx) {
        long total = mx.getCurrentThreadCpuTime();
        for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("fluostream-unmix-")) {
                total += Math.max(0, mx.getThreadCpuTime(info.getThreadId()));
            }
        }
        return total;
    }

    /**
     * Worst angle of blind estimation from {@link #blindFrames} raw camera frames of stream 2
     * (frames 0, 3, 6, ...), as the unmix stage samples them from frames.raw.
     */
    private double blindAngle(ReferenceSpectra truth) {
        SimulationSettings s = SimulationSettings.defaults().withSize(size, size).withPhotonLevel(blindPhotons);
        ForwardModel model = new ForwardModel(s, 2);
        List<Image> frames = new ArrayList<>();
        for (int k = 0; k < blindFrames; k++) {
            frames.add(model.frame(3 * k).raw());
        }
        SpectraEstimator.Estimate e = new SpectraEstimator(SpectraEstimator.Settings.of(truth.fluorophores())).estimate(frames);
        System.out.println("blind estimate: " + e);
        return SpectraEstimator.worstAngleDegrees(truth, e.spectra(), null);
    }
}
