package io.fluostream.learning.unmix;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import java.util.List;

/**
 * The learned unmixer's network: a small fully convolutional CNN that corrects the exact NNLS
 * abundances using each pixel's neighbourhood. Input {@code (N, C + F, H, W)}: the denoised
 * channels and their NNLS abundances, both divided by the frame's scale ({@link UnmixInput});
 * output {@code (N, F, H, W)}: {@code relu(nnls + Δ)}, Δ from five 3 × 3 convolutions with
 * dilations 1, 2, 4, 2, 1 (a 21 px receptive field: a few PSF widths, enough to tell a dim
 * punctum from noise) and a 1 × 1 projection.
 *
 * <p>Why a correction of NNLS rather than abundances from scratch: NNLS is already the best
 * per-pixel answer at high light, so the network only has to learn what a neighbourhood adds at
 * low light, and starts (Δ ≈ 0) no worse than NNLS.
 */
public final class UnmixNetwork {

    /** Dilations of the 3 × 3 convolutions. */
    static final int[] DILATIONS = {1, 2, 4, 2, 1};

    private UnmixNetwork() {
    }

    /**
     * @param channels     detection channels C
     * @param fluorophores fluorophores F
     * @param width        filters per hidden layer
     */
    public static Block build(int channels, int fluorophores, int width) {
        SequentialBlock correction = new SequentialBlock();
        for (int dilation : DILATIONS) {
            correction.add(Conv2d.builder()
                            .setKernelShape(new Shape(3, 3))
                            .optPadding(new Shape(dilation, dilation))
                            .optDilation(new Shape(dilation, dilation))
                            .setFilters(width)
                            .build())
                    .add(Activation::relu);
        }
        correction.add(Conv2d.builder().setKernelShape(new Shape(1, 1)).setFilters(fluorophores).build());
        String nnlsChannels = ":, " + channels + ":" + (channels + fluorophores) + ", :, :";
        Block nnls = new LambdaBlock(in -> new NDList(in.singletonOrThrow().get(new NDIndex(nnlsChannels))), "nnls");
        return new ParallelBlock(UnmixNetwork::sumAndClamp, List.of(nnls, correction));
    }

    /** {@code relu(nnls + Δ)}: abundances are never negative. */
    private static NDList sumAndClamp(List<NDList> branches) {
        NDArray nnls = branches.get(0).singletonOrThrow();
        NDArray delta = branches.get(1).singletonOrThrow();
        return new NDList(Activation.relu(nnls.add(delta)));
    }

    /** The input shape for a batch of {@code n} tiles of {@code h × w}. */
    public static Shape inputShape(int n, int channels, int fluorophores, int h, int w) {
        return new Shape(n, channels + fluorophores, h, w);
    }
}
