package io.fluostream.stage;

/**
 * Where a {@link StageKernel#apply} call comes from.
 *
 * @param commandId id of the command on the control topic (empty for a read-only call)
 * @param principal the name of the token that made the call
 * @param instance  this replica
 * @param replayed  the command is being replayed from the control topic at start (it was applied
 *                  before this replica restarted); a kernel should restore state, not repeat side
 *                  effects such as starting a training run that already finished
 * @param readOnly  a read-only call (EstimateSpectra, TrainingProgress, ListModels) answered by the
 *                  replica that was called; it does not go to the other replicas
 */
public record CommandContext(String commandId, String principal, String instance, boolean replayed, boolean readOnly) {

    /** For kernel tests: a live command on one replica. */
    public static CommandContext live(String instance) {
        return new CommandContext("test", "test", instance, false, false);
    }
}
