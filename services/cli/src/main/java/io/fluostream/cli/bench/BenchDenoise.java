package io.fluostream.cli.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import io.fluostream.cli.Json;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.denoise.BlindSpotTrainer;
import io.fluostream.learning.denoise.ChannelWorkers;
import io.fluostream.learning.denoise.DenoiserDesign;
import io.fluostream.learning.denoise.FrameHistory;
import io.fluostream.learning.denoise.InMemoryModelLog;
import io.fluostream.learning.denoise.ModelRecords;
import io.fluostream.learning.denoise.ModelRegistry;
import io.fluostream.learning.denoise.Normalisation;
import io.fluostream.learning.denoise.OnlineTrainer;
import io.fluostream.learning.denoise.StreamDenoiser;
import io.fluostream.learning.denoise.Torch;
import io.fluostream.learning.denoise.TrainingOptions;
import io.fluostream.learning.denoise.TrainingSettings;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.learning.device.DeviceDenoiser;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fluostream bench denoise}: the learned denoiser against the classical one and against the
 * simulator's ground truth, trained the way the service trains — a {@link StreamDenoiser} serving a
 * live simulated stream frame by frame while its {@link OnlineTrainer} learns in the background — at
 * several photon levels, without and with temporal context; then inference speed at 512×512 on 1
 * and 2 CPU threads (and the GPU when there is one). The last line is one JSON object.
 *
 * <p><b>Device</b> ({@code --device cpu|djl-cpu|gpu}): the classical method — what the stage serves
 * until a model is in force — timed as the stage runs it with {@code fluostream.device} set so
 * (pure Java for cpu, {@link DeviceDenoiser} otherwise), by {@link DeviceThroughput}: {@code device},
 * {@code device_mpix_s} and its conditions ({@code device_path: classical}). The U-Net always runs
 * on libtorch: its figures are {@code cpu_mpix_s_*} and {@code gpu_mpix_s}. {@code --device-only}
 * skips everything else.
 */
@Command(name = "denoise", mixinStandardHelpOptions = true,
        description = "Learned vs classical denoising against ground truth (PSNR), time to the first model, inference speed.")
public final class BenchDenoise implements Callable<Integer> {

    @Option(names = "--photons", split = ",", description = "Photon levels (default ${DEFAULT-VALUE}).")
    List<Double> photons = List.of(2.0, 5.0, 20.0, 100.0);

    @Option(names = "--size", description = "Frame side for the quality runs, px (default ${DEFAULT-VALUE}).")
    int size = 256;

    @Option(names = "--channels", description = "Detection channels (default ${DEFAULT-VALUE}).")
    int channels = 4;

    @Option(names = "--train-seconds", description = "Training time per model, s (default ${DEFAULT-VALUE}).")
    int trainSeconds = 240;

    @Option(names = "--fps", description = "Frame rate of the simulated stream (default ${DEFAULT-VALUE}).")
    double fps = 5;

    @Option(names = "--eval-frames", description = "Frames scored after training (default ${DEFAULT-VALUE}).")
    int evalFrames = 8;

    @Option(names = "--eval-from", description = "First scored frame, after the training stream; the same frames"
            + " score every run of a photon level (default ${DEFAULT-VALUE}).")
    int evalFrom = 5000;

    @Option(names = "--speed-size", description = "Frame side of the speed runs, px (default ${DEFAULT-VALUE}).")
    int speedSize = 512;

    @Option(names = "--no-temporal", negatable = true, description = "Also train with temporal context (t-1, t-2) (default on).")
    boolean temporal = true;

    @Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--device-only", description = "Only the --device speed figure (no training runs, no network speeds).")
    boolean deviceOnly;

    @Option(names = "--seed", description = "Simulation seed (default ${DEFAULT-VALUE}).")
    long seed = 1;

