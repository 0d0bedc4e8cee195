package io.fluostream.learning.denoise;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import java.util.List;

/**
 * A compact U-Net for 2-D frames (Ronneberger et al. 2015, as in CARE and Noise2Void): per level two
 * 3×3 convolutions with leaky ReLU, 2×2 max-pooling down, a learned 2× up-sampling, skip connections
 * by concatenation, and a 1×1 convolution to the output planes. No normalisation layers: online
 * training runs on small batches, where batch statistics would be noisy.
 *
 * <p>With {@code fold = 2} the input's 2×2 pixel blocks are folded into channels first and the
 * output unfolded last, so every convolution runs at half resolution (FFDNet's trick): a quarter of
 * the work per pixel, with the same receptive field in pixels as one more level.
 *
 * <p>Built from DJL's {@link SequentialBlock} and {@link ParallelBlock}, so parameters save and load
 * in DJL's own format. Input {@code N × in × H × W} with H and W multiples of
 * {@link UNetArchitecture#sizeMultiple()}; output {@code N × out × H × W}.
 */
public final class UNet {

    private static final float LEAK = 0.1f;

    private UNet() {
    }

    /**
     * The network of a {@link DenoiserDesign}: the U-Net, plus — with a classical guide — the guide
     * planes added to its output, so it learns a correction to the classical estimate.
     */
    public static Block denoiser(DenoiserDesign d) {
        return denoiser(d, false);
    }

    /**
     * {@link #denoiser(DenoiserDesign)}, with {@code channelsLast} for serving (see
     * {@link #build(UNetArchitecture, boolean)}): the same parameters and the same function.
     */
    static Block denoiser(DenoiserDesign d, boolean channelsLast) {
        Block unet = build(d.unet(), channelsLast);
        if (!d.classicalGuide()) {
            return unet;
        }
        String guide = ":, " + d.guideOffset() + ":" + (d.guideOffset() + d.channels()) + ", :, :";
        Block identity = new LambdaBlock(x -> new NDList(x.singletonOrThrow().get(new ai.djl.ndarray.index.NDIndex(guide))), "guide");
        return new ParallelBlock(outs -> new NDList(outs.get(0).singletonOrThrow().add(outs.get(1).singletonOrThrow())),
                List.of(unet, identity));
    }

    /**
     * Zeroes the U-Net's output layer (after initialisation), so a guided network starts out as its
     * guide exactly — the classical estimate — and training only ever moves away from it where the
     * loss says so (the usual start for residual learning).
     */
    public static void zeroOutput(Block denoiser) {
        Block unet = denoiser instanceof ParallelBlock ? denoiser.getChildren().get(0).getValue() : denoiser;
        Block last = null;
        for (var child : unet.getChildren()) {
            if (child.getValue() instanceof Conv2d) {
                last = child.getValue();
            }
        }
        if (last == null) {
            throw new IllegalArgumentException("no output convolution in " + unet);
        }
        // An in-place change of a parameter must not be recorded by autograd.
        ai.djl.pytorch.jni.JniUtils.setGradMode(false);
        for (var p : last.getParameters()) {
            p.getValue().getArray().muli(0);
        }
    }

    /**
     * The layers of a denoiser (see {@link #denoiser}) that run at the folded resolution — what it
     * computes between its fold and its unfold, without the guide — for a caller that writes its
     * input folded and reads its output unfolded itself (the serving path: no transposes in
     * libtorch). Empty without a fold.
     */
    static List<Block> foldedLayers(Block denoiser) {
        Block unet = denoiser instanceof ParallelBlock ? denoiser.getChildren().get(0).getValue() : denoiser;
        var children = unet.getChildren();
        if (children.size() != 4 || !(children.get(0).getValue() instanceof LambdaBlock)) {
            return List.of();
        }
        return List.of(children.get(1).getValue(), children.get(2).getValue());
    }

    public static Block build(UNetArchitecture a) {
        return build(a, false);
    }

