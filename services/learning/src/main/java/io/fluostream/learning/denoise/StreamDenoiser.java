package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.NoiseEstimator;
import io.fluostream.imaging.denoise.NoiseModel;
import io.fluostream.learning.device.DeviceDenoiser;
import io.fluostream.proto.ModelActivation;
import io.fluostream.proto.ModelRecord;
import io.fluostream.proto.NetworkArchitecture;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.WeightsFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The denoise stage's engine, free of Kafka and Quarkus: serves each frame with the model in force
 * (or the classical denoiser until there is one, and for frames a model cannot take), feeds the
 * on-line trainer, and carries out the control calls (start/stop training, progress, list,
 * activate, roll back, load).
 *
 * <p>Learned path per frame: fit the camera noise of each channel, stabilise (generalised Anscombe),
 * add the stream's previous stabilised frames if the model takes temporal context, run the network
 * (with a mirrored second pass when confidence is on), and invert back to offset-free ADU. The
 * uncertainty plane is the half-difference of the two passes mapped to ADU.
 *
 * <p>{@link #denoise} runs on the serving thread only; the control calls may come from any thread.
 * Changes of the model in force go through the {@link ModelLog} (so every replica makes them) and
 * reach the serving thread through the {@link ModelRegistry} between two frames.
 */
public final class StreamDenoiser implements AutoCloseable {

    /** Provenance method of frames the classical denoiser made. */
    public static final String CLASSICAL_METHOD = "vst-wavelet";

    /**
     * Per-frame settings (the stage's parameters).
     *
     * @param temporalContext  earlier frames remembered and offered as context (0..2); a model with
     *                         context needs at least as many
     * @param confidence       compute the uncertainty plane (a second, mirrored pass)
     * @param inferenceThreads libtorch intra-op threads of the serving thread; the learned path's Java
     *                         work (noise fit, guide, inverse) is spread over as many threads
     * @param classicalThreads threads the pure-Java classical method spreads a frame's channels over
     */
    public record Settings(ClassicalDenoiser.Settings classical, int temporalContext, boolean confidence, int inferenceThreads,
                           int classicalThreads) {

        public static Settings defaults() {
            return new Settings(ClassicalDenoiser.Settings.defaults(), 0, true, 1, 1);
        }
    }

    /**
     * What a frame became.
     *
     * @param uncertainty per-pixel uncertainty of the learned estimate, ADU (C×H×W); null for classical
     * @param method      "vst-wavelet" or the model id (e.g. "n2v-unet/3")
     * @param note        why the classical method served when a model is in force, else empty
     */
    public record Result(Image denoised, Image uncertainty, String method, String note, List<NoiseModel> noise,
                         double meanNoiseSigmaAdu) {
    }

    private final String stage;
    private final ModelRegistry registry;
    private final String instance;
    /** One per channel worker (each owns scratch). */
    private NoiseEstimator[] estimators = new NoiseEstimator[0];
    /** The learned path's Java work on {@code inference_threads} threads (see {@link ChannelWorkers}). */
    private ChannelWorkers workers = ChannelWorkers.SERIAL;
    private volatile ModelLog log;
    /** The classical method's channels on {@code classicalThreads} threads, a denoiser per worker (each owns scratch). */
    private ChannelWorkers classicalWorkers = ChannelWorkers.SERIAL;
    private ClassicalDenoiser[] classical = new ClassicalDenoiser[0];
    private ClassicalDenoiser.Settings classicalSettings;
    /** Where the classical method runs on the device path (fluostream.device gpu or djl-cpu); null: pure Java. */
    private Device classicalDevice;
    private DeviceDenoiser deviceClassical;
    private volatile OnlineTrainer trainer;
    /** The stream the current run trains on; empty: every stream this replica serves. */
    private volatile String trainingStream = "";

    public StreamDenoiser(String stage, ModelRegistry registry, ModelLog log, String instance) {
        this.stage = stage;
        this.registry = registry;
        this.log = log;
        this.instance = instance;
    }

    /** A denoiser with its own in-memory model log (one replica; tests, benchmark). */
    public static StreamDenoiser standalone(String stage, String instance) {
        ModelRegistry registry = new ModelRegistry(stage, Torch.device());
        InMemoryModelLog log = new InMemoryModelLog();
        log.subscribe(registry::apply);
        return new StreamDenoiser(stage, registry, log, instance);
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** Switches to another model log (the service's model topic), which then feeds the registry. */
    public void publishTo(ModelLog log) {
        this.log = log;
    }

    // ---------------------------------------------------------------------------------- serving

    /**
     * Denoises one raw frame of a stream.
     *
     * @param offsetAdu camera offset if known, else {@code NaN}
     */
    public Result denoise(String streamId, long sequence, Image raw, double offsetAdu, Settings settings, FrameHistory history) {
        registry.sawFrame(raw.channels(), raw.height(), raw.width());
        ServingModel model = registry.serving();
        OnlineTrainer t = trainer;
        boolean training = t != null && t.running();
        String only = trainingStream;
        boolean sample = training && (only.isEmpty() || only.equals(streamId)) && t.wantsFrame();
        int context = Math.max(settings.temporalContext(),
                Math.max(model == null ? 0 : model.contextFrames(), training ? t.options().contextFrames() : 0));
        String note = "";
        if (model != null) {
            String misfit = model.misfit(raw.channels(), raw.height(), raw.width());
            if (misfit != null) {
                note = misfit + ": classical method used";
                model = null;
            }
        }
        float[][] past = context > 0 ? recall(history, sequence, context, raw) : null;
        if (model != null && model.contextFrames() > 0 && !complete(past, model.contextFrames())) {
            note = "model " + model.id() + " needs the " + model.contextFrames()
                    + " previous frame(s) of the stream, not yet seen: classical method used";
            model = null;
        }
        Result result;
        StabilisedFrame stabilised = null;
        if (model != null) {
            ChannelWorkers w = workers(settings.inferenceThreads());
            stabilised = StabilisedFrame.of(raw, offsetAdu, estimators, w);
            result = learned(model, stabilised, past, settings, w);
        } else {
            ClassicalDenoiser.Result r = classicalDevice != null
                    ? deviceClassical(settings.classical()).denoise(raw, offsetAdu)
                    : classical(settings.classical(), settings.classicalThreads(), raw, offsetAdu);
            result = new Result(r.denoised(), null, CLASSICAL_METHOD, note, r.noise(), r.meanNoiseSigmaAdu());
            if (context > 0 || sample) {
                stabilised = StabilisedFrame.of(raw, r.noise().toArray(NoiseModel[]::new));
            }
        }
        if (stabilised != null) {
            if (context > 0) {
                history.remember(sequence, stabilised.values(), raw.channels(), raw.height(), raw.width());
            }
            if (sample) {
                t.offer(streamId, sequence, stabilised, past);
            }
        }
        return result;
    }

    /** Workers for {@code threads}, with a noise estimator each; made again when the count changes. */
    private ChannelWorkers workers(int threads) {
        workers = ChannelWorkers.withThreads(workers, threads);
        if (estimators.length < threads) {
            NoiseEstimator[] more = java.util.Arrays.copyOf(estimators, threads);
            for (int i = estimators.length; i < threads; i++) {
                more[i] = new NoiseEstimator(NoiseEstimator.DEFAULT_BLOCK_SIZE);
            }
            estimators = more;
        }
        return workers;
    }

    private Result learned(ServingModel model, StabilisedFrame f, float[][] past, Settings settings, ChannelWorkers workers) {
        int c = f.channels();
        int n = f.height() * f.width() * c;
        int k = model.contextFrames();
        float[] planes = f.values();
        if (k > 0) {
            planes = java.util.Arrays.copyOf(planes, (1 + k) * n);
            for (int i = 0; i < k; i++) {
                System.arraycopy(past[i], 0, planes, (1 + i) * n, n);
            }
        }
        Torch.useThreads(settings.inferenceThreads());
        DenoisingNetwork.Prediction p = model.predict(planes, f.height(), f.width(), settings.confidence(), workers);
        Image[] inverted = f.inverseWithSpread(p.denoised(), p.spread(), workers);
        Image denoised = inverted[0];
        Image uncertainty = inverted[1];
        List<NoiseModel> noise = new ArrayList<>();
        double sigma = 0;
        int plane = f.height() * f.width();
        for (int ch = 0; ch < c; ch++) {
            noise.add(f.noise(ch));
            // Same figure as the classical path: the noise sigma at the channel's mean raw level.
            sigma += f.noise(ch).sigmaAt(meanRawLevel(denoised, ch, plane, f.noise(ch).offset()));
        }
        return new Result(denoised, uncertainty, model.id(), "", noise, sigma / c);
    }

    private static double meanRawLevel(Image denoised, int ch, int plane, double offset) {
        double s = 0;
        float[] d = denoised.data();
        for (int i = ch * plane; i < (ch + 1) * plane; i++) {
            s += d[i];
        }
        return s / plane + offset;
    }

    private static float[][] recall(FrameHistory history, long sequence, int frames, Image raw) {
        float[][] past = new float[frames][];
        int n = raw.data().length;
        for (int i = 0; i < frames; i++) {
            float[] v = sequence - 1 - i >= 0 ? history.recall(sequence - 1 - i) : null;
            past[i] = v != null && v.length == n ? v : null;
        }
        return past;
    }

    private static boolean complete(float[][] past, int frames) {
        if (past == null || past.length < frames) {
            return false;
        }
        for (int i = 0; i < frames; i++) {
            if (past[i] == null) {
                return false;
            }
        }
        return true;
    }

    /**
     * Runs the classical method on the device path ({@link DeviceDenoiser},
     * the same estimate on DJL NDArrays) instead of the pure-Java kernel. Call before the first frame.
     */
    public synchronized void classicalOn(Device device) {
        this.classicalDevice = device;
    }

    private DeviceDenoiser deviceClassical(ClassicalDenoiser.Settings wanted) {
        if (deviceClassical == null || !wanted.equals(deviceClassical.settings())) {
            if (deviceClassical != null) {
                deviceClassical.close();
            }
            deviceClassical = new DeviceDenoiser(wanted, classicalDevice);
        }
        return deviceClassical;
    }

    /**
     * The pure-Java classical method, the frame's channels side by side on up to {@code wantedThreads}
     * threads: as many as their scratch fits in a quarter of the heap (one for camera-sized frames).
     */
    private ClassicalDenoiser.Result classical(ClassicalDenoiser.Settings wanted, int wantedThreads, Image raw, double offsetAdu) {
        int threads = ClassicalDenoiser.instancesThatFit(wantedThreads, wanted, raw.height(), raw.width(),
                Runtime.getRuntime().maxMemory());
        classicalWorkers = ChannelWorkers.withThreads(classicalWorkers, threads);
        if (!wanted.equals(classicalSettings)) {
            classical = new ClassicalDenoiser[0];
            classicalSettings = wanted;
        }
        if (classical.length > threads) {
            // Idle instances would keep their scratch, sized for the frames that needed them.
            classical = java.util.Arrays.copyOf(classical, threads);
        }
        if (classical.length < threads) {
            ClassicalDenoiser[] more = java.util.Arrays.copyOf(classical, threads);
            for (int i = classical.length; i < threads; i++) {
                more[i] = new ClassicalDenoiser(wanted);
            }
            classical = more;
        }
        Image out = new Image(raw.channels(), raw.height(), raw.width());
        ClassicalDenoiser.check(raw, offsetAdu, out);
        NoiseModel[] models = new NoiseModel[raw.channels()];
        ClassicalDenoiser[] denoisers = classical;
        classicalWorkers.forEach(raw.channels(), (worker, c) -> models[c] = denoisers[worker].denoiseChannel(raw, c, offsetAdu, out));
        return ClassicalDenoiser.result(raw, out, models);
    }

    // ---------------------------------------------------------------------------------- control

    /** Starts training on the frames this replica serves (idempotent while a run is going). */
    public synchronized OnlineTrainer.Progress startTraining(TrainingOptions options) {
        return startTraining(options, "");
    }

    /**
     * Starts training on one stream's frames ({@code streamId}; empty: every stream this replica
     * serves). While a run is going this changes nothing and returns its progress.
     */
    public synchronized OnlineTrainer.Progress startTraining(TrainingOptions options, String streamId) {
        OnlineTrainer t = trainer;
        if (t != null && t.running()) {
            return t.progress();
        }
        t = new OnlineTrainer(stage, options, registry, log, Torch.device(), instance, System.nanoTime());
        trainingStream = streamId == null ? "" : streamId;
        trainer = t;
        t.start();
        return t.progress();
    }

    /** Stops the training run, if any; published versions stay. */
    public synchronized OnlineTrainer.Progress stopTraining() {
        OnlineTrainer t = trainer;
        if (t == null) {
            return idle();
        }
        t.stop();
        return t.progress();
    }

    /** Step, loss, validation loss, versions published, ... of the current (or last) run. */
    public OnlineTrainer.Progress progress() {
        OnlineTrainer t = trainer;
        return t == null ? idle() : t.progress();
    }

    /** The stream the current (or last) run trains on; empty: every stream. */
    public String trainingStream() {
        return trainingStream;
    }

    /** The trainer of the current run, for CARE pairs ({@link OnlineTrainer#offerPair}). */
    public Optional<OnlineTrainer> trainer() {
        return Optional.ofNullable(trainer);
    }

    private static OnlineTrainer.Progress idle() {
        return new OnlineTrainer.Progress(OnlineTrainer.State.IDLE, 0, Double.NaN, Double.NaN, Double.NaN, 0, "", 0, 0, 0,
                "no training run yet");
    }

    /** Every version on the model log (weights left out), oldest first. */
    public List<TrainedModel> models() {
        List<TrainedModel> out = new ArrayList<>();
        for (TrainedModel m : registry.models()) {
            out.add(m.toBuilder().clearWeights().build());
        }
        return out;
    }

    /** The version in force ("name/version" or "classical"). */
    public String activeId() {
        return registry.activeId();
    }

    /**
     * Puts a version in force on every replica: {@code "name/version"} or {@code "classical"}. The
     * version is loaded and checked here first; one that cannot serve the frames this replica sees
     * is refused and nothing changes.
     *
     * @throws ModelRefusedException with what was wrong
     */
    public void activate(String id, String reason) throws ModelRefusedException {
        ModelActivation a;
        try {
            a = ModelRecords.activation(stage, id, reason, instance);
        } catch (IllegalArgumentException e) {
            throw new ModelRefusedException(e.getMessage());
        }
        checkActivation(id);
        log.publish(ModelRecords.activeKey(stage), ModelRecords.of(a));
    }

    /**
     * Whether {@code id} ("name/version" or "classical") could be put in force on this replica: it is
     * on the model log, loads, and fits the frames this replica sees. Nothing changes.
     *
     * @throws ModelRefusedException with what was wrong
     */
    public void checkActivation(String id) throws ModelRefusedException {
        ModelActivation a;
        try {
            a = ModelRecords.activation(stage, id, "check", instance);
        } catch (IllegalArgumentException e) {
            throw new ModelRefusedException(e.getMessage());
        }
        if (a.getVersion() != ModelRecords.CLASSICAL_VERSION) {
            TrainedModel m = registry.model(id).orElseThrow(() -> new ModelRefusedException(
                    "no model " + id + " on the model log; list the models to see which exist"));
            check(m);
        }
    }

    /**
     * Puts back the version that was in force before the current one (the registry's activation
     * history, the same on every replica: it comes from the model log).
     *
     * @return the id put back in force
     */
    public String rollBack() throws ModelRefusedException {
        String previous = rollBackTarget();
        ModelActivation a = ModelRecords.activation(stage, previous, ModelRecords.ROLL_BACK, instance);
        log.publish(ModelRecords.activeKey(stage), ModelRecords.of(a));
        return previous;
    }

    /**
     * The version a roll back would put in force, checked like an activation.
     *
     * @throws ModelRefusedException when there is nothing to roll back to, or it cannot serve
     */
    public String rollBackTarget() throws ModelRefusedException {
        String previous = registry.previousActive().orElseThrow(() -> new ModelRefusedException(
                "nothing to roll back to: " + registry.activeId() + " is the first version put in force since this"
                        + " replica started; activate a version by id instead (ListModels shows them)"));
        checkActivation(previous);
        return previous;
    }

    /**
     * Loads a model trained elsewhere, publishes it as a new version and (if asked) activates it. The
     * file is a TorchScript module ({@code torch.jit.save}; it must declare how many channels and
     * context frames it takes: {@code channels}, {@code contextFrames}) or a model record this stage
     * exported ({@code TrainedModel} protobuf, e.g. from the model topic).
     *
     * @return the new version's id
     * @throws ModelRefusedException when the file cannot be read or the model cannot serve this
     *                               replica's frames (nothing is published then)
     */
    public String load(Path file, int channels, int contextFrames, boolean activate) throws ModelRefusedException {
        TrainedModel model = prepare(file, channels, contextFrames);
        log.publish(ModelRecords.versionKey(model), ModelRecords.of(model));
        String id = ModelRecords.id(model);
        if (activate) {
            log.publish(ModelRecords.activeKey(stage), ModelRecords.of(
                    ModelRecords.activation(stage, id, "loaded from " + file.getFileName(), instance)));
        }
        return id;
    }

    /**
     * Reads a model file as {@link #load} does and checks that it loads and fits the frames this
     * replica sees, without publishing anything.
     *
     * @return the version it would become
     * @throws ModelRefusedException when the file cannot be read or the model cannot serve
     */
    public TrainedModel prepare(Path file, int channels, int contextFrames) throws ModelRefusedException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ModelRefusedException("cannot read model file " + file + ": " + e.getMessage()
                    + "; give a path every replica can read");
        }
        TrainedModel.Builder m;
        if (bytes.length >= 2 && bytes[0] == 'P' && bytes[1] == 'K') {
            // A TorchScript archive is a zip file.
            String name = "torchscript";
            m = TrainedModel.newBuilder().setName(name).setTraining("imported").setFormat(WeightsFormat.WEIGHTS_TORCHSCRIPT)
                    .setWeights(ByteString.copyFrom(bytes))
                    .setArchitecture(NetworkArchitecture.newBuilder().setFamily("torchscript").setChannels(channels)
                            .setContextFrames(contextFrames).setInputScale(1f))
                    .setNote("loaded from " + file.getFileName());
        } else {
            try {
                TrainedModel exported = TrainedModel.parseFrom(bytes);
                if (exported.getWeights().isEmpty()) {
                    throw new InvalidProtocolBufferException("no weights");
                }
                m = exported.toBuilder().setNote("loaded from " + file.getFileName()
                        + (exported.getNote().isEmpty() ? "" : "; " + exported.getNote()));
            } catch (InvalidProtocolBufferException e) {
                throw new ModelRefusedException("model file " + file + " is neither a TorchScript archive nor a FluoStream"
                        + " model record (" + e.getMessage() + ")");
            }
        }
        m.setStage(stage).setVersion(registry.nextVersion(m.getName())).setCreatedAtUs(System.currentTimeMillis() * 1000)
                .setTrainedBy(instance);
        TrainedModel model = m.build();
        check(model);
        return model;
    }

    /** Loads {@code m} and checks it against the frames this replica has seen; then lets it go. */
    private void check(TrainedModel m) throws ModelRefusedException {
        String id = ModelRecords.id(m);
        try (ServingModel loaded = registry.load(m)) {
            Optional<int[]> shape = registry.frameShape();
            if (shape.isPresent()) {
                int[] s = shape.get();
                String misfit = loaded.misfit(s[0], s[1], s[2]);
                if (misfit != null) {
                    throw new ModelRefusedException("refused " + id + ": " + misfit + "; " + registry.activeId()
                            + " keeps serving");
                }
            }
        } catch (MalformedModelException | RuntimeException e) {
            throw new ModelRefusedException("refused " + id + ": " + e.getMessage() + "; " + registry.activeId()
                    + " keeps serving");
        }
    }

    @Override
    public void close() {
        OnlineTrainer t = trainer;
        if (t != null) {
            t.stop();
        }
        if (deviceClassical != null) {
            deviceClassical.close();
        }
        workers.close();
        classicalWorkers.close();
        registry.close();
    }

    /** The ids of all versions, oldest first. */
    public List<String> modelIds() {
        List<String> ids = new ArrayList<>();
        for (TrainedModel m : registry.models()) {
            ids.add(ModelRecords.id(m));
        }
        return ids;
    }

    /** The record of a version, weights included (to export it to a file for another deployment). */
    public Optional<ModelRecord> export(String id) {
        return registry.model(id).map(ModelRecords::of);
    }
}
