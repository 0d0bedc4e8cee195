package io.fluostream.learning.flow;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.initializer.Initializer;
import java.util.List;

/**
 * The learned flow estimator's network: a compact U-Net on pooled planes that predicts
 * the residual between the true flow and the pyramidal estimate.
 *
 * <p>Input {@code B × 11 × H × W} ({@link RefinerInputs}: frame t−1, frame t warped back by the
 * estimate, their difference, the estimate's u and v, and what three wide smoothings would
 * change in it), output {@code B × 2 × H × W}: the residual flow in full-resolution pixels per
 * frame. H and W must be multiples of {@value #MULTIPLE} (three 2× poolings).
 *
 * <p>The U-Net's last layer gives, per pixel, one gate per smoothing scale and a free residual;
 * the output is {@code Σ_k sigmoid(g_k − 4)·(G_k * f − f) + r}. The gates make "smooth this much
 * more here" (the largest gain at low light and small motion) a thing the network learns in a
 * few hundred steps, where composing it from ReLUs took thousands; the free residual keeps every
 * other correction possible. All start near 0 (zero-initialised last layer), i.e. at the
 * pyramidal estimate.
 *
 * <p>Shape: at each of four scales two 3×3 convolutions with ReLU ({@code width}, 2·width,
 * 3·width, 4·width channels), max-pooling down, nearest-neighbour upsampling back with the skip
 * connection concatenated, and a 1×1 convolution to the two flow components. With width 16 that
 * is ~0.2 M parameters and a receptive field of ~90 pooled pixels, wider than the scale over
 * which a pyramidal estimate's low-light errors are correlated.
 */
public final class FlowRefinerNet {

    /** Input height and width must be multiples of this. */
    public static final int MULTIPLE = 8;
    /** Pooling steps: scales are 1, 1/2, 1/4, 1/8. */
    static final int DEPTH = 3;
    /** One gate per smoothed-estimate input. */
    static final int GATES = RefinerInputs.SMOOTHING_SIGMAS.length;
    /** Gates start at sigmoid(−4) ≈ 0.02: near the unsmoothed estimate. */
    private static final float GATE_OFFSET = 4f;

    private FlowRefinerNet() {
    }

    /** A new, uninitialised network whose finest scale has {@code width} channels. */
    public static Block build(int width) {
        if (width < 1) {
            throw new IllegalArgumentException("network width must be >= 1 channel, got " + width);
        }
        Block unet = new SequentialBlock()
                .add(scale(0, width))
                .add(Conv2d.builder().setKernelShape(new Shape(1, 1)).setFilters(GATES + 2).build());
        return new ParallelBlock(FlowRefinerNet::residual, List.of(LambdaBlock.singleton(x -> x, "input"), unet));
    }

    /** Gated smoothing changes (from the input) plus the free residual (from the U-Net). */
    private static NDList residual(List<NDList> branches) {
        NDArray input = branches.get(0).singletonOrThrow();
        NDArray out = branches.get(1).singletonOrThrow();
        NDArray residual = out.get(":, " + GATES + ":" + (GATES + 2));
        for (int k = 0; k < GATES; k++) {
            NDArray gate = Activation.sigmoid(out.get(":, " + k + ":" + (k + 1)).sub(GATE_OFFSET));
            int c = RefinerInputs.FIRST_SMOOTHING + 2 * k;
            NDArray change = input.get(":, " + c + ":" + (c + 2)).mul(RefinerInputs.FLOW_SCALE);
            residual = residual.add(gate.mul(change));
        }
        return new NDList(residual);
    }

    /**
     * Starts the output layer at zero, so that an untrained network leaves the pyramidal estimate
     * as it is and training only moves away from it where that pays. Call after the trainer is
     * made (its default initialiser would override this) and before it initialises the block.
     */
    static void zeroOutput(Block network) {
        Block unet = network.getChildren().get(1).getValue();
        Block head = unet.getChildren().get(unet.getChildren().size() - 1).getValue();
        head.setInitializer(Initializer.ZEROS, Parameter.Type.WEIGHT);
    }

    /** The U-Net below and including scale k. */
    private static Block scale(int k, int width) {
        int channels = width * (k + 1);
        SequentialBlock block = convPair(channels);
        if (k == DEPTH) {
            return block;
        }
        Block coarser = new SequentialBlock()
                .add(LambdaBlock.singleton(x -> Pool.maxPool2d(x, new Shape(2, 2), new Shape(2, 2), new Shape(0, 0), false),
                        "pool"))
                .add(scale(k + 1, width))
                .add(LambdaBlock.singleton(FlowRefinerNet::upsample, "upsample"));
        block.add(new ParallelBlock(FlowRefinerNet::concatenate,
                List.of(LambdaBlock.singleton(x -> x, "skip"), coarser)));
        block.add(convPair(channels));
        return block;
    }

    private static SequentialBlock convPair(int channels) {
        return new SequentialBlock()
                .add(conv3(channels))
                .add(Activation.reluBlock())
                .add(conv3(channels))
                .add(Activation.reluBlock());
    }

    private static Block conv3(int channels) {
        return Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(channels).build();
    }

    /** Nearest-neighbour 2× upsampling of {@code B × C × H × W}. */
    private static NDArray upsample(NDArray x) {
        return x.repeat(2, 2).repeat(3, 2);
    }

    private static NDList concatenate(List<NDList> branches) {
        return new NDList(NDArrays.concat(new NDList(branches.get(0).singletonOrThrow(), branches.get(1).singletonOrThrow()), 1));
    }
}
