package io.fluostream.learning.flow;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.FlowRefiner;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The learned flow estimator: a network ({@link FlowRefinerNet}) trained on forward-model
 * simulations ({@link TrainFlowRefiner}) that, given both frames and the pyramidal estimate,
 * predicts what the estimate got wrong. Plugged into
 * {@link io.fluostream.imaging.flow.ConsistentFlow} as its {@link FlowRefiner}, so the learned
 * field is checked forward–backward like the variational one.
 *
 * <p>The model that ships with the flow stage is the resource {@value #SHIPPED}; {@link #load}
 * reads another. Runs on the DJL PyTorch engine (CPU here; the GPU when the {@code gpu} build
 * and a device are present). Not thread-safe: one instance per stream thread; {@link #close()}
 * frees the native memory.
 */
public final class LearnedFlowRefiner implements FlowRefiner, AutoCloseable {

    /** Classpath resource of the shipped model. */
    public static final String SHIPPED = "/io/fluostream/learning/flow/flow-refiner.bin";

    private final NDManager manager;
    private final Block block;
    private final FlowRefinerModel.Header header;

    private LearnedFlowRefiner(NDManager manager, FlowRefinerModel.Loaded loaded) {
        this.manager = manager;
        this.block = loaded.block();
        this.header = loaded.header();
    }

    /**
     * The model that ships with the flow stage.
     *
     * @throws IllegalStateException when the resource is missing or unreadable (a broken build)
     */
    public static LearnedFlowRefiner shipped() {
        try (InputStream in = LearnedFlowRefiner.class.getResourceAsStream(SHIPPED)) {
            if (in == null) {
                throw new IllegalStateException("the shipped flow model " + SHIPPED + " is not on the classpath;"
                        + " rebuild fluostream-learning or retrain it with " + TrainFlowRefiner.class.getName());
            }
            return load(in);
        } catch (IOException e) {
            throw new IllegalStateException("the shipped flow model " + SHIPPED + " is unreadable: " + e.getMessage(), e);
        }
    }

    /** A model from a file written by {@link TrainFlowRefiner}. */
    public static LearnedFlowRefiner load(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return load(in);
        }
    }

    /** A model from a stream in the format of {@link TrainFlowRefiner}'s files. */
    public static LearnedFlowRefiner load(InputStream in) throws IOException {
        NDManager manager = NDManager.newBaseManager();
        try {
            return new LearnedFlowRefiner(manager, FlowRefinerModel.read(in, manager));
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    static LearnedFlowRefiner fromBytes(byte[] model) {
        try {
            return load(new ByteArrayInputStream(model));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The model's version, e.g. {@code flow-refiner-w16-…}. */
    public String version() {
        return header.version();
    }

    /** How the model was trained, in one line. */
    public String description() {
        return header.description();
    }

    @Override
    public String name() {
        return "learned:" + header.version();
    }

    @Override
    public void refine(Image previous, Image next, FlowField forward, FlowField backward) {
        Image[] inputs = {RefinerInputs.build(previous, next, forward), RefinerInputs.build(next, previous, backward)};
        float[][] residuals = predict(inputs);
        RefinerInputs.addResidual(residuals[0], forward);
        RefinerInputs.addResidual(residuals[1], backward);
    }

    /** Refines one direction's estimate in place. */
    public void refine(Image previous, Image next, FlowField estimate) {
        float[][] residuals = predict(new Image[] {RefinerInputs.build(previous, next, estimate)});
        RefinerInputs.addResidual(residuals[0], estimate);
    }

    /**
     * Runs the network on pooled inputs of one shape (a batch), padded with replicated
     * edges to a multiple of {@value FlowRefinerNet#MULTIPLE}; returns each residual cropped back.
     */
    float[][] predict(Image[] inputs) {
        int h = inputs[0].height();
        int w = inputs[0].width();
        int ph = roundUp(h);
        int pw = roundUp(w);
        int c = RefinerInputs.CHANNELS;
        float[] x = new float[inputs.length * c * ph * pw];
        for (int b = 0; b < inputs.length; b++) {
            float[] in = inputs[b].data();
            for (int ch = 0; ch < c; ch++) {
                int dst = (b * c + ch) * ph * pw;
                for (int y = 0; y < ph; y++) {
                    int src = ch * h * w + Math.min(y, h - 1) * w;
                    int row = dst + y * pw;
                    System.arraycopy(in, src, x, row, w);
                    for (int xx = w; xx < pw; xx++) {
                        x[row + xx] = in[src + w - 1];
                    }
                }
            }
        }
        float[] y;
        try (NDManager scope = manager.newSubManager()) {
            NDArray input = scope.create(x, new Shape(inputs.length, c, ph, pw));
            NDList out = block.forward(new ParameterStore(scope, false), new NDList(input), false);
            y = out.singletonOrThrow().toFloatArray();
        }
        float[][] residuals = new float[inputs.length][2 * h * w];
        for (int b = 0; b < inputs.length; b++) {
            for (int ch = 0; ch < 2; ch++) {
                for (int row = 0; row < h; row++) {
                    System.arraycopy(y, ((b * 2 + ch) * ph + row) * pw, residuals[b], (ch * h + row) * w, w);
                }
            }
        }
        return residuals;
    }

    private static int roundUp(int n) {
        int m = FlowRefinerNet.MULTIPLE;
        return (n + m - 1) / m * m;
    }

    @Override
    public void close() {
        manager.close();
    }
}
