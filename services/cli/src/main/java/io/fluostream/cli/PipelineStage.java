package io.fluostream.cli;

import io.fluostream.frames.Topic;

/** The four stage services, in pipeline order, with the ports `./fluostream up` gives them. */
public enum PipelineStage {
    DENOISE("denoise", Topic.RAW, Topic.DENOISED, 8081, 9081),
    UNMIX("unmix", Topic.DENOISED, Topic.UNMIXED, 8082, 9082),
    STABILISE("stabilise", Topic.UNMIXED, Topic.STABILISED, 8083, 9083),
    FLOW("flow", Topic.STABILISED, Topic.FLOW, 8084, 9084);

    private final String id;
    private final Topic input;
    private final Topic output;
    private final int httpPort;
    private final int grpcPort;

    PipelineStage(String id, Topic input, Topic output, int httpPort, int grpcPort) {
        this.id = id;
        this.input = input;
        this.output = output;
        this.httpPort = httpPort;
        this.grpcPort = grpcPort;
    }

    public String id() {
        return id;
    }

    public Topic input() {
        return input;
    }

    public Topic output() {
        return output;
    }

    public int defaultHttpPort() {
        return httpPort;
    }

    public int defaultGrpcPort() {
        return grpcPort;
    }

    public static PipelineStage byId(String id) {
        for (PipelineStage s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown stage '" + id + "'; stages: denoise, unmix, stabilise, flow");
    }
}
