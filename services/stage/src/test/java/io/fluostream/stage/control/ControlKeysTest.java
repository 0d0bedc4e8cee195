package io.fluostream.stage.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StageRuntime;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Compaction of the control topic must not change what a replica ends with: replaying only the
 * latest record of each key (what compaction keeps, in offset order) gives the same parameters and
 * pause state as replaying every command.
 */
class ControlKeysTest {

    /** A kernel with three parameters and one stage-specific call (training). */
    static final class Toy implements StageKernel {
        final List<String> calls = new ArrayList<>();

        @Override
        public String stage() {
            return "toy";
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
            return List.of(Parameter.integer("a", 0, 100, 0, "a"), Parameter.integer("b", 0, 100, 0, "b"),
                    Parameter.integer("c", 0, 100, 0, "c"));
        }

        @Override
        public List<QualitySignal> qualitySignals() {
            return List.of();
        }

        @Override
        public StageOutput process(FrameInput input) throws FrameRejected {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean serves(StageCommand.CallCase call) {
            return call == StageCommand.CallCase.START_TRAINING || call == StageCommand.CallCase.STOP_TRAINING;
        }

        @Override
        public StageReply apply(StageCommand command, CommandContext context) {
            calls.add(command.getCallCase() + (context.replayed() ? " (replayed)" : ""));
            return StageReply.newBuilder().setMessage("ok").build();
        }
    }

    private static StageRuntime runtime() {
        return new StageRuntime(new Toy(), new StageIdentity("toy", "test", "t1"), TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
    }

    private static void replay(StageRuntime r, List<ControlCommand> commands) {
        CommandApplier applier = new CommandApplier(r, new CommandApplier.StagePause() {
            @Override
            public void pause() {
            }

            @Override
            public void resume() {
            }
        });
        for (ControlCommand c : commands) {
            applier.apply(c, new CommandContext(c.getId(), "test", "t1", true, false));
        }
    }

    private static String state(StageRuntime r) {
        return r.parameters().current().asMap() + " stagePaused=" + r.control().stagePaused() + " streams=" + r.control().pausedStreams();
    }

    @Test
    void replayingWhatCompactionKeepsEndsInTheSameStateAsReplayingEverything() {
        Random rnd = new Random(11);
        String[] names = {"a", "b", "c"};
        String[] streams = {"", "s1", "s2"};
        for (int trial = 0; trial < 50; trial++) {
            List<ControlCommand> log = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                ControlCommand.Builder c = ControlCommand.newBuilder().setId(trial + "-" + i).setStage("toy");
                switch (rnd.nextInt(3)) {
                    case 0: {
                        SetParametersRequest.Builder s = SetParametersRequest.newBuilder();
                        for (String n : names) {
                            if (rnd.nextBoolean()) {
                                s.putValues(n, ParameterValue.newBuilder().setInteger(rnd.nextInt(100)).build());
                            }
                        }
                        if (s.getValuesCount() == 0) {
                            s.putValues("a", ParameterValue.newBuilder().setInteger(rnd.nextInt(100)).build());
                        }
                        c.setSetParameters(s);
                        break;
                    }
                    case 1:
                        c.setPause(PauseRequest.newBuilder().setStreamId(streams[rnd.nextInt(3)]));
                        break;
                    default:
                        c.setResume(ResumeRequest.newBuilder().setStreamId(streams[rnd.nextInt(3)]));
                        break;
                }
                log.add(c.build());
            }
            // Compaction: the latest record of each key survives, in its original position.
            Map<String, Integer> latest = new LinkedHashMap<>();
            for (int i = 0; i < log.size(); i++) {
                latest.put(ControlKeys.key(log.get(i)), i);
            }
            List<ControlCommand> compacted = new ArrayList<>();
            for (int i = 0; i < log.size(); i++) {
                if (latest.get(ControlKeys.key(log.get(i))) == i) {
                    compacted.add(log.get(i));
                }
            }
            StageRuntime full = runtime();
            StageRuntime kept = runtime();
            replay(full, log);
            replay(kept, compacted);
            assertEquals(state(full), state(kept), "trial " + trial + ": compaction kept " + compacted.size() + " of " + log.size());
        }
    }

    @Test
    void keysNameTheStageTheStreamAndWhatIsSet() {
        ControlCommand.Builder c = ControlCommand.newBuilder().setStage("denoise");
        assertEquals("denoise/*/pause", ControlKeys.key(c.setPause(PauseRequest.getDefaultInstance()).build()));
        assertEquals("denoise/rig1/cam0/pause", ControlKeys.key(c.setResume(ResumeRequest.newBuilder().setStreamId("rig1/cam0")).build()));
        assertEquals("denoise/*/parameters/a,b", ControlKeys.key(c.setSetParameters(SetParametersRequest.newBuilder()
                .putValues("b", ParameterValue.getDefaultInstance()).putValues("a", ParameterValue.getDefaultInstance())).build()));
        assertEquals("denoise/*/training", ControlKeys.key(c.setStageCommand(StageCommand.newBuilder()
                .setStartTraining(StartTrainingRequest.getDefaultInstance())).build()));
        assertThrows(IllegalArgumentException.class, () -> ControlKeys.key(c.setStageCommand(StageCommand.newBuilder()
                .setListModels(io.fluostream.proto.ListModelsRequest.getDefaultInstance())).build()));
    }

    @Test
    void aStageSpecificCallReachesTheKernelOnlyWhenTheStageServesIt() {
        StageRuntime r = runtime();
        Toy toy = (Toy) r.kernel();
        replay(r, List.of(ControlCommand.newBuilder().setId("1").setStage("toy")
                .setStageCommand(StageCommand.newBuilder().setStartTraining(StartTrainingRequest.getDefaultInstance())).build()));
        assertEquals(List.of("START_TRAINING (replayed)"), toy.calls);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> replay(r, List.of(
                ControlCommand.newBuilder().setId("2").setStage("toy").setStageCommand(StageCommand.newBuilder()
                        .setSetReference(io.fluostream.proto.SetReferenceRequest.newBuilder().setStreamId("s"))).build())));
        assertEquals("toy does not serve SetReference; it is a call of the stabilise stage", e.getMessage());
    }
}
