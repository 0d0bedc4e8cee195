package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.VectorApi;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Per-pixel linear unmixing of a {@code C × H × W} image of detection channels (offset-free ADU)
 * into {@code F × H × W} fluorophore abundances under the model {@code x(p) = M·a(p) + noise},
 * {@code M} the {@link ReferenceSpectra}; also reports how well the model explains each pixel.
 *
 * <p>Pixels are processed in tiles of {@value #TILE} consecutive pixels: each tile's unconstrained
 * least-squares solution is computed plane by plane (one vectorisable pass per spectra entry,
 * float arithmetic), then a subclass may correct individual pixels (non-negativity), then the
 * residual is computed plane by plane. Everything a tile touches stays in the L1/L2 cache.
 *
 * <p>An instance owns scratch buffers and (for {@code parallelism > 1}) worker threads: it is not
 * thread-safe — run one {@code compute} at a time — and should be {@link #close() closed}.
 */
public abstract sealed class SpectralUnmixer implements AutoCloseable permits LeastSquaresUnmixer, NnlsUnmixer, PoissonUnmixer {

    /**
     * The outcome of unmixing one frame.
     *
     * @param abundances {@code F × H × W}: fluorophore abundances in the units the spectra imply
     *     (ADU per unit of spectrum)
     * @param residual {@code 1 × H × W}: per pixel, the RMS over channels of {@code x − M·a}, in ADU
     * @param meanResidual the residual plane's mean, in ADU
     * @param relativeResidual {@code meanResidual} divided by the frame's mean per-pixel RMS signal
     *     (RMS over channels of {@code x}); dimensionless, 0 for a perfect fit (or an all-zero
     *     frame). Near the noise level when the spectra are right; large when they are wrong.
     */
    public record Result(Image abundances, Image residual, double meanResidual, double relativeResidual) {
    }

    /** Pixels per tile: the tile's (C + F + 6) planes of 4 KiB each stay in the L1/L2 cache. */
    static final int TILE = 1024;

    /**
     * Tiles summed in float lanes before folding into double: each lane then adds at most 64
     * values, so the frame means keep ~1e-6 relative accuracy whatever the frame size.
     */
    private static final int LANE_TILES = 64;

    private static final AtomicInteger THREAD_IDS = new AtomicInteger();

    final ReferenceSpectra spectra;
    final int channels;
    final int fluorophores;
    /** Pseudo-inverse {@code (MᵀM)⁻¹Mᵀ}, row-major {@code [f * C + c]}. */
    final float[] pseudoInverse;
    /** Spectra, row-major {@code [c * F + f]}, as float for the residual pass. */
    final float[] mixing;
    /** Spectra in double, row-major {@code [c * F + f]}, for exact per-pixel solves. */
    final double[] mixingExact;

    /**
     * A kernel that unmixes a whole range of pixels in one pass (least squares, the subclass's
     * constraint and the residual), replacing the tile loop where it applies.
     */
    interface FusedKernel {
        /**
         * Unmixes pixels {@code [from, to)} of planes of {@code pixels} pixels, and adds the sums of
         * their residual and signal RMS to {@code sums[0]} and {@code sums[1]}.
         */
        void process(float[] x, float[] a, float[] r, int pixels, int from, int to, double[] sums);
    }

    /** The Vector API module, when this JVM was started with {@code --add-modules jdk.incubator.vector}. */
    private static final boolean VECTOR_API = VectorApi.present();

    private final int parallelism;
    private final Workspace[] workspaces;
    private final ExecutorService workers;
    /** The vector fast path, or null where the tile loop does everything. */
    private final FusedKernel fused;

    SpectralUnmixer(ReferenceSpectra spectra, int parallelism, boolean constrained, boolean allowVector) {
        if (spectra == null) {
            throw new IllegalArgumentException("reference spectra are required");
        }
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1, got " + parallelism);
        }
        this.spectra = spectra;
        this.channels = spectra.channels();
        this.fluorophores = spectra.fluorophores();
        double[] p = spectra.pseudoInverse();
        this.pseudoInverse = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            pseudoInverse[i] = (float) p[i];
        }
        this.mixingExact = spectra.values();
        this.mixing = new float[mixingExact.length];
        for (int i = 0; i < mixingExact.length; i++) {
            mixing[i] = (float) mixingExact[i];
        }
        this.fused = allowVector ? vectorKernel(spectra, pseudoInverse, constrained) : null;
        this.parallelism = parallelism;
        this.workspaces = new Workspace[parallelism];
        for (int i = 0; i < parallelism; i++) {
            workspaces[i] = new Workspace(channels, fluorophores);
        }
        this.workers = parallelism == 1 ? null : Executors.newFixedThreadPool(parallelism - 1, r -> {
            Thread t = new Thread(r, "fluostream-unmix-" + THREAD_IDS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Whether this JVM can run the vector fast path ({@code --add-modules jdk.incubator.vector}). */
    public static boolean vectorApiAvailable() {
        return VECTOR_API;
    }

    /**
     * Whether this unmixer runs on the Vector API fast path: needs {@code --add-modules
     * jdk.incubator.vector} and 3 fluorophores. Both paths give the same answers to float
     * rounding; the vector path is several times faster for NNLS on dark, noisy frames.
     */
    public boolean vectorised() {
        return fused != null;
    }

    /**
     * The vector kernel, loaded by name so that this class never links against the incubator
     * module in a JVM that lacks it; null where it does not apply.
     */
    private static FusedKernel vectorKernel(ReferenceSpectra spectra, float[] pseudoInverse, boolean constrained) {
        if (!VECTOR_API || spectra.fluorophores() != 3) {
            return null;
        }
        try {
            Class<?> type = Class.forName(SpectralUnmixer.class.getPackageName() + ".VectorUnmixing");
            var worthwhile = type.getDeclaredMethod("worthwhile");
            if (!(Boolean) worthwhile.invoke(null)) {
                return null;
            }
            var constructor = type.getDeclaredConstructor(ReferenceSpectra.class, float[].class, boolean.class);
            return (FusedKernel) constructor.newInstance(spectra, pseudoInverse, constrained);
        } catch (ReflectiveOperationException | LinkageError e) {
            return null; // the tile loop gives the same answers
        }
    }

    public ReferenceSpectra spectra() {
        return spectra;
    }

    /** Number of threads a frame is split across (bands of rows). */
    public int parallelism() {
        return parallelism;
    }

    /** Unmixes {@code in} into newly allocated images. See {@link #compute}. */
    public final Result unmix(Image in) {
        requireChannels(in);
        return compute(in, new Image(fluorophores, in.height(), in.width()), new Image(1, in.height(), in.width()));
    }

    /**
     * Unmixes {@code in} ({@code C × H × W}, offset-free ADU) into the preallocated
     * {@code abundancesOut} ({@code F × H × W}) and {@code residualOut} ({@code 1 × H × W}), which
     * must not share samples with {@code in}.
     *
     * @return the two outputs with the frame's residual statistics
     * @throws IllegalArgumentException if {@code in} does not have the spectra's channel count, an
     *     output has the wrong shape, or {@code in} holds NaN or infinite samples (the outputs are
     *     then undefined)
     */
    public final Result compute(Image in, Image abundancesOut, Image residualOut) {
        requireChannels(in);
        int h = in.height();
        int w = in.width();
        if (abundancesOut == null || abundancesOut.channels() != fluorophores
                || abundancesOut.height() != h || abundancesOut.width() != w) {
            throw new IllegalArgumentException("abundances output must be " + fluorophores + "x" + h + "x" + w
                    + " (fluorophores x height x width), got " + abundancesOut);
        }
        if (residualOut == null || residualOut.channels() != 1 || residualOut.height() != h || residualOut.width() != w) {
            throw new IllegalArgumentException("residual output must be 1x" + h + "x" + w + ", got " + residualOut);
        }
        if (abundancesOut.data() == in.data() || residualOut.data() == in.data()
                || residualOut.data() == abundancesOut.data()) {
            throw new IllegalArgumentException("outputs must not share samples with the input or each other");
        }
        float[] x = in.data();
        float[] a = abundancesOut.data();
        float[] r = residualOut.data();
        int pixels = in.planeSize();

        double sumResidual = 0;
        double sumSignal = 0;
        int bands = Math.min(parallelism, h);
        if (bands == 1) {
            double[] sums = processRange(workspaces[0], x, a, r, pixels, 0, pixels);
            sumResidual = sums[0];
            sumSignal = sums[1];
        } else {
            int rowsPerBand = (h + bands - 1) / bands;
            List<Future<double[]>> pending = new ArrayList<>(bands - 1);
            for (int k = 1; k < bands; k++) {
                Workspace ws = workspaces[k];
                int from = Math.min(h, k * rowsPerBand) * w;
                int to = Math.min(h, (k + 1) * rowsPerBand) * w;
                pending.add(workers.submit(() -> processRange(ws, x, a, r, pixels, from, to)));
            }
            RuntimeException failure = null;
            try {
                double[] own = processRange(workspaces[0], x, a, r, pixels, 0, Math.min(h, rowsPerBand) * w);
                sumResidual = own[0];
                sumSignal = own[1];
            } catch (RuntimeException e) {
                failure = e;
            }
            // Wait for every band, even after a failure: the workspaces must be free on return.
            for (Future<double[]> f : pending) {
                try {
                    double[] sums = join(f);
                    sumResidual += sums[0];
                    sumSignal += sums[1];
                } catch (RuntimeException e) {
                    failure = failure == null ? e : failure;
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
        if (!Double.isFinite(sumResidual) || !Double.isFinite(sumSignal)) {
            throw new IllegalArgumentException(in + " contains NaN or infinite samples; cannot unmix it");
        }
        double meanResidual = sumResidual / pixels;
        double meanSignal = sumSignal / pixels;
        return new Result(abundancesOut, residualOut, meanResidual, meanSignal > 0 ? meanResidual / meanSignal : 0);
    }

    /**
     * Hook run on each tile after the unconstrained solution is in {@code ws.abundances}: may
     * overwrite the abundances of pixels {@code 0 .. length-1} of the tile.
     */
    abstract void constrainTile(Workspace ws, int length);

    /** Unmixes pixels {@code [from, to)}; returns {sum of residual RMS, sum of signal RMS}. */
    private double[] processRange(Workspace ws, float[] x, float[] a, float[] r, int pixels, int from, int to) {
        if (fused == null) {
            return processTiles(ws, x, a, r, pixels, from, to);
        }
        double[] sums = new double[2];
        fused.process(x, a, r, pixels, from, to, sums);
        return sums;
    }

    /** {@link #processRange} in tiles, scalar loops that C2 vectorises where it can. */
    private double[] processTiles(Workspace ws, float[] x, float[] a, float[] r, int pixels, int from, int to) {
        final int nc = channels;
        final int nf = fluorophores;
        final float invChannels = 1f / nc;
        // Every loop below indexes all its arrays with the same i, hence the tile copies: HotSpot
        // C2 (JDK 17) vectorises a loop over arrays it cannot prove distinct only then (measured:
        // least squares plus residual went from ~17 to ~4 ns per pixel).
        float[][] xs = ws.samples;
        float[][] as = ws.abundances;
        float[] misfit = ws.misfit;
        float[] residualSq = ws.residualSq;
        float[] signal = ws.signal;
        float[] residual = ws.residual;
        float[] residualLanes = ws.residualLanes;
        float[] signalLanes = ws.signalLanes;
        Arrays.fill(residualLanes, 0f);
        Arrays.fill(signalLanes, 0f);
        double sumResidual = 0;
        double sumSignal = 0;
        int tilesInLanes = 0;
        for (int t = from; t < to; t += TILE) {
            final int len = Math.min(TILE, to - t);
            for (int c = 0; c < nc; c++) {
                System.arraycopy(x, c * pixels + t, xs[c], 0, len);
            }

            // Unconstrained least squares, a = P x: one multiply-add pass per entry of P.
            for (int f = 0; f < nf; f++) {
                float[] af = as[f];
                float[] x0 = xs[0];
                float p0 = pseudoInverse[f * nc];
                for (int i = 0; i < len; i++) {
                    af[i] = p0 * x0[i];
                }
                for (int c = 1; c < nc; c++) {
                    float[] xc = xs[c];
                    float pc = pseudoInverse[f * nc + c];
                    for (int i = 0; i < len; i++) {
                        af[i] += pc * xc[i];
                    }
                }
            }

            constrainTile(ws, len);

            // Residual x − M a and signal, squared and summed over channels, then RMS.
            Arrays.fill(residualSq, 0, len, 0f);
            Arrays.fill(signal, 0, len, 0f);
            for (int c = 0; c < nc; c++) {
                float[] xc = xs[c];
                System.arraycopy(xc, 0, misfit, 0, len);
                for (int f = 0; f < nf; f++) {
                    float[] af = as[f];
                    float m = mixing[c * nf + f];
                    for (int i = 0; i < len; i++) {
                        misfit[i] -= m * af[i];
                    }
                }
                for (int i = 0; i < len; i++) {
                    residualSq[i] += misfit[i] * misfit[i];
                }
                for (int i = 0; i < len; i++) {
                    signal[i] += xc[i] * xc[i];
                }
            }
            for (int i = 0; i < len; i++) {
                residual[i] = (float) Math.sqrt(residualSq[i] * invChannels);
            }
            for (int i = 0; i < len; i++) {
                signal[i] = (float) Math.sqrt(signal[i] * invChannels);
            }

            // Frame sums: a running sum is latency-bound, so accumulate per pixel position in
            // float lanes (vectorised) and fold them into double every LANE_TILES tiles.
            for (int i = 0; i < len; i++) {
                residualLanes[i] += residual[i];
            }
            for (int i = 0; i < len; i++) {
                signalLanes[i] += signal[i];
            }
            if (++tilesInLanes == LANE_TILES || t + len >= to) {
                for (int i = 0; i < TILE; i++) {
                    sumResidual += residualLanes[i];
                    sumSignal += signalLanes[i];
                }
                Arrays.fill(residualLanes, 0f);
                Arrays.fill(signalLanes, 0f);
                tilesInLanes = 0;
            }

            for (int f = 0; f < nf; f++) {
                System.arraycopy(as[f], 0, a, f * pixels + t, len);
            }
            System.arraycopy(residual, 0, r, t, len);
        }
        return new double[] {sumResidual, sumSignal};
    }

    private void requireChannels(Image in) {
        if (in == null) {
            throw new IllegalArgumentException("input image is required");
        }
        if (in.channels() != channels) {
            throw new IllegalArgumentException("input has " + in.channels() + " channels but the reference spectra have "
                    + channels + " channels (" + fluorophores + " fluorophores)");
        }
    }

    private static double[] join(Future<double[]> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while unmixing", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("unmixing worker failed", e.getCause());
        }
    }

    /** Stops the worker threads (if any). The unmixer must not be used afterwards. */
    @Override
    public void close() {
        if (workers != null) {
            workers.shutdown();
        }
    }

    /** Per-thread scratch: one tile of every plane, and per-pixel vectors for exact solves. */
    static final class Workspace {
        /** Input samples of the tile, one array per channel. */
        final float[][] samples;
        /** Abundances of the tile, one array per fluorophore. */
        final float[][] abundances;
        final float[] misfit = new float[TILE];
        final float[] residualSq = new float[TILE];
        final float[] residual = new float[TILE];
        final float[] signal = new float[TILE];
        final float[] residualLanes = new float[TILE];
        final float[] signalLanes = new float[TILE];
        /** {@code Mᵀx} of the tile, one array per fluorophore (at least 4, unused ones zero). */
        final float[][] projections;
        /** Smallest abundance of each pixel of the tile. */
        final float[] lowest = new float[TILE];
        /** Tile indices of pixels a constraint step must revisit. */
        final int[] flagged = new int[TILE];
        /** {@code Mᵀx} of one pixel. */
        final double[] projection;
        /** Abundances of one pixel. */
        final double[] solution;
        /** The Poisson solver and photon counts of one pixel ({@link PoissonUnmixer}; made on first use). */
        PoissonLikelihood poisson;
        double[] photons;

        Workspace(int channels, int fluorophores) {
            this.samples = new float[channels][TILE];
            this.abundances = new float[fluorophores][TILE];
            this.projections = new float[Math.max(fluorophores, 4)][TILE];
            this.projection = new double[fluorophores];
            this.solution = new double[fluorophores];
        }
    }
}
