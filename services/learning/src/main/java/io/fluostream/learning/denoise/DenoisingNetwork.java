package io.fluostream.learning.denoise;

import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * A trained U-Net denoiser ready to serve: rebuilds the network from its {@link DenoiserDesign},
 * loads DJL-format weights, and denoises whole frames in the variance-stabilised domain.
 *
 * <p>Frames of any size are reflect-padded to the network's size multiple and cropped back. With
 * confidence on, a second pass on the mirrored frame runs in the same batch (test-time
 * augmentation): the output is the mean of the two, and half their difference is the per-pixel
 * spread — where the network's answer depends on how the frame is presented, it is unsure.
 *
 * <p>Owns native memory and an input buffer: close it. Not thread-safe (one caller at a time, as a
 * stream thread is).
 */
public final class DenoisingNetwork implements AutoCloseable {

    private final DenoiserDesign design;
    private final Normalisation normalisation;
    private final NDManager manager;
    private final Block block;
    /** One per concurrent forward call (a store fills itself lazily, which is not thread-safe). */
    private final ParameterStore[] parameters;
    /** The layers between the fold and unfold (empty: no fold); the serving path folds in Java. */
    private final List<Block> foldedLayers;
    /** One per channel worker (each owns wavelet scratch). */
    private ClassicalGuide[] guides = new ClassicalGuide[0];
    private ByteBuffer inputBytes;
    private float[] guideScratch = new float[0];

    private DenoisingNetwork(DenoiserDesign design, Normalisation normalisation, NDManager manager, Block block) {
        this.design = design;
        this.normalisation = normalisation;
        this.manager = manager;
        this.block = block;
        this.foldedLayers = UNet.foldedLayers(block);
        this.parameters = new ParameterStore[] {new ParameterStore(manager, false), new ParameterStore(manager, false)};
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
            Block block = UNet.denoiser(design, true);
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
        return predict(planes, h, w, confidence, ChannelWorkers.SERIAL);
    }

