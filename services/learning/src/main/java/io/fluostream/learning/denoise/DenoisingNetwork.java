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
        // The input goes straight into a direct buffer that libtorch reads in place (no float[] →
        // buffer → tensor copies); kept for the next frame of the same size.
        FloatBuffer input = inputBuffer(passes * cin * hp * wp);
        // Folded here while padding (pixel (y, x) of plane p → plane p·f² + (y mod f)·f + x mod f at
        // (y/f, x/f)), the layout UNet's fold makes: one pass over the data instead of a 6-D transpose.
        int f = foldedLayers.isEmpty() ? 1 : design.unet().fold();
        float[] frames = planes;
        float[] guide = guidePlanes;
        workers.forEach(cin, (k, p) -> {
            float[] src = p < given ? frames : guide;
            int at = (p < given ? p : p - given) * h * w;
            padNormalised(src, at, h, w, hp, wp, f, input, p * hp * wp, passes == 2 ? (cin + p) * hp * wp : -1);
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
        long callBytes = 4L * batch * cin * hp * wp;
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
                NDArray x = scopes[i].create(in, new Shape(batch, cin * f * f, hp / f, wp / f), DataType.FLOAT32);
                NDArray y = forward(parameters[i], x, f);
                if (!y.getDevice().equals(Device.cpu())) {
                    y = y.toDevice(Device.cpu(), false);
                }
                // Read before the scope closes: on the CPU the buffer may be the tensor's own memory.
                outputs[i] = y.toType(DataType.FLOAT32, false).toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
            });
            if (split) {
                // The caller ran a pass too: give it back its whole count for its next call.
                Torch.useThreads(workers.threads());
            }
            int planeP = hp * wp;
            // Where pass 1 (mirrored) starts: its own call's output, or the second half of the batch's.
            FloatBuffer upright = outputs[0];
            FloatBuffer mirrored = split ? outputs[1] : outputs[0];
            int mirroredAt = split ? 0 : c * planeP;
            int shift = Integer.numberOfTrailingZeros(f);
            int odd = f - 1;
            int foldedPlane = (hp >> shift) * (wp >> shift);
            int wf = wp >> shift;
            workers.forEach(c, (k, ch) -> {
                // The channel's f² folded planes, copied out in bulk (element reads from the buffer cost more).
                int first = ch * planeP;
                float[] up = new float[planeP];
                upright.get(first, up, 0, planeP);
                float[] mir = null;
                if (spread != null) {
                    mir = new float[planeP];
                    mirrored.get(mirroredAt + first, mir, 0, planeP);
                }
                for (int yy = 0; yy < h; yy++) {
                    // Row yy sits, folded, in planes (yy mod f)·f + dx of the channel's f², row yy/f.
                    int row = ((yy & odd) << shift) * foldedPlane + (yy >> shift) * wf;
                    int dst = (ch * h + yy) * w;
                    for (int xx = 0; xx < w; xx++) {
                        float a = normalisation.out(up[row + (xx & odd) * foldedPlane + (xx >> shift)]);
                        if (spread != null) {
                            int xm = w - 1 - xx;
                            float b = normalisation.out(mir[row + (xm & odd) * foldedPlane + (xm >> shift)]);
                            mean[dst + xx] = 0.5f * (a + b);
                            spread[dst + xx] = 0.5f * Math.abs(a - b);
                        } else {
                            mean[dst + xx] = a;
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

    /**
     * Normalises and reflect-pads the plane at {@code src[at…]} to {@code hp × wp} and folds it by
     * {@code f} into {@code f²} planes of {@code hp/f × wp/f} at {@code out[dst…]}; with
     * {@code mirroredDst ≥ 0} also its left–right mirror image there (the second pass).
     */
    private void padNormalised(float[] src, int at, int h, int w, int hp, int wp, int f, FloatBuffer out, int dst,
                               int mirroredDst) {
        int wf = wp / f;
        int foldedPlane = hp / f * wf;
        float[] row = new float[wp];
        float[] mirrored = new float[wp];
        float[] part = new float[wf];
        for (int y = 0; y < hp; y++) {
            int from = at + reflect(y, h) * w;
            for (int x = 0; x < w; x++) {
                row[x] = normalisation.in(src[from + x]);
            }
            for (int x = w; x < wp; x++) {
                row[x] = row[reflect(x, w)];
            }
            int offset = ((y % f) * f * (hp / f) + y / f) * wf;
            put(row, f, wf, out, dst + offset, foldedPlane, part);
            if (mirroredDst >= 0) {
                for (int x = 0; x < wp; x++) {
                    mirrored[x] = row[w - 1 - reflect(x, w)];
                }
                put(mirrored, f, wf, out, mirroredDst + offset, foldedPlane, part);
            }
        }
    }

    /** Writes a padded row folded: its samples {@code dx, dx + f, …} to {@code out[at + dx·foldedPlane…]}. */
    private static void put(float[] row, int f, int wf, FloatBuffer out, int at, int foldedPlane, float[] part) {
        if (f == 1) {
            out.put(at, row, 0, wf);
            return;
        }
        for (int dx = 0; dx < f; dx++) {
            for (int i = 0; i < wf; i++) {
                part[i] = row[i * f + dx];
            }
            out.put(at + dx * foldedPlane, part, 0, wf);
        }
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
