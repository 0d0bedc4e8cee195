package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * A trained U-Net denoiser ready to serve: rebuilds the network from its {@link DenoiserDesign},
 * loads DJL-format weights, and denoises whole frames in the variance-stabilised domain.
 *
 * <p>Frames of any size are reflect-padded to the network's size multiple and cropped back. With
 * confidence on, a second pass on the mirrored frame runs in the same batch (test-time
 * augmentation): the output is the mean of the two, and half their difference is the per-pixel
 * spread — where the network's answer depends on how the frame is presented, it is unsure.
 *
 * <p>Owns native memory: close it. Not thread-safe (one caller at a time, as a stream thread is).
 */
public final class DenoisingNetwork implements AutoCloseable {

    private final DenoiserDesign design;
    private final Normalisation normalisation;
    private final NDManager manager;
    private final Block block;
    private final ParameterStore parameters;
    private final ClassicalGuide guide = new ClassicalGuide();

    private DenoisingNetwork(DenoiserDesign design, Normalisation normalisation, NDManager manager, Block block) {
        this.design = design;
        this.normalisation = normalisation;
        this.manager = manager;
        this.block = block;
        this.parameters = new ParameterStore(manager, false);
    }

    /**
     * Rebuilds the network and loads its weights.
     *
     * @throws MalformedModelException when the weights do not fit the design
     */
    public static DenoisingNetwork load(DenoiserDesign design, Normalisation normalisation, byte[] weights, Device device)
            throws MalformedModelException {
        Torch.init();
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Block block = UNet.denoiser(design);
            int m = design.unet().sizeMultiple();
            block.initialize(manager, DataType.FLOAT32, new Shape(1, design.unet().inputChannels(), m, m));
            block.loadParameters(manager, new DataInputStream(new ByteArrayInputStream(weights)));
            return new DenoisingNetwork(design, normalisation, manager, block);
        } catch (IOException | RuntimeException e) {
            manager.close();
            throw new MalformedModelException("weights do not fit " + design.unet() + ": " + e.getMessage(), e);
        } catch (MalformedModelException e) {
            manager.close();
            throw e;
        }
    }

    /** DJL-format parameters of a block (what {@link #load} reads). */
    static byte[] weightsOf(Block block) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            block.saveParameters(out);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write parameters to memory", e);
        }
        return bytes.toByteArray();
    }

    public DenoiserDesign design() {
        return design;
    }

    public Normalisation normalisation() {
        return normalisation;
    }

    /**
     * Denoises the current frame of {@code planes} ({@code frames × C × h × w} stabilised values, the
     * current frame first, as {@link DenoiserDesign} orders them).
     *
     * @param confidence also run the mirrored pass and return the spread
     */
    public Prediction predict(float[] planes, int h, int w, boolean confidence) {
        int cin = design.unet().inputChannels();
        int c = design.channels();
        int given = c * design.frames();
        if (planes.length != given * h * w) {
            throw new IllegalArgumentException("network takes " + design.frames() + " frame(s) of " + c + " channels ("
                    + given + " planes of " + h + "x" + w + " = " + (long) given * h * w + " samples), got " + planes.length);
        }
        if (design.classicalGuide()) {
            float[] withGuide = java.util.Arrays.copyOf(planes, cin * h * w);
            guide.compute(planes, 0, c, h, w, withGuide, design.guideOffset() * h * w);
            planes = withGuide;
        }
        int m = design.unet().sizeMultiple();
        int hp = (h + m - 1) / m * m;
        int wp = (w + m - 1) / m * m;
        int passes = confidence ? 2 : 1;
        float[] input = new float[passes * cin * hp * wp];
        for (int pass = 0; pass < passes; pass++) {
            padNormalised(planes, cin, h, w, hp, wp, pass == 1, input, pass * cin * hp * wp);
        }
        float[] output;
        try (NDManager scope = manager.newSubManager()) {
            NDArray x = scope.create(input, new Shape(passes, cin, hp, wp));
            NDArray y = block.forward(parameters, new NDList(x), false).singletonOrThrow();
            output = y.toType(DataType.FLOAT32, false).toDevice(ai.djl.Device.cpu(), false).toFloatArray();
        }
        float[] mean = new float[c * h * w];
        float[] spread = confidence ? new float[c * h * w] : null;
        int planeP = hp * wp;
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int src = ch * planeP + y * wp;
                int dst = (ch * h + y) * w;
                for (int x = 0; x < w; x++) {
                    float a = normalisation.out(output[src + x]);
                    if (confidence) {
                        float b = normalisation.out(output[c * planeP + src + (w - 1 - x)]);
                        mean[dst + x] = 0.5f * (a + b);
                        spread[dst + x] = 0.5f * Math.abs(a - b);
                    } else {
                        mean[dst + x] = a;
                    }
                }
            }
        }
        return new Prediction(mean, spread);
    }

    /** Normalises and reflect-pads {@code cin} planes to {@code hp × wp}, mirrored left–right if asked. */
    private void padNormalised(float[] planes, int cin, int h, int w, int hp, int wp, boolean mirror, float[] out, int outOffset) {
        for (int p = 0; p < cin; p++) {
            int src = p * h * w;
            int dst = outOffset + p * hp * wp;
            for (int y = 0; y < hp; y++) {
                int sy = reflect(y, h);
                for (int x = 0; x < wp; x++) {
                    int sx = reflect(x, w);
                    if (mirror) {
                        sx = w - 1 - sx;
                    }
                    out[dst + y * wp + x] = normalisation.in(planes[src + sy * w + sx]);
                }
            }
        }
    }

    static int reflect(int i, int n) {
        if (n == 1) {
            return 0;
        }
        while (i < 0 || i >= n) {
            i = i < 0 ? -i : 2 * (n - 1) - i;
        }
        return i;
    }

    @Override
    public void close() {
        manager.close();
    }

    /**
     * @param denoised stabilised estimate of the current frame, C×H×W
     * @param spread   half the disagreement of the two passes, stabilised units; null without confidence
     */
    public record Prediction(float[] denoised, float[] spread) {
    }
}
