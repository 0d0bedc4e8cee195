package io.fluostream.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameRejected;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.frames.FrameImages;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StageParameters;
import io.fluostream.stage.StreamMemory;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The kernel alone: the control entry points a gRPC control plane will call, and its parameters. */
class StabiliseKernelTest {

    private static final String STREAM = "s1";

    private final StabiliseKernel kernel = new StabiliseKernel();
    private final StageParameters parameters = new StageParameters(kernel.parameters());
    private final SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(128).width(128)
            .maxFlowPxPerFrame(0).maxDriftPx(32).seed(9).build();
    private final ForwardModel model = new ForwardModel(sim, 0);

    @AfterEach
    void close() {
        kernel.close();
    }

    private StageOutput process(long sequence, Image pixels) throws FrameRejected {
        return process(sequence, pixels, parameters.current());
    }

    private StageOutput process(long sequence, Image pixels, ParameterValues values) throws FrameRejected {
        Frame header = Frame.newBuilder().setStreamId(STREAM).setSequence(sequence).build();
        return kernel.process(new FrameInput(header, pixels, StreamMemory.none(STREAM), values));
    }

    /**
     * A user reference installed from another thread is applied on the stream's next frame: with
     * template = reference, shifts are measured against it (here: frame 0 moved by a known amount).
     */
    @Test
    void installedReferenceBecomesTheTemplateOnTheNextFrame() throws Exception {
        parameters.set(Map.of("template", "reference"));
        Image frame0 = model.frame(0).abundances();
        StageOutput first = process(0, frame0);
        assertTrue(first.note().contains("no reference is installed"), first.note());
        assertEquals(0.0, first.figures().get("template_user"));

        // The user's reference: the stream as it was at t = 200 (a frame it has not sent).
        Image reference = model.frame(200).abundances();
        Thread control = new Thread(() -> kernel.installReference(STREAM, reference));
        control.start();
        control.join();

        StageOutput next = process(1, frame0);
        assertTrue(next.note().contains("user reference installed"), next.note());
        assertEquals(1.0, next.figures().get("template_user"));
        assertEquals(1.0, next.figures().get("template_sequence"), "installed on frame 1");
        // The reference's content at p appears in frame 0 at p + d(0) − d(200) = p − d(200).
        assertEquals(-model.driftX(200), next.figures().get("shift_x_px"), 0.06);
        assertEquals(-model.driftY(200), next.figures().get("shift_y_px"), 0.06);

        // Other template policies ignore the reference but keep it.
        StageOutput own = process(2, frame0, parameters.set(Map.of("template", "first")));
        assertEquals(0.0, own.figures().get("template_user"));
        assertEquals(0.0, own.figures().get("shift_x_px"), 0.02);
        StageOutput again = process(3, frame0, parameters.set(Map.of("template", "reference")));
        assertEquals(1.0, again.figures().get("template_user"));

        kernel.clearReference(STREAM);
        StageOutput cleared = process(4, frame0);
        assertEquals(0.0, cleared.figures().get("template_user"));
        assertTrue(cleared.note().contains("user reference cleared"), cleared.note());
    }

    /** The SetReference control call: a frame sent by the user, a later frame, or a refusal with a reason. */
    @Test
    void setReferenceCallsInstallTheSentFrameOrALaterOne() throws Exception {
        parameters.set(Map.of("template", "reference"));
        Image frame0 = model.frame(0).abundances();
        process(0, frame0);
        Frame sent = FrameImages.withImage(Frame.newBuilder().setStreamId(STREAM), model.frame(200).abundances(),
                PixelType.FLOAT32, Encoding.RAW).build();
        StageCommand byFrame = StageCommand.newBuilder().setSetReference(SetReferenceRequest.newBuilder()
                .setStreamId(STREAM).setFrame(sent.toByteString())).build();
        assertTrue(kernel.serves(byFrame.getCallCase()));
        kernel.check(byFrame);
        String reply = kernel.apply(byFrame, CommandContext.live("stabilise-1")).getMessage();
        assertTrue(reply.contains("the frame sent"), reply);
        StageOutput next = process(1, frame0);
        assertEquals(-model.driftX(200), next.figures().get("shift_x_px"), 0.06);

        // "frame 5 or the first after it": frames 2..4 keep the sent reference, frame 5 becomes it.
        StageCommand bySequence = StageCommand.newBuilder().setSetReference(SetReferenceRequest.newBuilder()
                .setStreamId(STREAM).setSequence(5)).build();
        kernel.apply(bySequence, CommandContext.live("stabilise-1"));
        assertEquals(1.0, process(2, frame0).figures().get("template_sequence"));
        StageOutput fifth = process(5, model.frame(50).abundances());
        assertEquals(5.0, fifth.figures().get("template_sequence"));
        assertEquals(0.0, process(6, model.frame(50).abundances()).figures().get("shift_x_px"), 0.02);

        // Replayed after a restart: the reference is already in stream memory; nothing is queued again.
        kernel.apply(bySequence, new CommandContext("c", "test", "stabilise-1", true, false));
        assertEquals(5.0, process(7, model.frame(50).abundances()).figures().get("template_sequence"));

        InvalidCommandException bad = assertThrows(InvalidCommandException.class, () -> kernel.check(StageCommand.newBuilder()
                .setSetReference(SetReferenceRequest.newBuilder().setStreamId(STREAM)
                        .setFrame(com.google.protobuf.ByteString.copyFromUtf8("not a frame"))).build()));
        assertTrue(bad.getMessage().contains("not usable"), bad.getMessage());
        assertThrows(InvalidCommandException.class, () -> kernel.check(StageCommand.newBuilder()
                .setSetReference(SetReferenceRequest.newBuilder().setNextFrame(true)).build()));
    }

