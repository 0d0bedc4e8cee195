package io.fluostream.learning.unmix;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Learned spectral unmixing for low light: {@link UnmixNetwork} applied to a denoised frame and its
 * exact NNLS abundances. Trained on forward-model mixtures made with one set of spectra
 * ({@link UnmixTrainer}); valid only for those spectra — {@link #trainedFor} tells, and callers
 * fall back to NNLS when it says no.
 *
 * <p>The shipped model ({@link #shipped()}) lives in this module's resources as
 * {@value #SHIPPED}{@code .params} (weights) and {@code .properties} ({@link UnmixModelCard}).
 * Retrain it (for other spectra too) with the test-scope main {@code RetrainUnmixModel}, whose
 * Javadoc has the command line: it trains with {@link UnmixTrainer.Settings#shipped()}, fine-tunes
 * with {@link UnmixTrainer.Settings#lowLightFineTune()}, writes both files and compares the model
 * with NNLS on held-out frames.
 *
 * <p>Holds native memory (the weights on the engine): close it. Not thread-safe: one per stream
 * thread.
 */
public final class LearnedUnmixer implements AutoCloseable {

    /** Resource path (without extension) of the shipped model. */
    public static final String SHIPPED = "/io/fluostream/learning/unmix/unmix-cnn";
    /** Orientations averaged by {@link #unmix}: every combination of a row flip, a column flip and a transpose. */
    static final int ORIENTATIONS = 8;

    private final NDManager manager;
    private final Block block;
    private final UnmixModelCard card;
    private final NnlsUnmixer nnls;

    /** Takes ownership of {@code manager}, which holds {@code block}'s initialised parameters. */
    LearnedUnmixer(NDManager manager, Block block, UnmixModelCard card) {
        this.manager = manager;
        this.block = block;
        this.card = card;
        this.nnls = new NnlsUnmixer(card.spectra());
    }

    /**
     * The model shipped with FluoStream (trained for the rig simulator's default 4 × 3 spectra).
     *
     * @throws IOException if the resource is missing or unreadable (a broken build)
     */
    public static LearnedUnmixer shipped() throws IOException {
        InputStream params = LearnedUnmixer.class.getResourceAsStream(SHIPPED + ".params");
        InputStream card = LearnedUnmixer.class.getResourceAsStream(SHIPPED + ".properties");
        if (params == null || card == null) {
            throw new IOException("the shipped unmixing model " + SHIPPED + ".{params,properties} is not on the classpath;"
                    + " rebuild fluostream-learning or retrain it with RetrainUnmixModel");
        }
        try (params; card) {
            return load(params, UnmixModelCard.read(card));
        }
    }

    /** A model saved by {@link UnmixTrainer#save} as {@code directory/name.params} and {@code .properties}. */
    public static LearnedUnmixer load(Path directory, String name) throws IOException {
        try (InputStream card = Files.newInputStream(directory.resolve(name + ".properties"));
                InputStream params = Files.newInputStream(directory.resolve(name + ".params"))) {
            return load(params, UnmixModelCard.read(card));
        }
    }

    static LearnedUnmixer load(InputStream params, UnmixModelCard card) throws IOException {
        ReferenceSpectra s = card.spectra();
        Block block = UnmixNetwork.build(s.channels(), s.fluorophores(), card.width());
        NDManager manager = NDManager.newBaseManager();
        try {
            block.initialize(manager, DataType.FLOAT32, UnmixNetwork.inputShape(1, s.channels(), s.fluorophores(), 32, 32));
            block.loadParameters(manager, new DataInputStream(new BufferedInputStream(params)));
            return new LearnedUnmixer(manager, block, card);
        } catch (MalformedModelException | RuntimeException e) {
            manager.close();
            throw new IOException("unmixing model weights do not fit " + card.modelId() + ": " + e.getMessage(), e);
        }
    }

    public UnmixModelCard card() {
        return card;
    }

    /** The spectra the model was trained for. */
    public ReferenceSpectra spectra() {
        return card.spectra();
    }

    /** Whether {@code spectra} are exactly those the model was trained for. */
    public boolean trainedFor(ReferenceSpectra spectra) {
        return card.spectra().equals(spectra);
    }

    /**
     * Abundances ({@code F × H × W}, ADU like {@link NnlsUnmixer}) of a denoised frame
     * ({@code C × H × W}, offset-free ADU): the mean of the network's answers for the frame in its
     * {@value #ORIENTATIONS} orientations (flipped and transposed, each answer turned back). The
     * network was trained on crops in all of them, so each answer is as good, and their errors
     * partly cancel: on the bench's frames 0.805 → 0.790 × NNLS's error at 2 photons, 0.785 → 0.766
     * at 5, for {@value #ORIENTATIONS} times the network's work.
     *
     * @throws IllegalArgumentException if the frame's channel count is not the model's
     */
    public Image unmix(Image denoised) {
        ReferenceSpectra s = card.spectra();
        if (denoised.channels() != s.channels()) {
            throw new IllegalArgumentException("the learned unmixer takes " + s.channels() + " channels, the frame has "
                    + denoised.channels());
        }
        Image exact = nnls.unmix(denoised).abundances();
        double scale = UnmixInput.scale(denoised);
        float[] input = UnmixInput.stack(denoised, exact, scale);
        int h = denoised.height();
        int w = denoised.width();
        int inPlanes = s.channels() + s.fluorophores();
        float[] mean = new float[s.fluorophores() * h * w];
        for (int orientation = 0; orientation < ORIENTATIONS; orientation++) {
            boolean flipY = (orientation & 1) != 0;
            boolean flipX = (orientation & 2) != 0;
            boolean transpose = (orientation & 4) != 0;
            int th = transpose ? w : h;
            int tw = transpose ? h : w;
            float[] answer;
            // One pass's activations at a time.
            try (NDManager pass = manager.newSubManager()) {
                NDArray x = pass.create(orient(input, inPlanes, h, w, flipY, flipX, transpose),
                        UnmixNetwork.inputShape(1, s.channels(), s.fluorophores(), th, tw));
                NDList y = block.forward(new ParameterStore(pass, false), new NDList(x), false);
                answer = unorient(y.singletonOrThrow().toFloatArray(), s.fluorophores(), th, tw, flipY, flipX, transpose);
            }
            for (int i = 0; i < mean.length; i++) {
                mean[i] += answer[i];
            }
        }
        float k = (float) (scale / ORIENTATIONS);
        for (int i = 0; i < mean.length; i++) {
            mean[i] *= k;
        }
        return new Image(s.fluorophores(), h, w, mean);
    }

    /** {@code planes × h × w} planes flipped (rows, columns) and then transposed. */
    static float[] orient(float[] src, int planes, int h, int w, boolean flipY, boolean flipX, boolean transpose) {
        float[] out = new float[src.length];
        int oh = transpose ? w : h;
        int ow = transpose ? h : w;
        for (int p = 0; p < planes; p++) {
            int base = p * h * w;
            for (int y = 0; y < oh; y++) {
                for (int x = 0; x < ow; x++) {
                    int sy = transpose ? x : y;
                    int sx = transpose ? y : x;
                    out[base + y * ow + x] = src[base + (flipY ? h - 1 - sy : sy) * w + (flipX ? w - 1 - sx : sx)];
                }
            }
        }
        return out;
    }

    /** The inverse of {@link #orient}: {@code src} is {@code planes × h × w} as oriented. */
    static float[] unorient(float[] src, int planes, int h, int w, boolean flipY, boolean flipX, boolean transpose) {
        float[] upright = transpose ? orient(src, planes, h, w, false, false, true) : src;
        int uh = transpose ? w : h;
        int uw = transpose ? h : w;
        return orient(upright, planes, uh, uw, flipY, flipX, false);
    }

    /** Writes the weights (DJL's parameter format) to {@code out}. */
    void saveParameters(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(new BufferedOutputStream(out));
        block.saveParameters(data);
        data.flush();
    }

    @Override
    public void close() {
        nnls.close();
        manager.close();
    }
}
