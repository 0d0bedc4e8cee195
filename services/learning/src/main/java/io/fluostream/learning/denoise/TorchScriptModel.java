package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import io.fluostream.proto.NetworkArchitecture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A denoiser trained elsewhere, loaded as a TorchScript module ({@code torch.jit.save}). The contract
 * is the same as FluoStream's own networks: {@code forward(x)} takes {@code N × (C·frames) × H × W}
 * float32 variance-stabilised planes (generalised Anscombe, unit noise variance; normalised by the
 * record's {@code input_shift}/{@code input_scale}, identity by default) and returns
 * {@code N × C × H × W} in the same domain. H and W are the frame's own (no padding): a module that
 * needs multiples of some size must pad itself.
 *
 * <p>Whether a module fits a frame is found out by running it once on a probe of the frame's shape;
 * a module that fails, or answers with another shape, is refused with libtorch's message.
 */
final class TorchScriptModel implements ServingModel {

    private final String id;
    private final NetworkArchitecture architecture;
    private final Normalisation normalisation;
    private final NDManager manager;
    private final PtSymbolBlock module;
    private final ParameterStore parameters;

    private TorchScriptModel(String id, NetworkArchitecture architecture, NDManager manager, PtSymbolBlock module) {
        this.id = id;
        this.architecture = architecture;
        this.normalisation = architecture.getInputScale() > 0
                ? new Normalisation(architecture.getInputShift(), architecture.getInputScale())
                : new Normalisation(0f, 1f);
        this.manager = manager;
        this.module = module;
        this.parameters = new ParameterStore(manager, false);
    }

    static TorchScriptModel load(String id, byte[] module, NetworkArchitecture architecture, Device device)
            throws MalformedModelException {
        if (architecture.getChannels() < 1) {
            throw new MalformedModelException("TorchScript model " + id + " does not say how many channels it takes"
                    + " (architecture.channels)");
        }
        Torch.init();
        NDManager manager = NDManager.newBaseManager(device);
        Path file = null;
        try {
            file = Files.createTempFile("fluostream-model", ".pt");
            Files.write(file, module);
            PtSymbolBlock block = JniUtils.loadModule((PtNDManager) manager, file, true, new String[0], new String[0], false);
            return new TorchScriptModel(id, architecture, manager, block);
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw new MalformedModelException("cannot load TorchScript model " + id + ": " + e.getMessage(), e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int channels() {
        return architecture.getChannels();
    }

    @Override
    public int contextFrames() {
        return architecture.getContextFrames();
    }

    @Override
    public String misfit(int channels, int height, int width) {
        if (channels != channels()) {
            return "model " + id + " declares " + channels() + " channel(s), the frame has " + channels;
        }
        int cin = channels * (1 + contextFrames());
        try (NDManager scope = manager.newSubManager()) {
            NDArray probe = scope.zeros(new Shape(1, cin, height, width), DataType.FLOAT32);
            NDArray out = module.forward(parameters, new NDList(probe), false).singletonOrThrow();
            Shape want = new Shape(1, channels, height, width);
            if (!out.getShape().equals(want)) {
                return "model " + id + " answers a " + new Shape(1, cin, height, width) + " input with " + out.getShape()
                        + ", expected " + want;
            }
            return null;
        } catch (RuntimeException e) {
            return "model " + id + " fails on a " + cin + "x" + height + "x" + width + " input: " + firstLine(e.getMessage());
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public DenoisingNetwork.Prediction predict(float[] planes, int height, int width, boolean confidence) {
        int cin = channels() * (1 + contextFrames());
        int c = channels();
        int n = height * width;
        int passes = confidence ? 2 : 1;
        float[] input = new float[passes * cin * n];
        for (int p = 0; p < cin; p++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    float v = normalisation.in(planes[p * n + y * width + x]);
                    input[p * n + y * width + x] = v;
                    if (confidence) {
                        input[(cin + p) * n + y * width + (width - 1 - x)] = v;
                    }
                }
            }
        }
        float[] out;
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = scope.create(input, new Shape(passes, cin, height, width));
            out = module.forward(parameters, new NDList(x), false).singletonOrThrow()
                    .toDevice(Device.cpu(), false).toType(DataType.FLOAT32, false).toFloatArray();
        }
        float[] mean = new float[c * n];
        float[] spread = confidence ? new float[c * n] : null;
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int i = ch * n + y * width + x;
                    float a = normalisation.out(out[i]);
                    if (confidence) {
                        float b = normalisation.out(out[(c + ch) * n + y * width + (width - 1 - x)]);
                        mean[i] = 0.5f * (a + b);
                        spread[i] = 0.5f * Math.abs(a - b);
                    } else {
                        mean[i] = a;
                    }
                }
            }
        }
        return new DenoisingNetwork.Prediction(mean, spread);
    }

    @Override
    public void close() {
        module.close();
        manager.close();
    }
}