    @Override
    public Integer call() throws Exception {
        if (!DeviceThroughput.CHOICES.contains(device.device())) {
            System.err.println("--device is '" + device.device() + "'; use one of " + DeviceThroughput.CHOICES);
            return 2;
        }
        Torch.init();
        int cores = Runtime.getRuntime().availableProcessors();
        if (deviceOnly) {
            Map<String, Object> json = deviceSpeed();
            json.put("cores", cores);
            System.out.println(Json.write(json));
            return 0;
        }
        System.out.printf(Locale.ROOT, "bench denoise: %d cores visible, %dx%d px, %d channels, %d s training per model,"
                + " stream at %.1f fps%n", cores, size, size, channels, trainSeconds, fps);
        List<Double> raw = new ArrayList<>();
        List<Double> classical = new ArrayList<>();
        List<Double> learned = new ArrayList<>();
        List<Double> learnedTemporal = new ArrayList<>();
        List<Map<String, Object>> runs = new ArrayList<>();
        Double firstModelSeconds = null;
        for (double p : photons) {
            Run plain = run(p, 0);
            runs.add(plain.json());
            raw.add(plain.psnrRaw);
            classical.add(plain.psnrClassical);
            learned.add(plain.psnrLearned);
            if (firstModelSeconds == null || p == 20.0) {
                firstModelSeconds = plain.firstModelSeconds;
            }
            if (temporal) {
                Run t = run(p, 2);
                runs.add(t.json());
                learnedTemporal.add(t.psnrLearned);
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("photon_levels", photons);
        json.put("psnr_raw", raw);
        json.put("psnr_classical", classical);
        json.put("psnr_learned", learned);
        json.put("psnr_learned_temporal", temporal ? learnedTemporal : null);
        json.put("first_model_seconds", firstModelSeconds);
        json.put("first_model_seconds_at_photons", photons.contains(20.0) ? 20.0 : photons.get(0));
        Speed s1 = speed(1, Device.cpu());
        Speed s2 = speed(2, Device.cpu());
        json.put("cpu_mpix_s_1t", s1.endToEnd);
        json.put("cpu_mpix_s_2t", s2.endToEnd);
        json.put("cpu_mpix_s_1t_network_only", s1.network);
        json.put("cpu_mpix_s_2t_network_only", s2.network);
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        if (gpus > 0) {
            json.put("gpu_mpix_s", speed(1, Device.gpu()).endToEnd);
        } else {
            json.put("gpu_mpix_s", null);
            json.put("gpu_reason", "no GPU: the PyTorch engine sees 0 GPUs (CPU build; use -Pgpu on a CUDA machine)");
        }
        json.put("speed_frame", speedSize + "x" + speedSize + "x" + channels + ", confidence on (2 passes)");
        json.putAll(deviceSpeed());
        json.put("cores", cores);
        json.put("training_threads", 1);
        json.put("train_seconds", trainSeconds);
        json.put("frame_size", size);
        json.put("channels", channels);
        json.put("runs", runs);
        System.out.println(Json.write(json));
        return 0;
    }

    /** The classical method on the {@code --device}, as the stage builds it for that device (one frame, 1 thread). */
    private Map<String, Object> deviceSpeed() {
        SimulationSettings settings = SimulationSettings.defaults().withSize(speedSize, speedSize)
                .withChannelsAndFluorophores(channels, Math.min(3, channels)).withSeed(seed);
        ForwardModel model = new ForwardModel(settings, 0);
        Image[] frames = {model.frame(0).raw(), model.frame(1).raw()};
        Map<String, Object> json = DeviceThroughput.measure(device.device(), speedSize, speedSize, 1, 8, 5,
                (DeviceChoice choice) -> {
                    DeviceDenoiser onDevice = choice.onDevice() ? new DeviceDenoiser(ClassicalDenoiser.Settings.defaults(),
                            choice.device()) : null;
                    ClassicalDenoiser java = new ClassicalDenoiser(ClassicalDenoiser.Settings.defaults());
                    return new DeviceThroughput.StageRun() {
                        @Override
                        public void frame(int i) {
                            Image raw = frames[i % frames.length];
                            if (onDevice != null) {
                                onDevice.denoise(raw, settings.offsetAdu());
                            } else {
                                java.denoise(raw, settings.offsetAdu());
                            }
                        }

                        @Override
                        public void close() {
                            if (onDevice != null) {
                                onDevice.close();
                            }
                        }
                    };
                });
        json.put("device_path", "classical");
        json.put("device_channels", channels);
        json.put("load_average", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        return json;
    }

    /** One photon level, one design: a live stream served and trained on, then scored. */
    private Run run(double photonLevel, int context) throws Exception {
        SimulationSettings settings = SimulationSettings.defaults().withSize(size, size)
                .withChannelsAndFluorophores(channels, Math.min(3, channels)).withPhotonLevel(photonLevel).withSeed(seed);
        ForwardModel model = new ForwardModel(settings, 0);
        String label = String.format(Locale.ROOT, "%s photons, %s", fmt(photonLevel), context == 0 ? "no context" : "context t-1, t-2");
        try (StreamDenoiser denoiser = StreamDenoiser.standalone("denoise", "bench")) {
            StreamDenoiser.Settings serve = new StreamDenoiser.Settings(ClassicalDenoiser.Settings.defaults(), context, true, 1, 1);
            MapHistory history = new MapHistory();
            TrainingOptions options = TrainingOptions.defaults().withContextFrames(context);
            long start = System.nanoTime();
            denoiser.startTraining(options);
            Double firstModel = null;
            int t = 0;
            long frameNanos = (long) (1e9 / fps);
            long lastReport = start;
            while ((System.nanoTime() - start) / 1e9 < trainSeconds) {
                long frameStart = System.nanoTime();
                SimulatedFrame f = model.frame(t);
                StreamDenoiser.Result r = denoiser.denoise("sim", t, f.raw(), settings.offsetAdu(), serve, history);
                if (firstModel == null && !r.method().equals(StreamDenoiser.CLASSICAL_METHOD)) {
                    firstModel = (System.nanoTime() - start) / 1e9;
                    System.out.printf(Locale.ROOT, "  %s: first model %s serving after %.1f s (frame %d)%n", label, r.method(), firstModel, t);
                }
                t++;
                if (System.nanoTime() - lastReport > 30e9) {
                    lastReport = System.nanoTime();
                    OnlineTrainer.Progress p = denoiser.progress();
                    System.out.printf(Locale.ROOT, "  %s: %.0f s, frame %d, step %d, loss %.4f, validation %.4f, serving %s%n", label,
                            (lastReport - start) / 1e9, t, p.step(), p.loss(), p.validationLoss(), denoiser.activeId());
                }
                long rest = frameNanos - (System.nanoTime() - frameStart);
                if (rest > 0) {
                    Thread.sleep(rest / 1_000_000, (int) (rest % 1_000_000));
                }
            }
            OnlineTrainer.Progress progress = denoiser.stopTraining();
            // Score frames far beyond the training stream, the same for every run of this photon level,
            // served by the model in force; the two frames before them fill the temporal context.
            t = Math.max(t, evalFrom - 2);
            for (; t < evalFrom; t++) {
                denoiser.denoise("sim", t, model.frame(t).raw(), settings.offsetAdu(), serve, history);
            }
            ClassicalDenoiser reference = new ClassicalDenoiser();
            double sRaw = 0;
            double sClassical = 0;
            double sLearned = 0;
            double uncertainty = 0;
            String method = "";
            for (int i = 0; i < evalFrames; i++, t++) {
                SimulatedFrame f = model.frame(t);
                StreamDenoiser.Result r = denoiser.denoise("sim", t, f.raw(), settings.offsetAdu(), serve, history);
                method = r.method();
                Image offsetFree = f.raw().copy();
                for (int k = 0; k < offsetFree.data().length; k++) {
                    offsetFree.data()[k] -= (float) settings.offsetAdu();
                }
                sRaw += Images.psnr(f.cleanChannels(), offsetFree);
                sClassical += Images.psnr(f.cleanChannels(), reference.denoise(f.raw(), settings.offsetAdu()).denoised());
                sLearned += Images.psnr(f.cleanChannels(), r.denoised());
                if (r.uncertainty() != null) {
                    uncertainty += Images.mean(r.uncertainty());
                }
            }
            Run run = new Run(photonLevel, context, sRaw / evalFrames, sClassical / evalFrames, sLearned / evalFrames,
                    firstModel, progress, method, t, uncertainty / evalFrames);
            System.out.printf(Locale.ROOT, "  %s: %d steps, %d versions; PSNR raw %.2f, classical %.2f, learned (%s) %.2f dB (%+.2f)%n",
                    label, progress.step(), progress.versions(), run.psnrRaw, run.psnrClassical, method, run.psnrLearned,
                    run.psnrLearned - run.psnrClassical);
            return run;
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private record Run(double photons, int context, double psnrRaw, double psnrClassical, double psnrLearned,
                       Double firstModelSeconds, OnlineTrainer.Progress progress, String method, int frames,
                       double uncertaintyMeanAdu) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("photons", photons);
            m.put("context_frames", context);
            m.put("psnr_raw", psnrRaw);
            m.put("psnr_classical", psnrClassical);
            m.put("psnr_learned", psnrLearned);
            m.put("gain_db", psnrLearned - psnrClassical);
            m.put("model", method);
            m.put("first_model_seconds", firstModelSeconds);
            m.put("steps", progress.step());
            m.put("versions", progress.versions());
            m.put("validation_loss", progress.bestValidation());
            m.put("last_sequence", frames - 1);
            m.put("uncertainty_mean_adu", uncertaintyMeanAdu);
            return m;
        }
    }

    /** Mpix/s of the learned serving path (noise fit, stabilisation, network, inverse, uncertainty) and of the network alone. */
    private record Speed(double endToEnd, double network) {
    }

    private Speed speed(int threads, Device device) throws Exception {
        SimulationSettings settings = SimulationSettings.defaults().withSize(speedSize, speedSize)
                .withChannelsAndFluorophores(channels, Math.min(3, channels)).withSeed(seed);
        ForwardModel model = new ForwardModel(settings, 0);
        DenoiserDesign design = DenoiserDesign.of(channels, 0);
        ModelRegistry registry = new ModelRegistry("denoise", device);
        InMemoryModelLog log = new InMemoryModelLog();
        log.subscribe(registry::apply);
        try (StreamDenoiser denoiser = new StreamDenoiser("denoise", registry, log, "bench")) {
            // Speed does not depend on the weights: an untrained network of the served design.
            try (BlindSpotTrainer t = new BlindSpotTrainer(design, TrainingSettings.defaults(), new Normalisation(0f, 1f), Device.cpu(), 1)) {
                TrainedModel m = TrainedModel.newBuilder().setStage("denoise").setName("speed").setVersion(1).setTraining("n2v")
                        .setFormat(WeightsFormat.WEIGHTS_DJL).setWeights(com.google.protobuf.ByteString.copyFrom(t.weights()))
                        .setArchitecture(ModelRecords.architecture(design, new Normalisation(0f, 1f))).build();
                log.publish(ModelRecords.versionKey(m), ModelRecords.of(m));
            }
            denoiser.activate("speed/1", "speed run");
            StreamDenoiser.Settings serve = new StreamDenoiser.Settings(ClassicalDenoiser.Settings.defaults(), 0, true, threads, threads);
            Image raw = model.frame(0).raw();
            int warm = 2;
            int n = 6;
            long t0 = 0;
            for (int i = 0; i < warm + n; i++) {
                if (i == warm) {
                    t0 = System.nanoTime();
                }
                denoiser.denoise("speed", i, raw, settings.offsetAdu(), serve, FrameHistory.NONE);
            }
            double perFrame = (System.nanoTime() - t0) / 1e9 / n;
            double mpix = (double) speedSize * speedSize / 1e6;
            // The network with its guide, padding and read-back (both passes), as the serving path calls it.
            float[] planes = new float[channels * speedSize * speedSize];
            java.util.Arrays.fill(planes, 1f);
            try (var loaded = registry.load(registry.model("speed/1").orElseThrow());
                 ChannelWorkers workers = new ChannelWorkers(threads)) {
                Torch.useThreads(threads);
                for (int i = 0; i < warm; i++) {
                    loaded.predict(planes, speedSize, speedSize, true, workers);
                }
                long t1 = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    loaded.predict(planes, speedSize, speedSize, true, workers);
                }
                double netPerFrame = (System.nanoTime() - t1) / 1e9 / n;
                System.out.printf(Locale.ROOT, "  speed %s, %d thread(s): %.3f s/frame end to end (%.2f Mpix/s), network %.3f s (%.2f Mpix/s)%n",
                        device, threads, perFrame, mpix / perFrame, netPerFrame, mpix / netPerFrame);
                return new Speed(mpix / perFrame, mpix / netPerFrame);
            }
        }
    }

    /** The stream's recent stabilised frames, in memory. */
    private static final class MapHistory implements FrameHistory {
        private final Map<Long, float[]> frames = new HashMap<>();

        @Override
        public float[] recall(long sequence) {
            return frames.get(sequence);
        }

        @Override
        public void remember(long sequence, float[] stabilised, int channels, int height, int width) {
            frames.put(sequence, stabilised);
            frames.remove(sequence - 3);
        }
    }
}
