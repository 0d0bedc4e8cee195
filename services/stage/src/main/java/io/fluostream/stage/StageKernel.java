package io.fluostream.stage;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import java.util.List;

/**
 * What one stage does to one frame: the only part that differs between the stage services. The
 * shared {@link FrameProcessor} decodes and checks the frame, calls {@link #process}, then encodes
 * the output, appends provenance and routes bad frames to the dead-letter topic.
 *
 * <p>Implementations hand off to the pure-Java kernels of {@code fluostream-imaging}. They are
 * called from one stream thread per instance (not concurrently), but may be re-created per task;
 * only the tap calls ({@link #observes}, {@link #observe}) may overlap the others.
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

    /**
     * Heap bytes that reconstructing a {@code channels × height × width} frame takes at its peak
     * (decoded pixels, output, the kernel's scratch), or 0 when it is small beside the frame itself.
     * The runtime dead-letters a frame whose figure exceeds {@link FrameProcessor#HEAP_SHARE} of the
     * heap before decoding it, with the heap it would need: a frame too big for the heap would
     * otherwise end the stage with an OutOfMemoryError, and on restart meet the same frame again.
     */
    default long workingBytes(long channels, long height, long width, ParameterValues parameters) {
        return 0;
    }

    // --- Tap: a second topic read only to look at its frames; optional ------------------------------

    /**
     * A topic this stage reads beside its input only to {@link #observe} frames (unmix: the camera's
     * raw frames, sampled for blind spectra estimation). Tap frames are never processed, written,
     * dead-lettered or kept in a store; one that cannot be read is skipped and counted
     * ({@code fluostream_stage_tap_skipped_total}). {@code null} (the default): no tap, and the
     * topology is exactly that of a stage without one.
     */
    default Topic tap() {
        return null;
    }

    /**
     * Whether to decode the next tap frame of {@code streamId} and {@link #observe} it; asked before
     * any pixel is decoded, so it must be cheap (e.g. "every n-th frame of the stream").
     */
    default boolean observes(String streamId) {
        return false;
    }

    /**
     * Looks at one decoded tap frame. Runs on whichever stream thread owns the tap partition, without
     * the kernel lock (a tap must never hold up frames): possibly concurrently with {@link #process}
     * and {@link #apply}, so keep it short and thread-safe. An exception skips the frame.
     */
    default void observe(String streamId, Image pixels) {
    }

    // --- Stage-specific control calls (see README "Control plane"); all optional ------------------

    /**
     * Whether this stage serves a stage-specific call (SetReference, SetSpectra, StartTraining, ...).
     * The runtime answers every call a stage does not serve with UNIMPLEMENTED.
     */
    default boolean serves(StageCommand.CallCase call) {
        return false;
    }

    /**
     * Checks a call on the replica that received it, before it goes to the control topic: throw
     * {@link InvalidCommandException} (answered INVALID_ARGUMENT, nothing is published) for
     * arguments no replica could apply.
     */
    default void check(StageCommand command) throws InvalidCommandException {
    }

    /**
     * The command to publish for a {@link #check checked} call: the call itself, or the call
     * completed with what only the called replica knows, so that it means the same on every replica
     * (unmix: AdoptSpectra by candidate id gets the candidate's spectra, which exist on the replica
     * that estimated them only).
     */
    default StageCommand resolve(StageCommand command) throws InvalidCommandException {
        return command;
    }

    /**
     * Applies a call this stage {@link #serves}. Changing calls run on every replica, in control-topic
     * order, also when a restarted replica replays the topic ({@link CommandContext#replayed()});
     * read-only calls ({@link CommandContext#readOnly()}) run on the called replica only. Never
     * concurrently with {@link #process}: the runtime holds the kernel lock for both. Per-stream
     * state that lives in {@link StreamMemory} can only be written from {@link #process}: keep a
     * pending request and apply it on the stream's next frame.
     *
     * @return what to tell the caller (stage and instance are filled in by the runtime)
     */
    default StageReply apply(StageCommand command, CommandContext context) throws InvalidCommandException {
        throw new UnsupportedOperationException(stage() + " does not serve " + command.getCallCase());
    }

    /**
     * Where this kernel reconstructs frames: {@code cpu} (the pure-Java kernels), {@code djl-cpu}
     * or {@code gpu} (the device path); GetStatus reports it. A kernel with a device path takes
     * the service's {@link io.fluostream.learning.device.DeviceChoice} (resolved from
     * {@code fluostream.device} by {@link StageDevices}) and returns its {@code label()}.
     */
    default String device() {
        return "cpu";
    }

    /** The model version serving now (e.g. "unet-n2v/7"), or empty for a model-free stage. */
    default String modelVersion() {
        return "";
    }

    /** A figure exported as a metric {@code fluostream_<stage>_<name>} (a summary: mean = sum / count). */
    record QualitySignal(String figure, String metricName, String description) {
    }
}
