package io.fluostream.stabilise;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.ReferenceSpectrum;
import io.fluostream.imaging.stabilise.Shift;
import io.fluostream.imaging.stabilise.ShiftResampler;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StreamMemory;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stabilise stage: sub-pixel drift correction (frames.unmixed → frames.stabilised). Each stream's
 * first frame becomes its reference; every later frame is registered to it by windowed phase
 * correlation with upsampled-DFT refinement, and the same correcting shift is applied to every
 * channel. The estimated drift goes into the frame's figures ({@code stabilise.shift_x_px},
 * {@code shift_y_px}: where the reference's content appears in this frame) with the registration
 * confidence. A frame whose confidence is below {@code min_confidence} (blank, featureless, or
 * unrelated to the reference) is not silently mis-registered: it passes unregistered, flagged
 * {@code stabilise.low_confidence = 1}.
 *
 * <p>Stateful: the reference lives in the stage's stream memory, so it survives restarts; its
 * prepared spectrum is cached per stream. Called from one stream thread.
 */
@ApplicationScoped
public class StabiliseKernel implements StageKernel {

    static final String REFERENCE = "reference";

    private final Map<String, CachedReference> references = new HashMap<>();
    private final Map<Long, PhaseCorrelator> correlators = new HashMap<>();
    private final ShiftResampler resampler = new ShiftResampler();

    private record CachedReference(long sequence, ReferenceSpectrum spectrum) {
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
                Parameter.integer("registration_channel", -1, 63, -1,
                        "channel to register on; -1 registers on the sum of all channels"),
                Parameter.number("min_confidence", 0, 1, 0.2, "",
                        "below this registration confidence a frame passes unregistered and flagged"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(
                new QualitySignal("shift_px", "shift_px", "Magnitude of the estimated drift from the reference, px"),
                new QualitySignal("confidence", "confidence", "Registration confidence (peak quality), 0..1"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        Image pixels = in.pixels();
        int channel = in.parameters().integer("registration_channel");
        if (channel >= pixels.channels()) {
            throw new FrameRejected(FrameRejected.Reason.INCOMPATIBLE, "registration_channel is " + channel
                    + " but the frame has " + pixels.channels() + " channels; set it to -1 (sum) or a channel below "
                    + pixels.channels());
        }
        Image plane = channel < 0 ? Images.sumChannels(pixels) : pixels.channel(channel);
        PhaseCorrelator correlator = correlator(plane);
        CachedReference reference = reference(in, plane, correlator);

        Shift shift = correlator.estimate(reference.spectrum(), plane);
        boolean trusted = shift.confidence() >= in.parameters().number("min_confidence");
        Image out = trusted ? resampler.correct(pixels, shift) : pixels;
        StageOutput output = StageOutput.of(out)
                .figure("shift_x_px", shift.dx())
                .figure("shift_y_px", shift.dy())
                .figure("shift_px", shift.magnitude())
                .figure("confidence", shift.confidence())
                .figure("reference_sequence", reference.sequence())
                .method("phase-correlation");
        if (!trusted) {
            output.figure("low_confidence", 1).note(String.format(
                    "registration confidence %.3f below min_confidence: passed unregistered", shift.confidence()));
        }
        return output;
    }

    /** The stream's reference: cached, else from stream memory, else this frame (the stream's first). */
    private CachedReference reference(FrameInput in, Image plane, PhaseCorrelator correlator) {
        CachedReference cached = references.get(in.streamId());
        if (cached != null && cached.spectrum().height() == plane.height() && cached.spectrum().width() == plane.width()) {
            return cached;
        }
        StreamMemory memory = in.memory();
        StreamMemory.Remembered stored = memory.image(REFERENCE)
                .filter(r -> r.image().sameShape(plane))
                .orElse(null);
        if (stored == null) {
            memory.remember(REFERENCE, in.sequence(), plane);
            stored = new StreamMemory.Remembered(in.sequence(), plane);
        }
        CachedReference ref = new CachedReference(stored.sequence(), correlator.prepare(stored.image()));
        references.put(in.streamId(), ref);
        return ref;
    }

    private PhaseCorrelator correlator(Image plane) {
        long key = ((long) plane.height() << 32) | plane.width();
        return correlators.computeIfAbsent(key, k -> new PhaseCorrelator(plane.height(), plane.width()));
    }
}
