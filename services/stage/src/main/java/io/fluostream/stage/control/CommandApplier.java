package io.fluostream.stage.control;

import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.ControlState;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.ParameterMessages;
import io.fluostream.stage.StageRuntime;

/**
 * Applies one command of the control topic to this replica: pause flags, parameters, or the
 * kernel's own call. Plain Java, so it is tested without Kafka; {@link ControlPlane} feeds it.
 */
public final class CommandApplier {

    /** Pauses and resumes the whole stage (Kafka Streams' own pause: frames wait in Kafka). */
    public interface StagePause {
        void pause();

        void resume();
    }

    private final StageRuntime runtime;
    private final StagePause stagePause;

    public CommandApplier(StageRuntime runtime, StagePause stagePause) {
        this.runtime = runtime;
        this.stagePause = stagePause;
    }

    /**
     * @throws io.fluostream.stage.InvalidParameterException a parameter value is not allowed
     * @throws InvalidCommandException the kernel refused the call's arguments
     * @throws UnsupportedOperationException the stage does not serve the call
     */
    public StageReply apply(ControlCommand c, CommandContext context) {
        ControlState control = runtime.control();
        String stage = runtime.identity().stage();
        StageReply.Builder reply = StageReply.newBuilder().setStage(stage).setInstance(runtime.identity().instance());
        switch (c.getChangeCase()) {
            case PAUSE: {
                String stream = c.getPause().getStreamId();
                if (stream.isEmpty()) {
                    control.stagePaused(true);
                    stagePause.pause();
                    return reply.setMessage(stage + " paused; frames wait in Kafka").build();
                }
                control.pauseStream(stream);
                return reply.setMessage("stream " + stream + " paused on " + stage + "; its frames are held in order until it is resumed").build();
            }
            case RESUME: {
                String stream = c.getResume().getStreamId();
                if (stream.isEmpty()) {
                    control.stagePaused(false);
                    stagePause.resume();
                    return reply.setMessage(stage + " resumed").build();
                }
                control.resumeStream(stream);
                return reply.setMessage("stream " + stream + " resumed on " + stage + "; held frames are released in order").build();
            }
            case SET_PARAMETERS: {
                var values = runtime.parameters().set(ParameterMessages.fromMessages(c.getSetParameters().getValuesMap()));
                return reply.setMessage("parameters set (hash " + values.hash() + ")").build();
            }
            case STAGE_COMMAND:
                return applyToKernel(c.getStageCommand(), context, reply);
            default:
                throw new InvalidCommandException("a control command with nothing to do (id " + c.getId() + ")");
        }
    }

    /** Runs a stage-specific call on the kernel, never while it processes a frame. */
    public StageReply applyToKernel(StageCommand command, CommandContext context, StageReply.Builder base) {
        if (!runtime.kernel().serves(command.getCallCase())) {
            throw new UnsupportedOperationException(unsupported(runtime.identity().stage(), command.getCallCase()));
        }
        runtime.control().kernelLock().lock();
        try {
            StageReply r = runtime.kernel().apply(command, context);
            return base.mergeFrom(r).setStage(runtime.identity().stage()).setInstance(runtime.identity().instance()).build();
        } finally {
            runtime.control().kernelLock().unlock();
        }
    }

    public static String unsupported(String stage, StageCommand.CallCase call) {
        return stage + " does not serve " + callName(call) + "; it is a call of the " + ControlKeys.servedBy(call) + " stage";
    }

    /** The gRPC method name of a stage-specific call, e.g. SET_REFERENCE → SetReference. */
    public static String callName(StageCommand.CallCase call) {
        StringBuilder sb = new StringBuilder();
        for (String part : call.name().split("_")) {
            sb.append(part.charAt(0)).append(part.substring(1).toLowerCase(java.util.Locale.ROOT));
        }
        return sb.toString();
    }
}
