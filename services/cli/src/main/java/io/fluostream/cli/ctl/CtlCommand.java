package io.fluostream.cli.ctl;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineStage;
import io.fluostream.cli.Stack;
import io.fluostream.imaging.MatrixText;
import io.fluostream.proto.ActivateModelRequest;
import io.fluostream.proto.AdoptSpectraRequest;
import io.fluostream.proto.EstimateSpectraRequest;
import io.fluostream.proto.GetParametersRequest;
import io.fluostream.proto.GetStatusRequest;
import io.fluostream.proto.ListModelsRequest;
import io.fluostream.proto.LoadModelRequest;
import io.fluostream.proto.Matrix;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.PauseRequest;
import io.fluostream.proto.ResumeRequest;
import io.fluostream.proto.SetParametersRequest;
import io.fluostream.proto.SetReferenceRequest;
import io.fluostream.proto.SetSpectraRequest;
import io.fluostream.proto.StageControlGrpc;
import io.fluostream.proto.StartTrainingRequest;
import io.fluostream.proto.StopTrainingRequest;
import io.fluostream.proto.TrainingProgressRequest;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./fluostream ctl STAGE COMMAND [ARGS]}: the stages' gRPC control API from the command line.
 * Readable output by default, the reply messages as JSON with {@code --json}.
 */
@Command(name = "ctl", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Steer a running stage over its gRPC control API.", "",
            "STAGE: denoise, unmix, stabilise, flow, or all (status, health, pause, resume, get).",
            "COMMAND:",
            "  status                         state, counters, lag, parameters, streams",
            "  health                         gRPC health check (no token needed)",
            "  pause [--stream S]             pause the stage, or one stream (its frames are held in order)",
            "  resume [--stream S]",
            "  get                            parameters in force, with types and ranges",
            "  set NAME=VALUE...              change parameters (validated as a whole)",
            "  set-reference --stream S (--sequence N | --next | --frame-file F)      stabilise",
            "  set-spectra --matrix 'r0;r1' [--names a,b]                           unmix",
            "  estimate-spectra --stream S [--components N] [--frames N]            unmix",
            "  adopt-spectra --candidate ID [--matrix M]                            unmix",
            "  start-training [--stream S] [--steps N] [NAME=VALUE...]              denoise",
            "  stop-training | training-progress | list-models                      denoise",
            "  activate-model ID | load-model PATH [--activate]                     denoise",
            "",
            "Targets default to the ports of ./fluostream up (denoise localhost:9081 ... flow :9084).",
            "The token defaults to $FLUOSTREAM_TOKEN, else the token file ./fluostream up writes."})
