package io.fluostream.stage;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.fluostream.proto.ActivateModelRequest;
import io.fluostream.proto.AdoptSpectraRequest;
import io.fluostream.proto.AuditEntry;
import io.fluostream.proto.CommandReceipt;
import io.fluostream.proto.ControlCommand;
import io.fluostream.proto.EstimateSpectraRequest;
import io.fluostream.proto.GetParametersRequest;
import io.fluostream.proto.GetStatusRequest;
import io.fluostream.proto.ListModelsRequest;
import io.fluostream.proto.LoadModelRequest;
import io.fluostream.proto.Parameters;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.SetSpectraRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageControlGrpc;
import io.fluostream.proto.StageReply;
import io.fluostream.proto.StageState;
import io.fluostream.proto.StageStatus;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.proto.StopTrainingRequest;
import io.fluostream.proto.StreamStatus;
import io.fluostream.proto.TrainingProgressRequest;
import io.fluostream.stage.control.CommandApplier;
import io.fluostream.stage.control.ControlAuthInterceptor;
import io.fluostream.stage.control.ControlKeys;
import io.fluostream.stage.control.ControlPlane;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The gRPC control API of a stage replica. A thin adapter: a call that changes something becomes a
 * {@link ControlCommand} that {@link ControlPlane} sends to every replica; validation lives in
 * {@link StageParameters} and the kernel's {@link StageKernel#check}; authentication in
 * {@link ControlAuthInterceptor}. Every call is counted and audited.
 */
@GrpcService
public class StageControlService extends StageControlGrpc.StageControlImplBase {

    @Inject
    StageRuntime stage;

    @Inject
    Instance<KafkaStreams> streams;

    @Inject
    ControlPlane control;

    /** What a call's work reports back for the audit entry. */
    private static final class Call {
        String commandId = "";
    }

    @FunctionalInterface
    private interface Work<T> {
        T run(Call call) throws StatusException;
    }

    void registerMetrics(@Observes StartupEvent event) {
        List<String> calls = new ArrayList<>();
        StageControlGrpc.getServiceDescriptor().getMethods().forEach(m -> calls.add(m.getBareMethodName()));
        stage.metrics().registerControlCalls(calls);
    }

    @Override
    @Blocking
    public void getStatus(GetStatusRequest request, StreamObserver<StageStatus> response) {
        serve("GetStatus", request, response, call -> status(null));
    }

    @Override
    @Blocking
    public void pause(PauseRequest request, StreamObserver<StageStatus> response) {
        serve("Pause", request, response, call -> {
            checkStream(request.getStreamId());
            return status(submit(call, command().setPause(request)).receipt());
        });
    }

    @Override
    @Blocking
    public void resume(ResumeRequest request, StreamObserver<StageStatus> response) {
        serve("Resume", request, response, call -> {
            checkStream(request.getStreamId());
            return status(submit(call, command().setResume(request)).receipt());
        });
    }

    @Override
    @Blocking
    public void getParameters(GetParametersRequest request, StreamObserver<Parameters> response) {
        serve("GetParameters", request, response, call -> ParameterMessages.toMessage(stage.parameters()));
    }

    @Override
    @Blocking
    public void setParameters(SetParametersRequest request, StreamObserver<Parameters> response) {
        serve("SetParameters", request, response, call -> {
            if (request.getValuesCount() == 0) {
                throw Status.INVALID_ARGUMENT.withDescription("no parameters to set; this stage has: "
                        + String.join(", ", stage.parameters().specs().stream().map(Parameter::name).toList())).asException();
            }
            // Checked here first, so a bad value never reaches the control topic.
            stage.parameters().check(ParameterMessages.fromMessages(request.getValuesMap()));
            CommandReceipt receipt = submit(call, command().setSetParameters(request)).receipt();
            return ParameterMessages.toMessage(stage.parameters()).toBuilder().setReceipt(receipt).build();
        });
    }

