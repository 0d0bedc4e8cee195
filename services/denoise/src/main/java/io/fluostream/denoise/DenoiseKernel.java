package io.fluostream.denoise;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.denoise.NoiseModel;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/**
 * Denoise stage: raw camera frames → offset-free denoised frames in ADU (frames.raw →
 * frames.denoised). The Poisson–Gaussian noise of each channel is fitted on the frame itself
 * (gain and read noise), stabilised by the generalised Anscombe transform, removed by wavelet
 * shrinkage and transformed back without bias — so it adapts to any photon level with no tuning.
 *
 * <p>The camera offset comes from the frame's acquisition metadata when the rig knows it, else from
 * the {@code camera_offset_adu} parameter, else it is estimated from the data. The fitted noise
 * sigma is the stage's quality signal.
 */
@ApplicationScoped
public class DenoiseKernel implements StageKernel {

    private ClassicalDenoiser denoiser;
    private ClassicalDenoiser.Settings denoiserSettings;

    @Override
    public String stage() {
        return "denoise";
    }

    @Override
    public Topic input() {
        return Topic.RAW;
    }

    @Override
    public Topic output() {
        return Topic.DENOISED;
    }

    @Override
    public List<Parameter> parameters() {
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        return List.of(
                Parameter.number("camera_offset_adu", -1, 65535, -1, "ADU",
                        "camera offset when frames don't carry it; -1 estimates it from the data"),
                Parameter.integer("wavelet_levels", 1, 8, d.waveletLevels(),
                        "wavelet scales: smooths structures up to about 2^levels px"),
                Parameter.number("strength", 0.25, 4, d.wienerStrength(), "",
                        "noise-power multiplier of the shrinkage (1 = textbook, >1 smoother, <1 keeps more detail)"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(new QualitySignal("noise_sigma_adu", "noise_sigma_adu",
                "Camera noise sigma at the frame's mean level, fitted on the frame, ADU"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        ParameterValues p = in.parameters();
        double offset = in.frame().getAcquisition().getCameraOffsetAdu();
        if (!(offset > 0)) {
            double configured = p.number("camera_offset_adu");
            offset = configured >= 0 ? configured : Double.NaN;
        }
        ClassicalDenoiser.Result r = denoiser(p).denoise(in.pixels(), offset);
        NoiseModel first = r.noise().get(0);
        return StageOutput.of(r.denoised())
                .figure("noise_sigma_adu", r.meanNoiseSigmaAdu())
                .figure("gain_adu_per_electron", first.gain())
                .figure("read_noise_electrons", first.readNoiseElectrons())
                .figure("offset_adu", first.offset())
                .method("vst-wavelet");
    }

    private ClassicalDenoiser denoiser(ParameterValues p) {
        ClassicalDenoiser.Settings d = ClassicalDenoiser.Settings.defaults();
        ClassicalDenoiser.Settings wanted = new ClassicalDenoiser.Settings(p.integer("wavelet_levels"),
                d.pilotThreshold(), p.number("strength"), d.noiseBlockSize());
        if (denoiser == null || !wanted.equals(denoiserSettings)) {
            denoiser = new ClassicalDenoiser(wanted);
            denoiserSettings = wanted;
        }
        return denoiser;
    }
}
