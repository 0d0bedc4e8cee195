package io.fluostream.stabilise;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.stabilise.DisplacementField;
import io.fluostream.imaging.stabilise.Registration;
import io.fluostream.imaging.stabilise.StabiliseSettings;
import io.fluostream.imaging.stabilise.Stabiliser;
import io.fluostream.imaging.stabilise.StreamTemplate;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Stabilise stage: sub-pixel motion correction (frames.unmixed → frames.stabilised). Each frame is
 * registered to its stream's template — rigidly (windowed phase correlation, upsampled-DFT
 * refinement) or piecewise-rigidly (a shift per patch, upsampled to a smooth displacement field) —
 * and the same correction is applied to every channel ({@link Stabiliser} does the work).
 *
 * <p><b>Templates</b> ({@code template}): {@code first} keeps the stream's first frame;
 * {@code running_mean} folds every trusted, registered frame into a running mean;
 * {@code reference} uses a reference the user installed ({@link #installReference}), and the first
 * frame until one arrives. Templates live in the stage's stream memory (slots {@value #TEMPLATE}
 * and {@value #USER_REFERENCE}) so they survive restarts; a running mean is written there every
 * {@code template_refresh_frames} folds, not every frame (the changelog carries every write).
 *
 * <p><b>Per-frame figures</b> ({@code stabilise.*}): {@code shift_x_px}, {@code shift_y_px} (the
 * measured rigid drift: where the template's content appears in this frame), {@code shift_px},
 * {@code confidence}, {@code low_confidence} (1 when below {@code min_confidence}),
 * {@code registered} (1 when the output is on the template's grid: corrected, or the template
 * frame itself), {@code applied_shift_x_px}, {@code applied_shift_y_px}, {@code template_sequence},
 * {@code template_user} (1 when registered to a user reference), {@code user_reference_rejected}
 * (on the frame that dropped a reference that did not fit); piecewise also {@code patches},
 * {@code patches_replaced}, {@code patch_shift_max_px} and {@code patch_shift_mean_px} (patch
 * shifts' distance from the rigid shift), and with
 * {@code field_planes} the field itself as planes {@code field_x_px}, {@code field_y_px}.
 * A low-confidence frame (blank, featureless, unrelated to the template) is never silently
 * mis-registered: it is flagged and passed as acquired ({@code low_confidence = pass}) or
 * corrected with the stream's last trusted correction ({@code hold}).
 *
 * <p><b>Threads</b>: one stream thread calls {@link #process}; each frame's work is split between
 * {@code threads} threads (2 by default; the calling thread is one of them). The control entry
 * points ({@link #installReference}, {@link #clearReference}, {@link #resetTemplate}) may be called
 * from any thread, on every replica: they queue a command that the stream's next frame applies
 * wherever the stream is processed (per stream only the latest reference command is kept).
 */
@ApplicationScoped
public class StabiliseKernel implements StageKernel {

    /** Stream-memory slot of the stream's own template (first frame or running mean). */
    static final String TEMPLATE = "template";
    /** Stream-memory slot of the reference the user installed. */
    static final String USER_REFERENCE = "user_reference";

    private final Map<String, StreamState> streams = new HashMap<>();
    private final Map<String, Queue<Command>> pending = new ConcurrentHashMap<>();
    private Stabiliser stabiliser;
    /** The template policy of the last frame, for replies to SetReference. */
    private volatile String currentTemplatePolicy = "first";

    /** What the stage keeps per stream between frames (the images also live in stream memory). */
    private static final class StreamState {
        final StreamTemplate own = new StreamTemplate();
        final StreamTemplate user = new StreamTemplate();
    }

    /** A control command for one stream, applied on its next frame. */
    private sealed interface Command permits InstallReference, UseFrame, ClearReference, ResetTemplate {
    }

    /** Install the stream's frame with sequence ≥ {@code fromSequence} as its user reference. */
    private record UseFrame(long fromSequence) implements Command {
    }

    private record InstallReference(Image reference) implements Command {
    }

    private record ClearReference() implements Command {
    }

    private record ResetTemplate() implements Command {
    }

    @Override
    public boolean serves(StageCommand.CallCase call) {
        return call == StageCommand.CallCase.SET_REFERENCE;
    }

    @Override
    public void check(StageCommand command) throws InvalidCommandException {
        SetReferenceRequest r = command.getSetReference();
        if (r.getStreamId().isEmpty()) {
            throw new InvalidCommandException("SetReference needs a stream_id: a reference belongs to one stream");
        }
        if (r.getReferenceCase() == SetReferenceRequest.ReferenceCase.FRAME) {
            referenceImage(r);
        } else if (r.getReferenceCase() == SetReferenceRequest.ReferenceCase.REFERENCE_NOT_SET) {
            throw new InvalidCommandException("SetReference needs a reference: frame bytes, a sequence number or next_frame");
        }
    }

    @Override
    public StageReply apply(StageCommand command, CommandContext context) throws InvalidCommandException {
        SetReferenceRequest r = command.getSetReference();
        String template = currentTemplatePolicy;
        String when = "; it registers this stream's frames while the template parameter is 'reference' (now '"
                + template + "')";
        if (context.replayed()) {
            // Installed before this replica restarted: the reference is in the stream's memory.
            return StageReply.newBuilder().setMessage("reference for " + r.getStreamId() + " kept from before the restart").build();
        }
        switch (r.getReferenceCase()) {
            case FRAME -> installReference(r.getStreamId(), referenceImage(r));
            case SEQUENCE -> useFrameAsReference(r.getStreamId(), r.getSequence());
            default -> useFrameAsReference(r.getStreamId(), 0);
        }
        String what = switch (r.getReferenceCase()) {
            case FRAME -> "the frame sent";
            case SEQUENCE -> "frame " + r.getSequence() + " (or the first one after it)";
            default -> "its next frame";
        };
        return StageReply.newBuilder().setMessage("stream " + r.getStreamId() + " takes " + what
                + " as its reference on its next frame" + when).build();
    }

    private static Image referenceImage(SetReferenceRequest r) throws InvalidCommandException {
        try {
            return FrameImages.image(FrameImages.parse(r.getFrame().toByteArray()));
        } catch (FrameRejected e) {
            throw new InvalidCommandException("the reference frame is not usable: " + e.getMessage());
        }
    }

    @Override
    public String stage() {
        return "stabilise";
    }

    @Override
    public Topic input() {
        return Topic.UNMIXED;
    }

    @Override
    public Topic output() {
        return Topic.STABILISED;
    }

    @Override
    public boolean stateful() {
        return true;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.choice("mode", List.of("rigid", "piecewise"), "rigid",
                        "rigid: one sub-pixel shift per frame; piecewise: a shift per patch, upsampled to a smooth"
                                + " displacement field (non-rigid motion)"),
                Parameter.choice("template", List.of("first", "running_mean", "reference"), "running_mean",
                        "the template frames are registered to: the stream's first frame, a running mean of its"
                                + " registered frames, or a reference installed by the user (until one is: the first frame)"),
                Parameter.integer("template_frames", 1, 100_000, 32,
                        "running mean: frames it averages (a plain mean of the first N, then exponential with weight 1/N)"),
                Parameter.integer("template_refresh_frames", 1, 10_000, 8,
                        "running mean: registration uses, and stream memory stores, the updated template every N frames"),
                Parameter.integer("registration_channel", -1, 63, -1,
                        "channel to register on; -1 registers on the sum of all channels"),
                Parameter.number("min_confidence", 0, 1, 0.2, "",
                        "below this registration confidence a frame is flagged low_confidence and handled by low_confidence"),
                Parameter.choice("low_confidence", List.of("pass", "hold"), "pass",
                        "what a low-confidence frame gets: pass = unregistered, as acquired; hold = the stream's last"
                                + " trusted correction"),
                Parameter.integer("binning", 0, 8, 0,
                        "estimate on a binned copy (1-8), 0 = auto (2x2 from 512 px, 4x4 from 1024 px); the correction"
                                + " is applied at full resolution"),
                Parameter.integer("patch_px", 16, 4096, 128, "piecewise: patch side, px"),
                Parameter.integer("patch_overlap_px", 0, 2048, 32,
                        "piecewise: least overlap of neighbouring patches, px (at most patch_px / 2; more is capped)"),
                Parameter.number("max_patch_deviation_px", 0.5, 1000, 6, "px",
                        "piecewise: a patch shift farther than this from the rigid shift is not trusted (the patch takes"
                                + " the rigid shift)"),
                Parameter.number("min_patch_match", 0, 1, 0.2, "",
                        "piecewise: a patch whose normalised correlation with its template patch is below this takes the"
                                + " rigid shift"),
                Parameter.flag("field_planes", false,
                        "piecewise: attach the displacement field as planes field_x_px and field_y_px"),
                Parameter.integer("threads", 1, 16, 2, "threads that share each frame's work"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(
                new QualitySignal("shift_px", "shift_px", "Magnitude of the estimated drift from the template, px"),
                new QualitySignal("confidence", "confidence", "Registration confidence (peak quality), 0..1"),
                new QualitySignal("low_confidence", "low_confidence",
                        "1 for a frame below min_confidence (flagged, not corrected with its own estimate), else 0"),
                new QualitySignal("patch_shift_max_px", "patch_shift_max_px",
                        "Piecewise: largest distance of a patch shift from the frame's rigid shift, px"));
    }

    /**
     * Installs {@code reference} as stream {@code streamId}'s user reference: the stream's next
     * frame stores it in stream memory and, with {@code template = reference}, registers to it.
     * It must have the stream's frame height and width, and either the frames' channels (reduced
     * like a frame: registration channel or channel sum) or one channel (the registration plane
     * itself); one that does not fit is dropped on that frame with a note in its provenance. The
     * image is copied. Safe to call from any thread (the control plane's).
     *
     * @throws IllegalArgumentException if the reference holds NaN or infinite samples
     */
    public void installReference(String streamId, Image reference) {
        for (float v : reference.data()) {
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("the reference for stream " + streamId
                        + " has NaN or infinite samples; send a finite image");
            }
        }
        enqueue(streamId, new InstallReference(reference.copy()));
    }

    /**
     * Makes the stream's frame with sequence ≥ {@code fromSequence} (0: its next frame) its user
     * reference when it arrives. Any thread.
     */
    public void useFrameAsReference(String streamId, long fromSequence) {
        enqueue(streamId, new UseFrame(fromSequence));
    }

    /** Forgets stream {@code streamId}'s user reference (on its next frame). Any thread. */
    public void clearReference(String streamId) {
        enqueue(streamId, new ClearReference());
    }

    /** Drops stream {@code streamId}'s own template: its next frame becomes the new one. Any thread. */
    public void resetTemplate(String streamId) {
        enqueue(streamId, new ResetTemplate());
    }

    private void enqueue(String streamId, Command command) {
        if (streamId == null || streamId.isEmpty()) {
            throw new IllegalArgumentException("a stream id is required");
        }
        Queue<Command> queue = pending.computeIfAbsent(streamId, k -> new ConcurrentLinkedQueue<>());
        if (command instanceof InstallReference || command instanceof UseFrame || command instanceof ClearReference) {
            // Only the latest reference command counts: a replica that does not (yet) own the
            // stream keeps one image for it, not every one ever sent.
            queue.removeIf(c -> c instanceof InstallReference || c instanceof UseFrame || c instanceof ClearReference);
        }
        queue.add(command);
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        Image pixels = in.pixels();
        ParameterValues params = in.parameters();
        StabiliseSettings settings = settings(params);
        currentTemplatePolicy = params.text("template");
        if (settings.registrationChannel() >= pixels.channels()) {
            throw new FrameRejected(FrameRejected.Reason.INCOMPATIBLE, "registration_channel is "
                    + settings.registrationChannel() + " but the frame has " + pixels.channels()
                    + " channels; set it to -1 (sum) or a channel below " + pixels.channels());
        }
        StreamMemory memory = in.memory();
        StreamState state = state(in.streamId(), memory, settings);
        List<String> notes = new ArrayList<>();
        boolean referenceRejected = applyCommands(in, state, pixels, notes);

        boolean wantUser = settings.template() == StabiliseSettings.TemplatePolicy.REFERENCE;
        boolean useUser = wantUser && state.user.image() != null && fits(state.user.image(), pixels);
        StreamTemplate template = useUser ? state.user : state.own;
        if (wantUser && !useUser) {
            notes.add(state.user.image() == null
                    ? "template=reference but no reference is installed for this stream: registered to its first frame"
                    : "the installed reference " + state.user.image() + " does not fit this frame " + pixels
                            + ": registered to the stream's own template");
        }
        Registration r = stabiliser(params.integer("threads")).register(template, pixels, in.sequence(), settings);
        if (template.takeChanged()) {
            memory.remember(useUser ? USER_REFERENCE : TEMPLATE, template.sequence(), template.image());
        }

        StageOutput output = StageOutput.of(r.corrected())
                .figure("shift_x_px", r.measured().dx())
                .figure("shift_y_px", r.measured().dy())
                .figure("shift_px", r.measured().magnitude())
                .figure("confidence", r.measured().confidence())
                .figure("low_confidence", r.lowConfidence() ? 1 : 0)
                .figure("registered", r.registered() ? 1 : 0)
                .figure("applied_shift_x_px", r.appliedDx())
                .figure("applied_shift_y_px", r.appliedDy())
                .figure("template_sequence", template.sequence())
                .figure("template_user", useUser ? 1 : 0)
                .method(r.field() != null || settings.mode() == StabiliseSettings.Mode.PIECEWISE
                        ? "piecewise-rigid-phase-correlation" : "rigid-phase-correlation");
        if (referenceRejected) {
            output.figure("user_reference_rejected", 1);
        }
        DisplacementField field = r.field();
        if (field != null) {
            output.figure("patches", r.patches())
                    .figure("patches_replaced", r.patchesReplaced())
                    .figure("patch_shift_max_px", field.maxPatchDeviation(r.appliedDx(), r.appliedDy()))
                    .figure("patch_shift_mean_px", field.meanPatchDeviation(r.appliedDx(), r.appliedDy()));
            if (params.flag("field_planes")) {
                Image planes = field.toPlanes();
                output.plane("field_x_px", planes.channel(0)).plane("field_y_px", planes.channel(1));
            }
        }
        if (r.templateStarted()) {
            notes.add("frame became the stream's template");
        }
        if (r.lowConfidence()) {
            notes.add(String.format(Locale.ROOT, "registration confidence %.3f below min_confidence %.3f: %s",
                    r.measured().confidence(), settings.minConfidence(),
                    r.correction() == Registration.Correction.HELD
                            ? "corrected with the last trusted correction" : "passed unregistered"));
        }
        return output.note(String.join("; ", notes));
    }

    /** The stream's templates: kept here, else loaded from stream memory (after a restart or rebalance). */
    private StreamState state(String streamId, StreamMemory memory, StabiliseSettings settings) {
        StreamState state = streams.get(streamId);
        if (state != null) {
            return state;
        }
        state = new StreamState();
        StreamTemplate own = state.own;
        memory.image(TEMPLATE).ifPresent(m -> {
            own.install(m.image(), m.sequence(), false);
            // Only the image is stored: take a restored running mean as full.
            own.restoreAveraged(settings.templateFrames());
            own.takeChanged(); // already stored
        });
        StreamTemplate user = state.user;
        memory.image(USER_REFERENCE).ifPresent(m -> {
            user.install(m.image(), m.sequence(), true);
            user.takeChanged();
        });
        streams.put(streamId, state);
        return state;
    }

    /**
     * Applies the stream's queued control commands in order.
     *
     * @return true if a user reference was dropped because it does not fit the frames
     */
    private boolean applyCommands(FrameInput in, StreamState state, Image frame, List<String> notes) {
        Queue<Command> queue = pending.get(in.streamId());
        boolean rejected = false;
        List<Command> notYet = new ArrayList<>();
        Command c;
        while (queue != null && (c = queue.poll()) != null) {
            if (c instanceof UseFrame use) {
                if (in.sequence() < use.fromSequence()) {
                    notYet.add(c);
                    continue;
                }
                state.user.install(frame, in.sequence(), true);
                state.user.takeChanged();
                in.memory().remember(USER_REFERENCE, in.sequence(), frame);
                notes.add("this frame installed as the user reference");
            } else if (c instanceof InstallReference install) {
                Image ref = install.reference();
                if (!fits(ref, frame)) {
                    rejected = true;
                    notes.add("user reference " + ref + " does not fit this stream's frames " + frame
                            + " (same height and width, and the frames' channels or 1): dropped; install a matching one");
                    continue;
                }
                state.user.install(ref, in.sequence(), true);
                state.user.takeChanged();
                in.memory().remember(USER_REFERENCE, in.sequence(), ref);
                notes.add("user reference installed");
            } else if (c instanceof ClearReference) {
                state.user.clear();
                in.memory().forget(USER_REFERENCE);
                notes.add("user reference cleared");
            } else if (c instanceof ResetTemplate) {
                state.own.clear();
                in.memory().forget(TEMPLATE);
                notes.add("template reset");
            }
        }
        if (queue != null) {
            queue.addAll(notYet);
        }
        return rejected;
    }

    /** A reference serves frames of its height and width, with the frames' channels or one plane. */
    private static boolean fits(Image reference, Image frame) {
        return reference.height() == frame.height() && reference.width() == frame.width()
                && (reference.channels() == frame.channels() || reference.channels() == 1);
    }

    private static StabiliseSettings settings(ParameterValues p) {
        int patch = p.integer("patch_px");
        return new StabiliseSettings(
                StabiliseSettings.Mode.valueOf(p.text("mode").toUpperCase(Locale.ROOT)),
                StabiliseSettings.TemplatePolicy.valueOf(p.text("template").toUpperCase(Locale.ROOT)),
                p.integer("template_frames"),
                p.integer("template_refresh_frames"),
                p.number("min_confidence"),
                StabiliseSettings.LowConfidencePolicy.valueOf(p.text("low_confidence").toUpperCase(Locale.ROOT)),
                p.integer("registration_channel"),
                p.integer("binning"),
                patch,
                Math.min(p.integer("patch_overlap_px"), patch / 2),
                p.number("max_patch_deviation_px"),
                p.number("min_patch_match"));
    }

    /** The stabiliser for this thread count (rebuilt when the parameter changes). */
    private Stabiliser stabiliser(int threads) {
        if (stabiliser == null || stabiliser.threads() != threads) {
            if (stabiliser != null) {
                stabiliser.close();
            }
            stabiliser = new Stabiliser(threads);
        }
        return stabiliser;
    }

    @PreDestroy
    void close() {
        if (stabiliser != null) {
            stabiliser.close();
            stabiliser = null;
        }
    }
}