    @Override
    @Blocking
    public void setReference(SetReferenceRequest request, StreamObserver<StageReply> response) {
        stageCall("SetReference", request, StageCommand.newBuilder().setSetReference(request).build(), response);
    }

    @Override
    @Blocking
    public void setSpectra(SetSpectraRequest request, StreamObserver<StageReply> response) {
        stageCall("SetSpectra", request, StageCommand.newBuilder().setSetSpectra(request).build(), response);
    }

    @Override
    @Blocking
    public void estimateSpectra(EstimateSpectraRequest request, StreamObserver<StageReply> response) {
        stageCall("EstimateSpectra", request, StageCommand.newBuilder().setEstimateSpectra(request).build(), response);
    }

    @Override
    @Blocking
    public void adoptSpectra(AdoptSpectraRequest request, StreamObserver<StageReply> response) {
        stageCall("AdoptSpectra", request, StageCommand.newBuilder().setAdoptSpectra(request).build(), response);
    }

    @Override
    @Blocking
    public void startTraining(StartTrainingRequest request, StreamObserver<StageReply> response) {
        stageCall("StartTraining", request, StageCommand.newBuilder().setStartTraining(request).build(), response);
    }

    @Override
    @Blocking
    public void stopTraining(StopTrainingRequest request, StreamObserver<StageReply> response) {
        stageCall("StopTraining", request, StageCommand.newBuilder().setStopTraining(request).build(), response);
    }

    @Override
    @Blocking
    public void trainingProgress(TrainingProgressRequest request, StreamObserver<StageReply> response) {
        stageCall("TrainingProgress", request, StageCommand.newBuilder().setTrainingProgress(request).build(), response);
    }

    @Override
    @Blocking
    public void listModels(ListModelsRequest request, StreamObserver<StageReply> response) {
        stageCall("ListModels", request, StageCommand.newBuilder().setListModels(request).build(), response);
    }

    @Override
    @Blocking
    public void activateModel(ActivateModelRequest request, StreamObserver<StageReply> response) {
        stageCall("ActivateModel", request, StageCommand.newBuilder().setActivateModel(request).build(), response);
    }

    @Override
    @Blocking
    public void loadModel(LoadModelRequest request, StreamObserver<StageReply> response) {
        stageCall("LoadModel", request, StageCommand.newBuilder().setLoadModel(request).build(), response);
    }

    private void stageCall(String name, Message request, StageCommand command, StreamObserver<StageReply> response) {
        serve(name, request, response, call -> {
            StageCommand.CallCase what = command.getCallCase();
            if (!stage.kernel().serves(what)) {
                throw Status.UNIMPLEMENTED.withDescription(CommandApplier.unsupported(stage.identity().stage(), what)).asException();
            }
            if (ControlKeys.readOnly(what)) {
                return control.query(command, principal());
            }
            stage.kernel().check(command);
            ControlPlane.Applied applied = submit(call, command().setStageCommand(stage.kernel().resolve(command)));
            StageReply.Builder b = applied.reply() == null ? StageReply.newBuilder() : applied.reply().toBuilder();
            return b.setStage(stage.identity().stage()).setInstance(stage.identity().instance()).setReceipt(applied.receipt()).build();
        });
    }

    private ControlCommand.Builder command() {
        return control.command(principal());
    }

    private ControlPlane.Applied submit(Call call, ControlCommand.Builder command) throws StatusException {
        ControlCommand c = command.build();
        call.commandId = c.getId();
        return control.submit(c);
    }

    private static void checkStream(String streamId) throws StatusException {
        if (ControlKeys.ALL_STREAMS.equals(streamId)) {
            throw Status.INVALID_ARGUMENT.withDescription("'*' is not a stream id; leave stream_id empty for the whole stage").asException();
        }
    }

