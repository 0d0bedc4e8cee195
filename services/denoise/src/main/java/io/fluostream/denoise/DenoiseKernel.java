package io.fluostream.denoise;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.imaging.denoise.NoiseModel;
import io.fluostream.learning.denoise.FrameHistory;
import io.fluostream.learning.denoise.ModelLog;
import io.fluostream.learning.denoise.ModelRefusedException;
import io.fluostream.learning.denoise.OnlineTrainer;
import io.fluostream.learning.denoise.StreamDenoiser;
import io.fluostream.learning.denoise.ModelRecords;
import io.fluostream.learning.denoise.TrainingOptions;
import io.fluostream.learning.denoise.TrainingSettings;
import io.fluostream.proto.ActivateModelRequest;
import io.fluostream.proto.LoadModelRequest;
import io.fluostream.proto.ModelInfo;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.proto.TrainedModel;
import io.fluostream.proto.TrainingStatus;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StreamMemory;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Denoise stage: raw camera frames → offset-free denoised frames in ADU (frames.raw →
 * frames.denoised); trained models travel on the model topic (fluostream.models).
 *
 * <p>Until a model is in force — and for any frame the model cannot take — the classical denoiser
 * serves: the Poisson–Gaussian noise of each channel is fitted on the frame, stabilised by the
 * generalised Anscombe transform, removed by wavelet shrinkage and transformed back without bias.
 * Meanwhile a U-Net trains on the stream itself with a blind-spot loss ({@link StreamDenoiser},
 * {@link OnlineTrainer}); each version it publishes is hot-swapped in between two frames, output
 * frames name it in provenance ({@code n2v-unet/3}) and carry a per-pixel uncertainty plane
 * {@code denoise.uncertainty}.
 *
 * <p>The camera offset comes from the frame's acquisition metadata when the rig knows it, else from
 * the {@code camera_offset_adu} parameter, else it is estimated from the data. Temporal context
 * (the stream's previous stabilised frames) is kept in the stage's stream memory.
 *
 * <p>Control calls (gRPC, through the control plane): StartTraining, StopTraining, TrainingProgress,
 * ListModels, ActivateModel (a version, "classical" or "previous") and LoadModel; see {@link #apply}.
 */
@ApplicationScoped
public class DenoiseKernel implements StageKernel {

    static final String STAGE = "denoise";

    private final StreamDenoiser denoiser;
    private final DeviceChoice device;
    private volatile TrainingOptions trainingDefaults = TrainingOptions.defaults();
    private volatile int importChannels = 1;
    private volatile int importContextFrames;
    /** The temporal_context parameter as the last frame saw it (StartTraining's default). */
    private volatile int temporalContext;

    public DenoiseKernel() {
        this(StreamDenoiser.standalone(STAGE, ManagementFactory.getRuntimeMXBean().getName()));
    }

    public DenoiseKernel(StreamDenoiser denoiser) {
        this(denoiser, DeviceChoice.cpu());
    }

    /**
     * The service's kernel on {@code device} (fluostream.device): on gpu or djl-cpu the classical
     * method runs on the device path too; the U-Net always runs on libtorch (on the GPU when there
     * is one and the setting allows it).
     */
    @Inject
    public DenoiseKernel(DeviceChoice device) {
        this(StreamDenoiser.standalone(STAGE, ManagementFactory.getRuntimeMXBean().getName()), device);
    }

    public DenoiseKernel(StreamDenoiser denoiser, DeviceChoice device) {
        this.denoiser = denoiser;
        this.device = device;
        if (device.onDevice()) {
            denoiser.classicalOn(device.device());
        }
    }

    @Override
    public String device() {
        return device.label();
    }

    @Override
    public String stage() {
        return STAGE;
    }

    @Override
    public Topic input() {
        return Topic.RAW;
    }

    @Override
    public Topic output() {
        return Topic.DENOISED;
    }

    /** Stateful: the stream memory keeps the previous frames a temporal model reads. */
    @Override
    public boolean stateful() {
        return true;
    }

    @Override
    public List<Parameter> parameters() {
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        return List.of(
                Parameter.number("camera_offset_adu", -1, 65535, -1, "ADU",
                        "camera offset when frames don't carry it; -1 estimates it from the data"),
                Parameter.integer("wavelet_levels", 1, 8, d.waveletLevels(),
                        "classical denoiser: wavelet scales, smooths structures up to about 2^levels px"),
                Parameter.number("strength", 0.25, 4, d.wienerStrength(), "",
                        "classical denoiser: noise-power multiplier of the shrinkage (1 = textbook, >1 smoother)"),
                Parameter.integer("temporal_context", 0, 2, 0,
                        "earlier frames (t-1, t-2) fed to the network as extra input; training uses it from its next start"),
                Parameter.flag("confidence", true,
                        "compute the per-pixel uncertainty plane (a second, mirrored network pass)"),
                Parameter.integer("inference_threads", 1, 64, 1,
                        "threads of the learned denoiser on the CPU: libtorch's and the Java work around the network"
                                + " (with confidence on and 2 or more, the two passes run side by side)"),
                Parameter.integer("threads", 1, 16, 2,
                        "threads of the classical denoiser: a frame's channels side by side, as many as their scratch"
                                + " (about 22 planes each) fits in a quarter of the heap"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(
                new QualitySignal("noise_sigma_adu", "noise_sigma_adu",
                        "Camera noise sigma at the frame's mean level, fitted on the frame, ADU"),
                new QualitySignal("uncertainty_mean_adu", "uncertainty_mean_adu",
                        "Mean per-pixel uncertainty of the learned denoiser (half the disagreement of two passes), ADU"));
    }

    /**
     * The classical path's peak: one denoiser's scratch (22 planes at 5 levels; more threads take
     * more only while it fits, see {@link ClassicalDenoiser#instancesThatFit}) and three float copies
     * of the frame (decoded, denoised, encoded). 544 MiB for 2048×2048×4: a 768 MiB heap ran out.
     */
    @Override
    public long workingBytes(long channels, long height, long width, ParameterValues parameters) {
        return ClassicalDenoiser.scratchBytes(classicalSettings(parameters), (int) height, (int) width)
                + 3 * channels * height * width * Float.BYTES;
    }

    /** The classical denoiser's settings from the stage's parameters. */
    private static ClassicalDenoiser.Settings classicalSettings(ParameterValues p) {
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        return new ClassicalDenoiser.Settings(p.integer("wavelet_levels"), d.pilotThreshold(), p.number("strength"),
                d.noiseBlockSize());
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        ParameterValues p = in.parameters();
        temporalContext = p.integer("temporal_context");
        double offset = in.frame().getAcquisition().getCameraOffsetAdu();
        if (!(offset > 0)) {
            double configured = p.number("camera_offset_adu");
            offset = configured >= 0 ? configured : Double.NaN;
        }
        StreamDenoiser.Settings settings = new StreamDenoiser.Settings(classicalSettings(p), p.integer("temporal_context"),
                p.flag("confidence"), p.integer("inference_threads"), p.integer("threads"));
        StreamDenoiser.Result r = denoiser.denoise(in.streamId(), in.sequence(), in.pixels(), offset, settings,
                new MemoryHistory(in.memory()));
        NoiseModel first = r.noise().get(0);
        StageOutput out = StageOutput.of(r.denoised())
                .figure("noise_sigma_adu", r.meanNoiseSigmaAdu())
                .figure("gain_adu_per_electron", first.gain())
                .figure("read_noise_electrons", first.readNoiseElectrons())
                .figure("offset_adu", first.offset())
                .method(r.method())
                .note(r.note());
        if (r.uncertainty() != null) {
            out.plane("uncertainty", r.uncertainty()).figure("uncertainty_mean_adu", mean(r.uncertainty()));
        }
        return out;
    }

    private static double mean(Image image) {
        double s = 0;
        for (float v : image.data()) {
            s += v;
        }
        return s / image.data().length;
    }

    // ------------------------------------------------------------------ control (see README "Learned denoising")

    /** The engine behind this kernel (model registry, trainer). */
    public StreamDenoiser denoiser() {
        return denoiser;
    }

    /** Sends published models and activations to the model topic instead of this replica only. */
    public void publishTo(ModelLog log) {
        denoiser.publishTo(log);
    }

    /**
     * What StartTraining starts from before its options (the service sets the training threads
     * from config), and the channels and context frames of a TorchScript file loaded before any
     * frame was seen (after that, the frames' own channels).
     */
    public void configure(TrainingOptions training, int importChannels, int importContextFrames) {
        this.trainingDefaults = training;
        this.importChannels = importChannels;
        this.importContextFrames = importContextFrames;
    }

    public OnlineTrainer.Progress startTraining(TrainingOptions options) {
        return denoiser.startTraining(options);
    }

    public OnlineTrainer.Progress stopTraining() {
        return denoiser.stopTraining();
    }

    public OnlineTrainer.Progress progress() {
        return denoiser.progress();
    }

    public List<TrainedModel> models() {
        return denoiser.models();
    }

    public void activate(String modelId) throws ModelRefusedException {
        denoiser.activate(modelId, "activated by a control call");
    }

    public String rollBack() throws ModelRefusedException {
        return denoiser.rollBack();
    }

    public String load(Path path, int channels, int contextFrames, boolean activate) throws ModelRefusedException {
        return denoiser.load(path, channels, contextFrames, activate);
    }

    /** The model version serving now ("n2v-unet/3"), or "classical". */
    public String activeModel() {
        return denoiser.activeId();
    }

    @Override
    public String modelVersion() {
        String id = denoiser.activeId();
        return ModelRecords.CLASSICAL_ID.equals(id) ? "" : id;
    }

    @Override
    public boolean serves(StageCommand.CallCase call) {
        return switch (call) {
            case START_TRAINING, STOP_TRAINING, TRAINING_PROGRESS, LIST_MODELS, ACTIVATE_MODEL, LOAD_MODEL -> true;
            default -> false;
        };
    }

    /** Refuses what no replica could do before it reaches the control topic: bad options, unknown or misfit models. */
    @Override
    public void check(StageCommand command) throws InvalidCommandException {
        switch (command.getCallCase()) {
            case START_TRAINING -> trainingOptions(command.getStartTraining());
            case ACTIVATE_MODEL -> activationTarget(command.getActivateModel().getModelId());
            case LOAD_MODEL -> prepare(command.getLoadModel());
            default -> { }
        }
    }

    /**
     * Every replica applies the changing calls in control-topic order. A training run starts only on
     * the replica that took the call (one trainer, one line of versions; the others serve what it
     * publishes). Activations and loaded versions are published by that replica to the model topic,
     * which puts them in force on every replica between two frames and keeps them over restarts;
     * the other replicas check that the version fits their frames too. A command replayed at start
     * changes nothing: what it did is on the model topic.
     */
    @Override
    public StageReply apply(StageCommand command, CommandContext context) throws InvalidCommandException {
        return switch (command.getCallCase()) {
            case START_TRAINING -> startTraining(command.getStartTraining(), context);
            case STOP_TRAINING -> stopTraining(context);
            case TRAINING_PROGRESS -> reply("training " + progress().state().name().toLowerCase(java.util.Locale.ROOT)
                    + " on " + context.instance(), progress());
            case LIST_MODELS -> listModels();
            case ACTIVATE_MODEL -> activateModel(command.getActivateModel(), context);
            case LOAD_MODEL -> loadModel(command.getLoadModel(), context);
            default -> throw new UnsupportedOperationException(STAGE + " does not serve " + command.getCallCase());
        };
    }

    private StageReply startTraining(StartTrainingRequest r, CommandContext context) {
        if (context.replayed()) {
            return reply("a training run started before this replica restarted is not started again; its versions are"
                    + " on the model topic. Call StartTraining to train more", progress());
        }
        if (!context.calledHere()) {
            return reply("training runs on " + context.origin() + "; this replica serves the versions it publishes", progress());
        }
        OnlineTrainer.Progress before = progress();
        boolean wasRunning = before.state() == OnlineTrainer.State.COLLECTING || before.state() == OnlineTrainer.State.TRAINING;
        TrainingOptions options = trainingOptions(r);
        OnlineTrainer.Progress p = denoiser.startTraining(options, r.getStreamId());
        String on = r.getStreamId().isEmpty() ? "every stream of this replica" : "stream " + r.getStreamId();
        return reply(wasRunning
                ? "a training run is already going on this replica (" + p.message() + "); stop it first to start another"
                : "training " + options.modelName() + " on " + on + (options.maxSteps() > 0 ? " for " + options.maxSteps() + " steps" : "")
                        + "; versions go to the model topic", p);
    }

    private StageReply stopTraining(CommandContext context) {
        if (context.replayed()) {
            return reply("no run from before the restart to stop", progress());
        }
        OnlineTrainer.Progress p = denoiser.stopTraining();
        return reply("training stopped on " + context.instance() + " after " + p.step() + " steps; published versions stay", p);
    }

    private StageReply listModels() {
        String active = denoiser.activeId();
        StageReply.Builder b = StageReply.newBuilder().setMessage(active + " in force");
        b.addModels(ModelInfo.newBuilder().setId(ModelRecords.CLASSICAL_ID).setVersion(ModelRecords.CLASSICAL_ID)
                .setActive(ModelRecords.CLASSICAL_ID.equals(active))
                .setSource("classical: variance-stabilised wavelet shrinkage (" + StreamDenoiser.CLASSICAL_METHOD + ")"));
        for (TrainedModel m : denoiser.models()) {
            String id = ModelRecords.id(m);
            ModelInfo.Builder info = ModelInfo.newBuilder().setId(id).setVersion(id).setActive(id.equals(active))
                    .setCreatedAtUs(m.getCreatedAtUs())
                    .setSource(m.getTraining() + " by " + m.getTrainedBy() + (m.getNote().isEmpty() ? "" : "; " + m.getNote()))
                    .putMetrics("channels", m.getArchitecture().getChannels())
                    .putMetrics("context_frames", m.getArchitecture().getContextFrames())
                    .putMetrics("steps", m.getSteps())
                    .putMetrics("training_seconds", m.getTrainingSeconds());
            if (!m.getValidationMetric().isEmpty()) {
                info.putMetrics("validation_loss", m.getValidationLoss());
            }
            b.addModels(info);
        }
        b.putValues("active", text(active));
        denoiser.registry().previousActive().ifPresent(prev -> b.putValues("previous", text(prev)));
        return b.build();
    }

    private StageReply activateModel(ActivateModelRequest r, CommandContext context) throws InvalidCommandException {
        String wanted = r.getModelId();
        if (context.replayed()) {
            return StageReply.newBuilder().setMessage("activation of " + wanted + " from before the restart: the model topic"
                    + " says what is in force (" + denoiser.activeId() + ")").build();
        }
        String before = denoiser.activeId();
        if (!context.calledHere()) {
            // Published by the replica that took the call; this one only says whether the version fits here.
            String fits;
            try {
                fits = "fits this replica's frames (" + activationTarget(wanted) + ")";
            } catch (InvalidCommandException e) {
                fits = "but this replica refuses it: " + e.getMessage();
            }
            return StageReply.newBuilder().setMessage(wanted + " comes through the model topic from " + context.origin()
                    + "; " + fits).build();
        }
        String id;
        try {
            if (isRollBack(wanted)) {
                id = denoiser.rollBack();
            } else {
                denoiser.activate(wanted, "activated by " + context.principal());
                id = wanted;
            }
        } catch (ModelRefusedException e) {
            throw new InvalidCommandException(e.getMessage());
        }
        return StageReply.newBuilder()
                .setMessage(id + " published as the version in force (" + before + " served before); every replica puts it"
                        + " in force between two frames")
                .putValues("active", text(id)).putValues("previous", text(before)).build();
    }

    private StageReply loadModel(LoadModelRequest r, CommandContext context) throws InvalidCommandException {
        if (context.replayed()) {
            return StageReply.newBuilder().setMessage("model from " + r.getPath() + " loaded before the restart: its version is"
                    + " on the model topic").build();
        }
        if (!context.calledHere()) {
            return StageReply.newBuilder().setMessage("model from " + r.getPath() + " loaded by " + context.origin()
                    + "; it comes through the model topic").build();
        }
        String before = denoiser.activeId();
        String id;
        try {
            id = denoiser.load(Path.of(r.getPath()), importChannels(), importContextFrames, r.getActivate());
        } catch (ModelRefusedException e) {
            throw new InvalidCommandException(e.getMessage());
        }
        return StageReply.newBuilder()
                .setMessage("loaded " + r.getPath() + " as " + id + (r.getActivate()
                        ? ", published as the version in force (" + before + " served before)"
                        : "; ActivateModel " + id + " puts it in force"))
                .putValues("model_id", text(id)).build();
    }

    private static boolean isRollBack(String id) {
        return ROLL_BACK_IDS.contains(id);
    }

    /** The version an ActivateModel call would put in force, checked; "previous" resolved. */
    private String activationTarget(String wanted) throws InvalidCommandException {
        if (wanted.isEmpty()) {
            throw new InvalidCommandException("ActivateModel needs a model_id: a version from ListModels (e.g. n2v-unet/3),"
                    + " 'classical', or 'previous' to roll back");
        }
        try {
            if (isRollBack(wanted)) {
                return denoiser.rollBackTarget();
            }
            denoiser.checkActivation(wanted);
            return wanted;
        } catch (ModelRefusedException e) {
            throw new InvalidCommandException(e.getMessage());
        }
    }

    private TrainedModel prepare(LoadModelRequest r) throws InvalidCommandException {
        if (r.getPath().isBlank()) {
            throw new InvalidCommandException("LoadModel needs a path: a TorchScript file or an exported model record that"
                    + " every replica can read (e.g. on a mounted volume)");
        }
        try {
            return denoiser.prepare(Path.of(r.getPath()), importChannels(), importContextFrames);
        } catch (ModelRefusedException | java.nio.file.InvalidPathException e) {
            throw new InvalidCommandException(e.getMessage());
        }
    }

    /** A TorchScript file takes the channels of the frames this replica serves (config before the first frame). */
    private int importChannels() {
        return denoiser.registry().frameShape().map(s -> s[0]).orElse(importChannels);
    }

    /** StartTraining's options over the defaults, checked; a bad one says which and what is allowed. */
    TrainingOptions trainingOptions(StartTrainingRequest r) throws InvalidCommandException {
        TrainingOptions base = trainingDefaults.withContextFrames(temporalContext);
        TrainingSettings t = base.training();
        Map<String, ParameterValue> o = new java.util.HashMap<>(r.getOptionsMap());
        try {
            int context = (int) integer(o, "temporal_context", base.contextFrames());
            TrainingSettings settings = new TrainingSettings((int) integer(o, "patch_size", t.patchSize()),
                    (int) integer(o, "batch_size", t.batchSize()), number(o, "learning_rate", t.learningRate()),
                    number(o, "mask_fraction", t.maskFraction()), (int) integer(o, "mask_radius", t.maskRadius()));
            TrainingOptions options = new TrainingOptions(base.mode(), context,
                    (int) integer(o, "base_features", base.baseFeatures()), (int) integer(o, "depth", base.depth()), settings,
                    (int) integer(o, "threads", base.threads()), base.maxReservoirBytes(),
                    (int) integer(o, "crop_size", base.cropSize()), (int) integer(o, "sample_every", base.sampleEvery()),
                    (int) integer(o, "min_crops", base.minCrops()), (int) integer(o, "held_out_crops", base.heldOutCrops()),
                    (int) integer(o, "first_version_steps", base.firstVersionSteps()),
                    (int) integer(o, "steps_per_version", base.stepsPerVersion()),
                    r.getSteps() != 0 ? Integer.toUnsignedLong(r.getSteps()) : base.maxSteps(),
                    flag(o, "auto_activate", base.autoActivate()), flag(o, "classical_guide", base.classicalGuide()));
            if (!o.isEmpty()) {
                throw new InvalidCommandException("unknown StartTraining option(s) " + new java.util.TreeSet<>(o.keySet())
                        + "; known: " + TRAINING_OPTIONS);
            }
            return options;
        } catch (InvalidCommandException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidCommandException("StartTraining: " + e.getMessage());
        }
    }

    private static final List<String> TRAINING_OPTIONS = List.of("temporal_context", "base_features", "depth", "patch_size",
            "batch_size", "learning_rate", "mask_fraction", "mask_radius", "threads", "crop_size", "sample_every", "min_crops",
            "held_out_crops", "first_version_steps", "steps_per_version", "auto_activate", "classical_guide");

    private static final java.util.Set<String> ROLL_BACK_IDS = java.util.Set.of("previous", "rollback");

    /** Option values may come typed or as text (as {@code ./fluostream ctl denoise start-training NAME=VALUE} sends them). */
    private static long integer(Map<String, ParameterValue> o, String name, long fallback) {
        ParameterValue v = fromText(o.remove(name));
        if (v == null) {
            return fallback;
        }
        if (v.getKindCase() == ParameterValue.KindCase.INTEGER) {
            return v.getInteger();
        }
        if (v.getKindCase() == ParameterValue.KindCase.NUMBER && v.getNumber() == Math.rint(v.getNumber())) {
            return (long) v.getNumber();
        }
        throw new InvalidCommandException("StartTraining option " + name + " must be a whole number, got " + shortText(v));
    }

    private static double number(Map<String, ParameterValue> o, String name, double fallback) {
        ParameterValue v = fromText(o.remove(name));
        if (v == null) {
            return fallback;
        }
        return switch (v.getKindCase()) {
            case NUMBER -> v.getNumber();
            case INTEGER -> v.getInteger();
            default -> throw new InvalidCommandException("StartTraining option " + name + " must be a number, got " + shortText(v));
        };
    }

    private static boolean flag(Map<String, ParameterValue> o, String name, boolean fallback) {
        ParameterValue v = fromText(o.remove(name));
        if (v == null) {
            return fallback;
        }
        if (v.getKindCase() != ParameterValue.KindCase.FLAG) {
            throw new InvalidCommandException("StartTraining option " + name + " must be true or false, got " + shortText(v));
        }
        return v.getFlag();
    }

    /** A text value read as a flag or a number when it is one; anything else is left as it is. */
    private static ParameterValue fromText(ParameterValue v) {
        if (v == null || v.getKindCase() != ParameterValue.KindCase.TEXT) {
            return v;
        }
        String t = v.getText().trim();
        if (t.equalsIgnoreCase("true") || t.equalsIgnoreCase("false")) {
            return ParameterValue.newBuilder().setFlag(Boolean.parseBoolean(t)).build();
        }
        try {
            return ParameterValue.newBuilder().setInteger(Long.parseLong(t)).build();
        } catch (NumberFormatException e) {
            try {
                return ParameterValue.newBuilder().setNumber(Double.parseDouble(t)).build();
            } catch (NumberFormatException notANumber) {
                return v;
            }
        }
    }

    private static String shortText(ParameterValue v) {
        return v.toString().replace('\n', ' ').trim();
    }

    private static ParameterValue text(String s) {
        return ParameterValue.newBuilder().setText(s).build();
    }

    private StageReply reply(String message, OnlineTrainer.Progress p) {
        OnlineTrainer t = denoiser.trainer().orElse(null);
        boolean running = p.state() == OnlineTrainer.State.COLLECTING || p.state() == OnlineTrainer.State.TRAINING;
        TrainingStatus.Builder status = TrainingStatus.newBuilder().setRunning(running).setStep(p.step())
                .setSteps(t == null ? 0 : t.options().maxSteps())
                .setLoss(finite(p.loss()))
                .setStreamId(denoiser.trainingStream())
                .setModelId(p.lastVersion().isEmpty() && t != null ? t.options().modelName() : p.lastVersion())
                .setMessage(p.message());
        return StageReply.newBuilder().setMessage(message).setTraining(status)
                .putValues("state", text(p.state().name().toLowerCase(java.util.Locale.ROOT)))
                .putValues("step", ParameterValue.newBuilder().setInteger(p.step()).build())
                .putValues("loss", ParameterValue.newBuilder().setNumber(finite(p.loss())).build())
                .putValues("validation_loss", ParameterValue.newBuilder().setNumber(finite(p.validationLoss())).build())
                .putValues("best_validation_loss", ParameterValue.newBuilder().setNumber(finite(p.bestValidation())).build())
                .putValues("versions", ParameterValue.newBuilder().setInteger(p.versions()).build())
                .putValues("crops", ParameterValue.newBuilder().setInteger(p.crops()).build())
                .putValues("held_out_crops", ParameterValue.newBuilder().setInteger(p.heldOut()).build())
                .putValues("seconds", ParameterValue.newBuilder().setNumber(p.seconds()).build())
                .build();
    }

    /** Proto doubles travel fine as NaN, but JSON clients choke on it: 0 before there is a figure. */
    private static double finite(double v) {
        return Double.isFinite(v) ? v : 0;
    }

    @PreDestroy
    void close() {
        denoiser.close();
    }

    /**
     * The stream's previous stabilised frames in the stage's stream memory: three slots used in turn
     * (sequence mod 3, so frame t never overwrites t−1 or t−2), each with the sequence number it
     * holds, so a gap or a restart is noticed.
     */
    private static final class MemoryHistory implements FrameHistory {
        private final StreamMemory memory;

        MemoryHistory(StreamMemory memory) {
            this.memory = memory;
        }

        private static String slot(long sequence) {
            return "stabilised-" + Math.floorMod(sequence, 3);
        }

        @Override
        public float[] recall(long sequence) {
            return memory.image(slot(sequence))
                    .filter(r -> r.sequence() == sequence)
                    .map(r -> r.image().data())
                    .orElse(null);
        }

        @Override
        public void remember(long sequence, float[] stabilised, int channels, int height, int width) {
            memory.remember(slot(sequence), sequence, new Image(channels, height, width, stabilised));
        }
    }
}
