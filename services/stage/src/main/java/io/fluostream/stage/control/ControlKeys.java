package io.fluostream.stage.control;

import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.StageCommand;
import java.util.TreeSet;

/**
 * Record keys of the control topic: {@code <stage>/<stream or *>/<what it sets>}. The compacted
 * topic keeps the latest record of each key, so a key must name exactly the state a command
 * overwrites: then replaying what compaction kept, in topic order, ends in the same state as
 * replaying everything.
 *
 * <ul>
 *   <li>pause and resume of a stream (or the stage, {@code *}) share {@code pause}: the latest wins</li>
 *   <li>SetParameters: {@code parameters/<the names it sets, sorted>}. For each parameter the last
 *       command that set it is the latest of its key, so it is kept: every parameter ends right.</li>
 *   <li>stage-specific calls: the state each sets ({@code reference}, {@code spectra},
 *       {@code training}, {@code model/active}, {@code model/load/<path>})</li>
 * </ul>
 */
public final class ControlKeys {

    public static final String ALL_STREAMS = "*";

    private ControlKeys() {
    }

    public static String key(ControlCommand c) {
        String stage = c.getStage();
        switch (c.getChangeCase()) {
            case PAUSE:
                return stage + "/" + scope(c.getPause().getStreamId()) + "/pause";
            case RESUME:
                return stage + "/" + scope(c.getResume().getStreamId()) + "/pause";
            case SET_PARAMETERS:
                return stage + "/" + ALL_STREAMS + "/parameters/"
                        + String.join(",", new TreeSet<>(c.getSetParameters().getValuesMap().keySet()));
            case STAGE_COMMAND:
                return stage + "/" + stageCommandKey(c.getStageCommand());
            default:
                throw new IllegalArgumentException("a control command with no change: " + c);
        }
    }

    private static String stageCommandKey(StageCommand s) {
        switch (s.getCallCase()) {
            case SET_REFERENCE:
                return scope(s.getSetReference().getStreamId()) + "/reference";
            case SET_SPECTRA:
            case ADOPT_SPECTRA:
                return ALL_STREAMS + "/spectra";
            case START_TRAINING:
            case STOP_TRAINING:
                return ALL_STREAMS + "/training";
            case ACTIVATE_MODEL:
                return ALL_STREAMS + "/model/active";
            case LOAD_MODEL:
                return ALL_STREAMS + "/model/load/" + s.getLoadModel().getPath();
            default:
                throw new IllegalArgumentException(s.getCallCase() + " is read-only and never goes to the control topic");
        }
    }

    /** Whether a stage-specific call only reads (answered by the called replica, not published). */
    public static boolean readOnly(StageCommand.CallCase call) {
        return call == StageCommand.CallCase.ESTIMATE_SPECTRA || call == StageCommand.CallCase.TRAINING_PROGRESS
                || call == StageCommand.CallCase.LIST_MODELS;
    }

    /** The stage that serves a stage-specific call, for the UNIMPLEMENTED message of the others. */
    public static String servedBy(StageCommand.CallCase call) {
        switch (call) {
            case SET_REFERENCE:
                return "stabilise";
            case SET_SPECTRA:
            case ESTIMATE_SPECTRA:
            case ADOPT_SPECTRA:
                return "unmix";
            default:
                return "denoise";
        }
    }

    private static String scope(String streamId) {
        return streamId == null || streamId.isEmpty() ? ALL_STREAMS : streamId;
    }
}