    /** A single-plane reference (the registration plane itself) serves multi-channel frames. */
    @Test
    void singlePlaneReferenceServesMultiChannelFrames() throws Exception {
        parameters.set(Map.of("template", "reference"));
        Image frame = model.frame(100).abundances();
        kernel.installReference(STREAM, Images.sumChannels(model.frame(0).abundances()));
        StageOutput out = process(0, frame);
        assertEquals(1.0, out.figures().get("template_user"));
        assertEquals(model.driftX(100), out.figures().get("shift_x_px"), 0.06);
        assertEquals(model.driftY(100), out.figures().get("shift_y_px"), 0.06);
    }

    /** Only the latest reference sent before a frame counts (a replica keeps one per stream). */
    @Test
    void theLatestReferenceWins() throws Exception {
        parameters.set(Map.of("template", "reference"));
        kernel.installReference(STREAM, model.frame(300).abundances());
        kernel.clearReference(STREAM);
        kernel.installReference(STREAM, model.frame(200).abundances());
        StageOutput out = process(0, model.frame(0).abundances());
        assertEquals(1.0, out.figures().get("template_user"));
        assertEquals(-model.driftX(200), out.figures().get("shift_x_px"), 0.06);
        assertEquals(-model.driftY(200), out.figures().get("shift_y_px"), 0.06);
    }

    /** A reference that does not fit the frames is dropped with a note and a figure; frames go on. */
    @Test
    void referenceOfTheWrongShapeIsDroppedWithANote() throws Exception {
        parameters.set(Map.of("template", "reference"));
        kernel.installReference(STREAM, new Image(1, 40, 40));
        StageOutput out = process(0, model.frame(0).abundances());
        assertEquals(1.0, out.figures().get("user_reference_rejected"));
        assertTrue(out.note().contains("does not fit"), out.note());
        assertEquals(0.0, out.figures().get("template_user"));
        Image nan = new Image(1, 128, 128);
        nan.data()[7] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> kernel.installReference(STREAM, nan));
        assertThrows(IllegalArgumentException.class, () -> kernel.installReference("", nan));
    }

    /** Resetting the template makes the stream's next frame the new template. */
    @Test
    void resetTemplateStartsAgainFromTheNextFrame() throws Exception {
        process(0, model.frame(0).abundances());
        StageOutput drifted = process(1, model.frame(150).abundances());
        assertTrue(Math.abs(drifted.figures().get("shift_x_px")) + Math.abs(drifted.figures().get("shift_y_px")) > 1);
        kernel.resetTemplate(STREAM);
        StageOutput restarted = process(2, model.frame(150).abundances());
        assertTrue(restarted.note().contains("template reset"), restarted.note());
        assertTrue(restarted.note().contains("became the stream's template"), restarted.note());
        assertEquals(2.0, restarted.figures().get("template_sequence"));
        StageOutput after = process(3, model.frame(150).abundances());
        assertEquals(0.0, after.figures().get("shift_x_px"), 0.02);
        assertFalse(after.figures().get("low_confidence") > 0);
    }

    /** Parameters are validated with messages that name them and what is allowed. */
    @Test
    void badParameterValuesAreRefusedWithAMessage() {
        Exception e = assertThrows(RuntimeException.class, () -> parameters.set(Map.of("template", "median")));
        assertTrue(e.getMessage().contains("template must be one of first, running_mean, reference"), e.getMessage());
        e = assertThrows(RuntimeException.class, () -> parameters.set(Map.of("low_confidence", "drop")));
        assertTrue(e.getMessage().contains("pass, hold"), e.getMessage());
        e = assertThrows(RuntimeException.class, () -> parameters.set(Map.of("threads", 0)));
        assertTrue(e.getMessage().contains("threads"), e.getMessage());
    }
}