    /**
     * {@link #predict(float[], int, int, boolean)} with the Java work around the network (guide,
     * padding, reading the output back) spread over {@code workers}.
     */
    public Prediction predict(float[] planes, int h, int w, boolean confidence, ChannelWorkers workers) {
        int cin = design.unet().inputChannels();
        int c = design.channels();
        int given = c * design.frames();
        if (planes.length != given * h * w) {
            throw new IllegalArgumentException("network takes " + design.frames() + " frame(s) of " + c + " channels ("
                    + given + " planes of " + h + "x" + w + " = " + (long) given * h * w + " samples), got " + planes.length);
        }
        float[] guidePlanes = null;
        if (design.classicalGuide()) {
            float[] g = guidePlanes(c * h * w);
            ClassicalGuide[] guides = guides(workers.threads());
            int plane = h * w;
            float[] frames = planes;
            workers.forEach(c, (k, ch) -> guides[k].computePlane(frames, ch * plane, h, w, g, ch * plane));
            guidePlanes = g;
        }
        int m = design.unet().sizeMultiple();
        int hp = (h + m - 1) / m * m;
        int wp = (w + m - 1) / m * m;
        int passes = confidence ? 2 : 1;
        // Folded here while padding (pixel (y, x) of plane p → plane p·f² + (y mod f)·f + x mod f at
        // (y/f, x/f)), the layout UNet's fold makes: one pass over the data instead of a 6-D transpose.
        int f = foldedLayers.isEmpty() ? 1 : design.unet().fold();
        int hf = hp / f;
        int wf = wp / f;
        int cf = cin * f * f;
        // The input goes straight into a direct buffer that libtorch reads in place (no float[] →
        // buffer → tensor copies); kept for the next frame of the same size. Channels last (a
        // pixel's cf values side by side, pass after pass): libtorch's CPU convolutions and pooling
        // run about a fifth faster so than on planes (see UNet#build(UNetArchitecture, boolean)).
        FloatBuffer input = inputBuffer(passes * cf * hp * wp / (f * f));
        float[] frames = planes;
        float[] guide = guidePlanes;
        int mirroredAt = passes == 2 ? hf * wf * cf : -1;
        // By folded rows: a worker writes whole rows of the interleaved buffer, never a cache line
        // another worker writes.
        workers.forEach(workers.threads(), (k, part) -> {
            float[] row = new float[wp];
            float[] mirrored = new float[wp];
            float[] folded = new float[wf * cf];
            float[] foldedMirrored = passes == 2 ? new float[wf * cf] : null;
            for (int yf = rowsFrom(hf, workers.threads(), part); yf < rowsFrom(hf, workers.threads(), part + 1); yf++) {
                for (int p = 0; p < cin; p++) {
                    float[] src = p < given ? frames : guide;
                    int at = (p < given ? p : p - given) * h * w;
                    for (int dy = 0; dy < f; dy++) {
                        int from = at + reflect(yf * f + dy, h) * w;
                        for (int x = 0; x < w; x++) {
                            row[x] = normalisation.in(src[from + x]);
                        }
                        for (int x = w; x < wp; x++) {
                            row[x] = row[reflect(x, w)];
                        }
                        int q = (p * f + dy) * f;
                        interleave(row, f, wf, cf, q, folded);
                        if (foldedMirrored != null) {
                            for (int x = 0; x < wp; x++) {
                                mirrored[x] = row[w - 1 - reflect(x, w)];
                            }
                            interleave(mirrored, f, wf, cf, q, foldedMirrored);
                        }
                    }
                }
                input.put(yf * wf * cf, folded);
                if (foldedMirrored != null) {
                    input.put(mirroredAt + yf * wf * cf, foldedMirrored);
                }
            }
        });
        float[] mean = new float[c * h * w];
        float[] spread = confidence ? new float[c * h * w] : null;
        // On the CPU with a thread per pass, each pass is one whole forward call on its own thread
        // (libtorch one thread each): two independent calls scale better than one call whose every
        // operation is split over OpenMP threads and waits at a barrier — much better when other
        // work shares the cores, since a descheduled OpenMP thread stalls the whole operation.
        boolean split = passes > 1 && workers.threads() >= passes && manager.getDevice().equals(Device.cpu());
        int calls = split ? passes : 1;
        int batch = passes / calls;
        int threadsPerCall = workers.threads() / passes;
        long callBytes = 4L * batch * cf * hf * wf;
        NDManager[] scopes = new NDManager[calls];
        FloatBuffer[] outputs = new FloatBuffer[calls];
        try {
            for (int i = 0; i < calls; i++) {
                scopes[i] = manager.newSubManager();
            }
            workers.forEach(calls, (k, i) -> {
                if (split) {
                    Torch.useThreads(threadsPerCall);
                }
                ByteBuffer in = inputBytes.slice((int) (i * callBytes), (int) callBytes).order(ByteOrder.nativeOrder());
                // N × H × W × C in memory, seen as N × C × H × W: a channels-last tensor.
                NDArray x = scopes[i].create(in, new Shape(batch, hf, wf, cf), DataType.FLOAT32).transpose(0, 3, 1, 2);
                NDArray y = forward(parameters[i], x, f);
                if (!y.getDevice().equals(Device.cpu())) {
                    y = y.toDevice(Device.cpu(), false);
                }
                // Read channels last too (no copy when the network's output is so, as it is on the CPU).
                // Read before the scope closes: on the CPU the buffer may be the tensor's own memory.
                outputs[i] = y.toType(DataType.FLOAT32, false).transpose(0, 2, 3, 1).toByteBuffer(true)
                        .order(ByteOrder.nativeOrder()).asFloatBuffer();
            });
            if (split) {
                // The caller ran a pass too: give it back its whole count for its next call.
                Torch.useThreads(workers.threads());
            }
            // Output: per folded pixel its c·f² values (channel ch's f² after each other), pass after pass.
            int cout = c * f * f;
            FloatBuffer upright = outputs[0];
            FloatBuffer mirroredOut = split ? outputs[1] : outputs[0];
            int mirroredOutAt = split ? 0 : hf * wf * cout;
            int shift = Integer.numberOfTrailingZeros(f);
            int odd = f - 1;
            int rowsF = (h + f - 1) / f;
            workers.forEach(workers.threads(), (k, part) -> {
                // A folded row of both passes, copied out in bulk (element reads from the buffer cost more).
                float[] up = new float[wf * cout];
                float[] mir = spread != null ? new float[wf * cout] : null;
                for (int yf = rowsFrom(rowsF, workers.threads(), part); yf < rowsFrom(rowsF, workers.threads(), part + 1); yf++) {
                    upright.get(yf * wf * cout, up, 0, wf * cout);
                    if (mir != null) {
                        mirroredOut.get(mirroredOutAt + yf * wf * cout, mir, 0, wf * cout);
                    }
                    for (int ch = 0; ch < c; ch++) {
                        for (int yy = yf * f; yy < Math.min(h, (yf + 1) * f); yy++) {
                            int q = (ch << shift | (yy & odd)) << shift;
                            int dst = (ch * h + yy) * w;
                            for (int xx = 0; xx < w; xx++) {
                                float a = normalisation.out(up[(xx >> shift) * cout + q + (xx & odd)]);
                                if (mir != null) {
                                    int xm = w - 1 - xx;
                                    float b = normalisation.out(mir[(xm >> shift) * cout + q + (xm & odd)]);
                                    mean[dst + xx] = 0.5f * (a + b);
                                    spread[dst + xx] = 0.5f * Math.abs(a - b);
                                } else {
                                    mean[dst + xx] = a;
                                }
                            }
                        }
                    }
                }
            });
        } finally {
            for (NDManager scope : scopes) {
                if (scope != null) {
                    scope.close();
                }
            }
        }
        return new Prediction(mean, spread);
    }

