package io.fluostream.stage;

import io.fluostream.proto.GetParametersRequest;
import io.fluostream.proto.GetStatusRequest;
import io.fluostream.proto.Parameters;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.StageControlGrpc;
import io.fluostream.proto.StageState;
import io.fluostream.proto.StageStatus;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The gRPC control API of a stage instance: status, pause/resume, parameters. A thin adapter:
 * validation lives in {@link StageParameters}, state in {@link StageRuntime}.
 */
@GrpcService
public class StageControlService extends StageControlGrpc.StageControlImplBase {

    @Inject
    StageRuntime stage;

    @Inject
    Instance<KafkaStreams> streams;

    @Override
    @Blocking
    public void getStatus(GetStatusRequest request, StreamObserver<StageStatus> response) {
        reply(response, status());
    }

    @Override
    @Blocking
    public void pause(PauseRequest request, StreamObserver<StageStatus> response) {
        if (!request.getStreamId().isEmpty()) {
            response.onError(Status.UNIMPLEMENTED.withDescription("pausing one stream is not supported yet; pause the stage").asRuntimeException());
            return;
        }
        streams.get().pause();
        reply(response, status());
    }

    @Override
    @Blocking
    public void resume(ResumeRequest request, StreamObserver<StageStatus> response) {
        if (!request.getStreamId().isEmpty()) {
            response.onError(Status.UNIMPLEMENTED.withDescription("resuming one stream is not supported yet; resume the stage").asRuntimeException());
            return;
        }
        streams.get().resume();
        reply(response, status());
    }

    @Override
    @Blocking
    public void getParameters(GetParametersRequest request, StreamObserver<Parameters> response) {
        reply(response, ParameterMessages.toMessage(stage.parameters()));
    }

    @Override
    @Blocking
    public void setParameters(SetParametersRequest request, StreamObserver<Parameters> response) {
        try {
            stage.parameters().set(ParameterMessages.fromMessages(request.getValuesMap()));
        } catch (InvalidParameterException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        reply(response, ParameterMessages.toMessage(stage.parameters()));
    }

    private StageStatus status() {
        StageMetrics m = stage.metrics();
        StageStatus.Builder b = StageStatus.newBuilder()
                .setStage(stage.identity().stage())
                .setInstance(stage.identity().instance())
                .setState(state())
                .setFramesIn(m.framesIn())
                .setFramesOut(m.framesOut())
                .setFramesRejected(m.framesRejected())
                .setDevice("cpu")
                .setLag(-1)
                .setInputTopic(stage.inputTopic())
                .setOutputTopic(stage.outputTopic())
                .addAllStreams(stage.ledger().streams());
        stage.parameters().current().asMap().forEach((k, v) -> b.putParameters(k, ParameterMessages.toMessage(v)));
        return b.build();
    }

    private StageState state() {
        KafkaStreams ks = streams.get();
        if (ks.isPaused()) {
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

    private static <T> void reply(StreamObserver<T> response, T value) {
        response.onNext(value);
        response.onCompleted();
    }
}