    /**
     * The U-Net; with {@code channelsLast} its inner up-samplings leave their output in channels-last
     * memory order (pixels outermost, a pixel's channels side by side), which is how libtorch's
     * oneDNN convolutions, pooling and concatenation run fastest on the CPU — a serving network fed
     * channels-last input then stays so from end to end instead of going back to planar order at
     * every up-sampling. Same parameters and the same function either way (only memory order
     * differs; libtorch's kernels for the two orders may round sums differently, at float32
     * precision). Training keeps planar order: its speed sets how many steps a model gets, and
     * channels-last was measured for serving only.
     */
    static Block build(UNetArchitecture a, boolean channelsLast) {
        SequentialBlock net = new SequentialBlock();
        int f = a.fold();
        if (f > 1) {
            net.add(new LambdaBlock(x -> new NDList(fold(x.singletonOrThrow(), f)), "fold"));
        }
        net.add(level(a, 0, channelsLast));
        net.add(Conv2d.builder().setKernelShape(new Shape(1, 1)).setFilters(a.outputChannels() * f * f).build());
        if (f > 1) {
            net.add(new LambdaBlock(x -> new NDList(unfold(x.singletonOrThrow(), f)), "unfold"));
        }
        return net;
    }

    /** Level {@code i}: convolutions, then (above the bottom) a skip around the deeper levels. */
    private static Block level(UNetArchitecture a, int i, boolean channelsLast) {
        int features = a.baseFeatures() << i;
        SequentialBlock b = new SequentialBlock();
        b.add(convolutions(features));
        if (i < a.depth()) {
            SequentialBlock deeper = new SequentialBlock();
            deeper.add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)));
            deeper.add(level(a, i + 1, channelsLast));
            // A 2×2 stride-2 transposed convolution, written as a 1×1 convolution to 4× the features
            // and an unfold: DJL's PyTorch engine does not implement deconvolution.
            deeper.add(Conv2d.builder().setKernelShape(new Shape(1, 1)).setFilters(4 * features).build());
            deeper.add(new LambdaBlock(x -> new NDList(channelsLast ? unfoldChannelsLast(x.singletonOrThrow(), 2)
                    : unfold(x.singletonOrThrow(), 2)), "up"));
            b.add(new ParallelBlock(UNet::concatenate, List.of(Blocks.identityBlock(), deeper)));
            b.add(convolutions(features));
        }
        return b;
    }

    private static Block convolutions(int features) {
        SequentialBlock b = new SequentialBlock();
        for (int k = 0; k < 2; k++) {
            b.add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(features).build());
            b.add(Activation.leakyReluBlock(LEAK));
        }
        return b;
    }

    private static NDList concatenate(List<NDList> branches) {
        return new NDList(NDArrays.concat(new NDList(branches.get(0).singletonOrThrow(), branches.get(1).singletonOrThrow()), 1));
    }

    /** {@code N × C × sh × sw → N × C·s² × h × w} (space to depth; channel index c·s² + dy·s + dx). */
    static NDArray fold(NDArray x, int s) {
        Shape sh = x.getShape();
        long n = sh.get(0);
        long c = sh.get(1);
        long h = sh.get(2) / s;
        long w = sh.get(3) / s;
        return x.reshape(n, c, h, s, w, s).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * s * s, h, w);
    }

    /**
     * {@link #unfold}, its result in channels-last memory order: viewed {@code N × h × w × C·s²} (a
     * view when {@code x} is channels-last), split into {@code N × h × w × C × s × s}, reordered to
     * {@code N × h × s × w × s × C} (one copy), which is {@code N × sh × sw × C}, and viewed back
     * as {@code N × C × sh × sw}. The same values as {@link #unfold} in any input order.
     */
    static NDArray unfoldChannelsLast(NDArray x, int s) {
        Shape sh = x.getShape();
        long n = sh.get(0);
        long c = sh.get(1) / (s * s);
        long h = sh.get(2);
        long w = sh.get(3);
        return x.transpose(0, 2, 3, 1).reshape(n, h, w, c, s, s).transpose(0, 1, 4, 2, 5, 3)
                .reshape(n, h * s, w * s, c).transpose(0, 3, 1, 2);
    }

    /** The inverse of {@link #fold}: {@code N × C·s² × h × w → N × C × sh × sw}. */
    static NDArray unfold(NDArray x, int s) {
        Shape sh = x.getShape();
        long n = sh.get(0);
        long c = sh.get(1) / (s * s);
        long h = sh.get(2);
        long w = sh.get(3);
        return x.reshape(n, c, s, s, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * s, w * s);
    }
}
