package io.fluostream.stage;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import java.util.List;

/**
 * What one stage does to one frame: the only part that differs between the stage services. The
 * shared {@link FrameProcessor} decodes and checks the frame, calls {@link #process}, then encodes
 * the output, appends provenance and routes bad frames to the dead-letter topic.
 *
 * <p>Implementations hand off to the pure-Java kernels of {@code fluostream-imaging}. They are
 * called from one stream thread per instance (not concurrently), but may be re-created per task.
 */
public interface StageKernel {

    /** "denoise", "unmix", "stabilise" or "flow": used in provenance, metrics, store names. */
    String stage();

    /** The topic this stage reads. */
    Topic input();

    /** The topic this stage writes. */
    Topic output();

    /** Whether the stage keeps per-stream {@link StreamMemory} (a persistent store in its topology). */
    default boolean stateful() {
        return false;
    }

    /** Parameters the stage accepts, with defaults and allowed ranges. */
    List<Parameter> parameters();

    /** Figures of {@link StageOutput} that also become quality metrics. */
    List<QualitySignal> qualitySignals();

    /** Reconstructs one valid frame; throws {@link FrameRejected} for a frame the stage cannot take. */
    StageOutput process(FrameInput input) throws FrameRejected;

    /** A figure exported as a metric {@code fluostream_<stage>_<name>} (a summary: mean = sum / count). */
    record QualitySignal(String figure, String metricName, String description) {
    }
}
