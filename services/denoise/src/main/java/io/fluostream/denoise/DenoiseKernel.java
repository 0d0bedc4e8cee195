package io.fluostream.denoise;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/** TEMPORARY wiring check. */
@ApplicationScoped
public class DenoiseKernel implements StageKernel {
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
        return List.of(Parameter.number("strength", 0, 4, 1, "", "x"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of();
    }

    @Override
    public StageOutput process(FrameInput input) throws FrameRejected {
        return StageOutput.of(input.pixels());
    }
}
