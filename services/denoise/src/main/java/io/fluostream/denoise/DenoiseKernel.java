package io.fluostream.denoise;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.NoiseModel;
import io.fluostream.learning.denoise.FrameHistory;
import io.fluostream.learning.denoise.ModelLog;
import io.fluostream.learning.denoise.ModelRefusedException;
import io.fluostream.learning.denoise.OnlineTrainer;
import io.fluostream.learning.denoise.StreamDenoiser;
import io.fluostream.learning.denoise.TrainingOptions;
import io.fluostream.proto.TrainedModel;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StreamMemory;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.List;

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
 */
@ApplicationScoped
public class DenoiseKernel implements StageKernel {

    static final String STAGE = "denoise";

    private final StreamDenoiser denoiser;

    public DenoiseKernel() {
        this(StreamDenoiser.standalone(STAGE, ManagementFactory.getRuntimeMXBean().getName()));
    }

    public DenoiseKernel(StreamDenoiser denoiser) {
        this.denoiser = denoiser;
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
                        "libtorch intra-op threads for inference on the CPU"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(
                new QualitySignal("noise_sigma_adu", "noise_sigma_adu",
                        "Camera noise sigma at the frame's mean level, fitted on the frame, ADU"),
                new QualitySignal("uncertainty_mean_adu", "uncertainty_mean_adu",
                        "Mean per-pixel uncertainty of the learned denoiser (half the disagreement of two passes), ADU"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        ParameterValues p = in.parameters();
        double offset = in.frame().getAcquisition().getCameraOffsetAdu();
        if (!(offset > 0)) {
            double configured = p.number("camera_offset_adu");
            offset = configured >= 0 ? configured : Double.NaN;
        }
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        StreamDenoiser.Settings settings = new StreamDenoiser.Settings(
                new ClassicalDenoiser.Settings(p.integer("wavelet_levels"), d.pilotThreshold(), p.number("strength"), d.noiseBlockSize()),
                p.integer("temporal_context"), p.flag("confidence"), p.integer("inference_threads"));
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
