package io.fluostream.unmix;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.List;

/**
 * Unmix stage: detection channels → fluorophore abundances (frames.denoised → frames.unmixed), by
 * exact non-negative least squares per pixel against the reference spectra (or unconstrained least
 * squares, {@code method=ls}). Adds the per-pixel residual plane {@code unmix.residual} and the
 * frame's relative residual, a forward-model consistency check: it rises when the spectra no
 * longer fit the sample.
 *
 * <p>A frame whose channel count has no spectra (e.g. single-channel data) passes through
 * unchanged, with a provenance note, so such streams still flow through the whole chain.
 */
@ApplicationScoped
public class UnmixKernel implements StageKernel {

    private SpectralUnmixer unmixer;
    private String unmixerKey = "";

    @Override
    public String stage() {
        return "unmix";
    }

    @Override
    public Topic input() {
        return Topic.DENOISED;
    }

    @Override
    public Topic output() {
        return Topic.UNMIXED;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.matrix("spectra", null, UnmixKernel::checkSpectra,
                        "reference spectra, C rows (channels) of F values (fluorophores): 'a,b,c;d,e,f;...'"),
                Parameter.choice("method", List.of("nnls", "ls"), "nnls",
                        "nnls: exact non-negative least squares; ls: unconstrained least squares"));
    }

    private static String checkSpectra(double[][] rows) {
        try {
            ReferenceSpectra.of(rows);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(new QualitySignal("relative_residual", "relative_residual",
                "Forward-model residual relative to the signal (observed channels vs spectra x abundances)"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        double[][] rows = in.parameters().matrix("spectra");
        Image pixels = in.pixels();
        if (rows == null || rows.length != pixels.channels()) {
            String why = rows == null ? "no reference spectra configured"
                    : "no spectra for " + pixels.channels() + " channels (spectra have " + rows.length + ")";
            return StageOutput.of(pixels).keepInputPlanes().method("passthrough").note("passthrough: " + why);
        }
        String method = in.parameters().text("method");
        SpectralUnmixer.Result r = unmixer(rows, method).unmix(pixels);
        List<String> names = new ArrayList<>();
        for (int f = 0; f < r.abundances().channels(); f++) {
            names.add("f" + f);
        }
        return StageOutput.of(r.abundances())
                .channelNames(names)
                .plane("residual", r.residual())
                .figure("relative_residual", r.relativeResidual())
                .figure("mean_residual_adu", r.meanResidual())
                .method(method);
    }

    /** The unmixer for these spectra and method, rebuilt only when either changes. */
    private SpectralUnmixer unmixer(double[][] rows, String method) {
        String key = method + "|" + java.util.Arrays.deepToString(rows);
        if (unmixer == null || !unmixerKey.equals(key)) {
            ReferenceSpectra spectra = ReferenceSpectra.of(rows);
            unmixer = "ls".equals(method) ? new LeastSquaresUnmixer(spectra) : new NnlsUnmixer(spectra);
            unmixerKey = key;
        }
        return unmixer;
    }
}