public final class CtlCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "STAGE")
    String stage;

    @Parameters(index = "1", paramLabel = "COMMAND")
    String command;

    @Parameters(index = "2..*", paramLabel = "ARG", description = "NAME=VALUE pairs, a model id or a path")
    List<String> args = new ArrayList<>();

    @Option(names = "--target", paramLabel = "HOST:PORT", description = "The stage's gRPC address (one stage only).")
    String target;

    @Option(names = "--token", description = "Bearer token (default: $FLUOSTREAM_TOKEN, else the stack's token file).")
    String token;

    @Option(names = "--token-file", description = "File holding the token (default: run/up/control.token under the checkout).")
    Path tokenFile;

    @Option(names = "--json", description = "Print the reply as JSON (one object per stage).")
    boolean json;

    @Option(names = "--tls", description = "Use TLS (trusting the system's CAs unless --ca-cert is given).")
    boolean tls;

    @Option(names = "--ca-cert", paramLabel = "PEM", description = "CA certificate to trust for TLS.")
    Path caCert;

    @Option(names = "--timeout", description = "Deadline of each call (default ${DEFAULT-VALUE}).")
    Duration timeout = Duration.ofSeconds(30);

    @Option(names = "--stream", description = "Stream id (pause, resume, set-reference, estimate-spectra, start-training).")
    String stream = "";

    @Option(names = "--sequence", description = "set-reference: use this frame of the stream.")
    Long sequence;

    @Option(names = "--next", description = "set-reference: use the stream's next frame.")
    boolean nextFrame;

    @Option(names = "--frame-file", description = "set-reference: a Frame (protobuf bytes) to use.")
    Path frameFile;

    @Option(names = "--matrix", description = "Spectra, rows ';' values ',' (rows: fluorophores, columns: channels).")
    String matrix;

    @Option(names = "--names", split = ",", description = "Fluorophore names for set-spectra.")
    List<String> names = new ArrayList<>();

    @Option(names = "--candidate", description = "adopt-spectra: candidate id from estimate-spectra.")
    String candidate = "";

    @Option(names = "--components", description = "estimate-spectra: fluorophores to estimate.")
    int components;

    @Option(names = "--frames", description = "estimate-spectra: the newest N raw-frame tiles to use (one per sampled frame; 0: all kept).")
    int frames;

    @Option(names = "--steps", description = "start-training: training steps.")
    int steps;

    @Option(names = "--activate", description = "load-model: put it in force right away.")
    boolean activate;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        List<PipelineStage> stages = stages();
        String tokenValue = resolveToken().orElse(null);
        int worst = 0;
        for (PipelineStage s : stages) {
            String address = target != null ? target : "localhost:" + s.defaultGrpcPort();
            try (ControlClient client = ControlClient.connect(address, tokenValue, tls, caCert, timeout)) {
                if (command.equals("health")) {
                    String status = HealthCheck.check(client.channel(), timeout);
                    out.println(json ? "{\"stage\":\"" + s.id() + "\",\"status\":\"" + status + "\"}" : s.id() + " (" + address + "): " + status);
                    worst = Math.max(worst, "SERVING".equals(status) ? 0 : 1);
                    continue;
                }
                Message reply = run(client.stub(), s);
                out.println(json ? JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(reply) : Replies.text(reply));
            } catch (StatusRuntimeException e) {
                System.err.println("ctl: " + s.id() + " (" + address + ") " + command + ": " + e.getStatus().getCode()
                        + (e.getStatus().getDescription() == null ? "" : ": " + e.getStatus().getDescription())
                        + hint(e));
                worst = Math.max(worst, e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE ? 3 : 2);
            }
        }
        return worst;
    }

    private List<PipelineStage> stages() {
        if (stage.equals("all")) {
            if (target != null) {
                throw new IllegalArgumentException("--target names one replica: give one stage, not 'all'");
            }
            if (!List.of("status", "health", "pause", "resume", "get").contains(command)) {
                throw new IllegalArgumentException("'all' works with status, health, pause, resume and get; " + command + " needs one stage");
            }
            return List.of(PipelineStage.values());
        }
        return List.of(PipelineStage.byId(stage.toLowerCase(Locale.ROOT)));
    }

    private Message run(StageControlGrpc.StageControlBlockingStub stub, PipelineStage s) throws IOException {
        switch (command) {
            case "status":
                return stub.getStatus(GetStatusRequest.getDefaultInstance());
            case "pause":
                return stub.pause(PauseRequest.newBuilder().setStreamId(stream).build());
            case "resume":
                return stub.resume(ResumeRequest.newBuilder().setStreamId(stream).build());
            case "get":
                return stub.getParameters(GetParametersRequest.getDefaultInstance());
            case "set": {
                if (args.isEmpty()) {
                    throw new IllegalArgumentException("set needs NAME=VALUE pairs; './fluostream ctl " + s.id() + " get' lists them");
                }
                SetParametersRequest.Builder b = SetParametersRequest.newBuilder();
                pairs().forEach(p -> b.putValues(p[0], text(p[1])));
                return stub.setParameters(b.build());
            }
            case "set-reference": {
                SetReferenceRequest.Builder b = SetReferenceRequest.newBuilder().setStreamId(requireStream());
                if (frameFile != null) {
                    b.setFrame(ByteString.copyFrom(Files.readAllBytes(frameFile)));
                } else if (sequence != null) {
                    b.setSequence(sequence);
                } else if (nextFrame) {
                    b.setNextFrame(true);
                } else {
                    throw new IllegalArgumentException("set-reference needs --sequence N, --next or --frame-file F");
                }
                return stub.setReference(b.build());
            }
            case "set-spectra":
                return stub.setSpectra(SetSpectraRequest.newBuilder().setSpectra(requireMatrix()).addAllNames(names).build());
            case "estimate-spectra":
                return stub.estimateSpectra(EstimateSpectraRequest.newBuilder().setStreamId(requireStream())
                        .setComponents(components).setFrames(frames).build());
            case "adopt-spectra": {
                AdoptSpectraRequest.Builder b = AdoptSpectraRequest.newBuilder().setCandidateId(candidate);
                if (matrix != null) {
                    b.setSpectra(requireMatrix());
                }
                return stub.adoptSpectra(b.build());
            }
            case "start-training": {
                StartTrainingRequest.Builder b = StartTrainingRequest.newBuilder().setStreamId(stream).setSteps(steps);
                pairs().forEach(p -> b.putOptions(p[0], text(p[1])));
                return stub.startTraining(b.build());
            }
            case "stop-training":
                return stub.stopTraining(StopTrainingRequest.getDefaultInstance());
            case "training-progress":
                return stub.trainingProgress(TrainingProgressRequest.getDefaultInstance());
            case "list-models":
                return stub.listModels(ListModelsRequest.getDefaultInstance());
            case "activate-model":
                return stub.activateModel(ActivateModelRequest.newBuilder().setModelId(single("a model id")).build());
            case "load-model":
                return stub.loadModel(LoadModelRequest.newBuilder().setPath(single("a path")).setActivate(activate).build());
            default:
                throw new IllegalArgumentException("unknown command '" + command + "'; see ./fluostream ctl --help");
        }
    }

    private List<String[]> pairs() {
        List<String[]> out = new ArrayList<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("'" + a + "' is not NAME=VALUE");
            }
            out.add(new String[] {a.substring(0, eq).trim(), a.substring(eq + 1)});
        }
        return out;
    }

    /** Values go as text: the stage converts and checks them against the parameter's type and range. */
    private static ParameterValue text(String v) {
        return ParameterValue.newBuilder().setText(v).build();
    }

    private String requireStream() {
        if (stream.isEmpty()) {
            throw new IllegalArgumentException(command + " needs --stream S");
        }
        return stream;
    }

    private Matrix requireMatrix() {
        if (matrix == null) {
            throw new IllegalArgumentException(command + " needs --matrix 'a,b,c;d,e,f' (rows: fluorophores, columns: channels)");
        }
        double[][] rows = MatrixText.parse(matrix);
        Matrix.Builder m = Matrix.newBuilder().setRows(rows.length).setCols(rows[0].length);
        for (double[] r : rows) {
            for (double v : r) {
                m.addValues(v);
            }
        }
        return m.build();
    }

    private String single(String what) {
        if (args.size() != 1) {
            throw new IllegalArgumentException(command + " needs " + what);
        }
        return args.get(0);
    }

    private Optional<String> resolveToken() throws IOException {
        if (token != null) {
            return Optional.of(token);
        }
        String env = System.getenv("FLUOSTREAM_TOKEN");
        if (env != null && !env.isBlank()) {
            return Optional.of(env);
        }
        Path file = tokenFile;
        if (file == null) {
            try {
                file = Stack.tokenFile(Home.locate().root().resolve("run").resolve("up"));
            } catch (IllegalStateException e) {
                return Optional.empty();
            }
        }
        if (Files.exists(file)) {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8).trim());
        }
        if (tokenFile != null) {
            throw new IllegalArgumentException("token file " + tokenFile + " does not exist");
        }
        return Optional.empty();
    }

    private static String hint(StatusRuntimeException e) {
        switch (e.getStatus().getCode()) {
            case UNAVAILABLE:
                return "\n  is the stage running? (./fluostream up starts them on localhost:9081-9084; --target for others)";
            case UNAUTHENTICATED:
                return "\n  pass --token, set FLUOSTREAM_TOKEN, or --token-file (./fluostream up writes run/up/control.token)";
            default:
                return "";
        }
    }

    static String matrixText(Matrix m) {
        double[][] rows = new double[m.getRows()][m.getCols()];
        for (int r = 0; r < m.getRows(); r++) {
            for (int c = 0; c < m.getCols(); c++) {
                rows[r][c] = m.getValues(r * m.getCols() + c);
            }
        }
        return MatrixText.format(rows);
    }
}