    /** First of the rows {@code 0 … rows−1} that part {@code part} of {@code parts} takes (part = parts: the end). */
    private static int rowsFrom(int rows, int parts, int part) {
        return (int) ((long) rows * part / parts);
    }

    /**
     * Writes a padded row's samples {@code dx, dx + f, …} as channel {@code q + dx} of the folded
     * pixels {@code 0 … wf−1} of a channels-last row of {@code cf} channels.
     */
    private static void interleave(float[] row, int f, int wf, int cf, int q, float[] folded) {
        for (int xf = 0; xf < wf; xf++) {
            int to = xf * cf + q;
            for (int dx = 0; dx < f; dx++) {
                folded[to + dx] = row[xf * f + dx];
            }
        }
    }

    /** The denoiser on input folded by {@code f} (1: not folded); output folded the same way. */
    private NDArray forward(ParameterStore store, NDArray x, int f) {
        if (f == 1) {
            return block.forward(store, new NDList(x), false).singletonOrThrow();
        }
        NDArray u = x;
        for (Block layer : foldedLayers) {
            u = layer.forward(store, new NDList(u), false).singletonOrThrow();
        }
        if (design.classicalGuide()) {
            // The guide's planes, folded: channel c's f² planes follow each other.
            long from = (long) design.guideOffset() * f * f;
            u = u.add(x.get(new NDIndex(":, {}:{}, :, :", from, from + (long) design.channels() * f * f)));
        }
        return u;
    }

    private ClassicalGuide[] guides(int workers) {
        if (guides.length < workers) {
            ClassicalGuide[] more = java.util.Arrays.copyOf(guides, workers);
            for (int i = guides.length; i < workers; i++) {
                more[i] = new ClassicalGuide();
            }
            guides = more;
        }
        return guides;
    }

    private FloatBuffer inputBuffer(int floats) {
        if (inputBytes == null || inputBytes.capacity() != 4 * floats) {
            inputBytes = ByteBuffer.allocateDirect(4 * floats).order(ByteOrder.nativeOrder());
        }
        return inputBytes.asFloatBuffer();
    }

    private float[] guidePlanes(int length) {
        if (guideScratch.length != length) {
            guideScratch = new float[length];
        }
        return guideScratch;
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