    /** Runs a call: the answer or a status that says what was wrong; then counts and audits it. */
    private <T> void serve(String name, Message request, StreamObserver<T> response, Work<T> work) {
        Call call = new Call();
        Status result;
        try {
            T value = work.run(call);
            response.onNext(value);
            response.onCompleted();
            result = Status.OK;
        } catch (StatusException e) {
            result = e.getStatus();
        } catch (InvalidParameterException | InvalidCommandException e) {
            result = Status.INVALID_ARGUMENT.withDescription(e.getMessage());
        } catch (UnsupportedOperationException e) {
            result = Status.UNIMPLEMENTED.withDescription(e.getMessage());
        } catch (RuntimeException e) {
            result = Status.INTERNAL.withDescription(stage.identity().stage() + " failed on " + name + ": " + e);
        }
        if (!result.isOk()) {
            response.onError(result.asRuntimeException());
        }
        control.countCall(name, result.getCode().name());
        control.audit(AuditEntry.newBuilder()
                .setKind("call")
                .setStage(stage.identity().stage())
                .setInstance(stage.identity().instance())
                .setPrincipal(principal())
                .setCall(name)
                .setRequest(requestJson(request))
                .setAtUs(System.currentTimeMillis() * 1000)
                .setResult(result.getCode().name())
                .setMessage(result.getDescription() == null ? "" : result.getDescription())
                .setCommandId(call.commandId)
                .build());
    }

    private static String principal() {
        String p = ControlAuthInterceptor.PRINCIPAL.get();
        return p == null ? "unknown" : p;
    }

    /** The request as JSON for the audit log, without frame pixels. */
    private static String requestJson(Message request) {
        Message m = request;
        if (request instanceof SetReferenceRequest r && r.hasFrame()) {
            m = r.toBuilder().clearFrame().build();
        }
        try {
            String json = JsonFormat.printer().omittingInsignificantWhitespace().print(m);
            if (request instanceof SetReferenceRequest r && r.hasFrame()) {
                json = json + " (+ a frame of " + r.getFrame().size() + " bytes)";
            }
            return json;
        } catch (InvalidProtocolBufferException e) {
            return request.getClass().getSimpleName();
        }
    }

    private StageStatus status(CommandReceipt receipt) {
        StageMetrics m = stage.metrics();
        ControlState c = stage.control();
        double lag = m.lag();
        StageStatus.Builder b = StageStatus.newBuilder()
                .setStage(stage.identity().stage())
                .setInstance(stage.identity().instance())
                .setState(state())
                .setFramesIn(m.framesIn())
                .setFramesOut(m.framesOut())
                .setFramesRejected(m.framesRejected())
                .setMethod(m.method())
                .setModelVersion(stage.kernel().modelVersion())
                .setDevice(stage.device())
                .setLag(Double.isNaN(lag) ? -1 : Math.round(lag))
                .setInputTopic(stage.inputTopic())
                .setOutputTopic(stage.outputTopic())
                .addAllPausedStreams(c.pausedStreams())
                .setControlOffset(c.appliedOffset());
        Map<String, StreamStatus> streamsById = new LinkedHashMap<>();
        for (StreamStatus s : stage.ledger().streams()) {
            streamsById.put(s.getStreamId(), s);
        }
        Set<String> paused = c.pausedStreams();
        for (String p : paused) {
            streamsById.putIfAbsent(p, StreamStatus.newBuilder().setStreamId(p).build());
        }
        streamsById.values().stream().sorted((x, y) -> x.getStreamId().compareTo(y.getStreamId())).forEach(s -> b.addStreams(
                s.toBuilder().setPaused(paused.contains(s.getStreamId())).setParked(c.parked(s.getStreamId()))));
        stage.parameters().current().asMap().forEach((k, v) -> b.putParameters(k, ParameterMessages.toMessage(v)));
        if (receipt != null) {
            b.setReceipt(receipt);
        }
        return b.build();
    }

    private StageState state() {
        KafkaStreams ks = streams.get();
        if (ks.isPaused() || stage.control().stagePaused()) {
            return StageState.PAUSED;
        }
        switch (ks.state()) {
            case RUNNING:
                return StageState.RUNNING;
            case CREATED:
            case REBALANCING:
                return StageState.STARTING;
            default:
                return StageState.FAILED;
        }
    }
}
