package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import io.fluostream.imaging.unmix.SymmetricMatrices;
import java.util.ArrayList;
import java.util.List;

/**
 * The unmix stage on the device: detection channels → fluorophore abundances by least squares or
 * exact non-negative least squares, as matrix products over all pixels at once. The device twin
 * of {@link io.fluostream.imaging.unmix.LeastSquaresUnmixer} and
 * {@link io.fluostream.imaging.unmix.NnlsUnmixer}, with the same {@link SpectralUnmixer.Result}.
 *
 * <p><b>Least squares</b> is one {@code (F × C)·(C × N)} product with the pseudo-inverse
 * {@code (MᵀM)⁻¹Mᵀ}.
 *
 * <p><b>Non-negative least squares</b>, exactly and without a per-pixel search: the answer is the
 * unconstrained minimiser on some passive set {@code P} of fluorophores (the rest held at 0), and
 * among the candidates that are feasible ({@code a_P ≥ 0}) it is the one with the lowest
 * objective — the optimum is feasible, and every feasible candidate is a feasible point, so none
 * is lower. At the unconstrained optimum on {@code P} the objective {@code ½aᵀGa − bᵀa} equals
 * {@code −½bᵀa} with {@code b = Mᵀx}. So for all {@code 2^F} passive sets at once: one product
 * {@code [Mᵀ; K₁Mᵀ; …]·x} gives {@code b} and every candidate's solution ({@code K_P} holds the
 * rows of {@code G_PP⁻¹}, zero outside {@code P}; tabulated in double on the host once), a
 * minimum over fluorophores tests feasibility, and an arg-min over sets picks the answer — a few
 * hundred multiply-adds per pixel for {@code F ≤ 4}, no branches. This step runs in float64 on
 * the device: with overlapping spectra two passive sets can differ in objective by less than
 * float32 resolves next to {@code |bᵀa|}, and picking the wrong one moved a pixel's abundance by
 * 5·10⁻⁴ of full scale (measured); in float64 the answer matches the pure-Java solver to ~10⁻⁶.
 *
 * <p>Frames cross the host/device boundary once each way; large frames are cut into chunks of
 * pixels on the device so the candidate tensor stays under {@value #CANDIDATE_BUDGET} floats.
 * Not thread-safe; {@link #close()} frees the device memory.
 */
public final class DeviceUnmixer implements AutoCloseable {

    /** 2^F candidates are evaluated per pixel: 8 fluorophores is 256 of them. */
    public static final int MAX_FLUOROPHORES = 8;

    /** Largest candidate tensor per chunk, floats (128 MiB). */
    static final long CANDIDATE_BUDGET = 1L << 25;

    private final ReferenceSpectra spectra;
    private final boolean nonNegative;
    private final int channels;
    private final int fluorophores;
    private final int candidates;
    private final DeviceWorkspace workspace;
    /** LS: the pseudo-inverse (F × C, float32). NNLS: [Mᵀ; K_0·Mᵀ; …] ((1 + 2^F)·F × C, float64). */
    private final NDArray solver;
    /** The spectra M (C × F), for the residual. */
    private final NDArray mixing;

    /**
     * @param nonNegative exact non-negative least squares (the {@code nnls} method) or plain least
     *     squares ({@code ls})
     * @throws IllegalArgumentException for more than {@value #MAX_FLUOROPHORES} fluorophores with
     *     {@code nonNegative}
     */
    public DeviceUnmixer(ReferenceSpectra spectra, boolean nonNegative, Device device) {
        if (spectra == null) {
            throw new IllegalArgumentException("reference spectra are required");
        }
        if (nonNegative && spectra.fluorophores() > MAX_FLUOROPHORES) {
            throw new IllegalArgumentException("the device's exact non-negative unmixing supports up to " + MAX_FLUOROPHORES
                    + " fluorophores, got " + spectra.fluorophores()
                    + "; use method=ls or fluostream.device=cpu (exact up to 10)");
        }
        this.spectra = spectra;
        this.nonNegative = nonNegative;
        this.channels = spectra.channels();
        this.fluorophores = spectra.fluorophores();
        this.candidates = 1 << fluorophores;
        double[][] m = spectra.toRows();
        double[] gram = gram(m, channels, fluorophores);
        this.workspace = new DeviceWorkspace(device, "unmix");
        NDManager kept = workspace.manager();
        this.mixing = kept.create(toFloat(flatten(m)), new Shape(channels, fluorophores));
        if (nonNegative) {
            this.solver = kept.create(candidateSolvers(m, gram), new Shape((long) (1 + candidates) * fluorophores, channels));
        } else {
            this.solver = kept.create(toFloat(pseudoInverse(m, gram)), new Shape(fluorophores, channels));
        }
    }

    public ReferenceSpectra spectra() {
        return spectra;
    }

    public boolean nonNegative() {
        return nonNegative;
    }

    public Device device() {
        return workspace.device();
    }

    /**
     * Unmixes a {@code C × H × W} frame of offset-free ADU.
     *
     * @throws IllegalArgumentException if the channel count differs from the spectra's or the frame
     *     holds NaN or infinite samples
     */
    public SpectralUnmixer.Result unmix(Image in) {
        if (in == null) {
            throw new IllegalArgumentException("input image is required");
        }
        if (in.channels() != channels) {
            throw new IllegalArgumentException("input has " + in.channels() + " channels but the reference spectra have "
                    + channels + " channels (" + fluorophores + " fluorophores)");
        }
        int h = in.height();
        int w = in.width();
        long n = (long) h * w;
        try (DeviceWorkspace.Frame frame = workspace.frame()) {
            NDManager fm = frame.manager();
            NDArray x = workspace.upload(frame, new Shape(channels, n), in.data());
            NDArray abundances;
            if (nonNegative) {
                long chunk = Math.max(1, CANDIDATE_BUDGET / ((long) (1 + candidates) * fluorophores));
                List<NDArray> parts = new ArrayList<>();
                for (long from = 0; from < n; from += chunk) {
                    long to = Math.min(n, from + chunk);
                    NDArray xs = from == 0 && to == n ? x : x.get(":, " + from + ":" + to);
                    parts.add(nonNegativeSolve(xs));
                }
                abundances = parts.size() == 1 ? parts.get(0) : NDArrays.concat(new ai.djl.ndarray.NDList(parts), 1);
            } else {
                abundances = solver.matMul(x);
            }
            // Residual RMS over channels, and the signal's, per pixel.
            NDArray misfit = x.sub(mixing.matMul(abundances));
            NDArray residual = misfit.square().mean(new int[] {0}).sqrt();
            NDArray signal = x.square().mean(new int[] {0}).sqrt();
            NDArray sums = NDArrays.stack(new ai.djl.ndarray.NDList(residual.sum(), signal.sum()));
            float[] a = abundances.toFloatArray();
            float[] r = residual.toFloatArray();
            float[] s = sums.toFloatArray();
            double sumResidual = s[0];
            double sumSignal = s[1];
            if (!Double.isFinite(sumResidual) || !Double.isFinite(sumSignal)) {
                throw new IllegalArgumentException(in + " contains NaN or infinite samples; cannot unmix it");
            }
            double meanResidual = sumResidual / n;
            double meanSignal = sumSignal / n;
            return new SpectralUnmixer.Result(new Image(fluorophores, h, w, a), new Image(1, h, w, r),
                    meanResidual, meanSignal > 0 ? meanResidual / meanSignal : 0);
        }
    }

    /** Exact NNLS of the pixels {@code x} (C × n): every passive set's solution, the best feasible one. */
    private NDArray nonNegativeSolve(NDArray x) {
        long n = x.getShape().get(1);
        int f = fluorophores;
        NDArray all = solver.matMul(x.toType(DataType.FLOAT64, false)).reshape(1 + candidates, f, n);
        NDArray b = all.get("0:1");                      // (1, F, n): Mᵀx
        NDArray solutions = all.get("1:");               // (2^F, F, n), zero outside each set
        NDArray feasible = solutions.min(new int[] {1}).gte(0f);          // (2^F, n)
        NDArray objective = solutions.mul(b).sum(new int[] {1}).mul(-0.5f);  // (2^F, n)
        // Infeasible sets can never win; the empty set (a = 0, objective 0) is always feasible.
        NDArray ranked = NDArrays.where(feasible, objective, objective.getManager().create(Double.POSITIVE_INFINITY));
        NDArray best = ranked.argMin(0);                                 // (n)
        NDArray index = best.reshape(1, 1, n).broadcast(new Shape(1, f, n));
        return solutions.gather(index, 0).reshape(f, n).toType(DataType.FLOAT32, false);
    }

    /** Arrays held between frames (for leak checks): constant once built. */
    int heldArrays() {
        return workspace.heldArrays();
    }

    @Override
    public void close() {
        workspace.close();
    }

    // ---- host-side tables, in double ----

    private static double[] gram(double[][] m, int channels, int f) {
        double[] g = new double[f * f];
        for (int i = 0; i < f; i++) {
            for (int j = 0; j < f; j++) {
                double s = 0;
                for (int c = 0; c < channels; c++) {
                    s += m[c][i] * m[c][j];
                }
                g[i * f + j] = s;
            }
        }
        return g;
    }

    /** {@code (MᵀM)⁻¹Mᵀ}, F × C row-major. */
    private double[] pseudoInverse(double[][] m, double[] gram) {
        int f = fluorophores;
        int[] all = new int[f];
        for (int i = 0; i < f; i++) {
            all[i] = i;
        }
        return solverFor(all, m, gram);
    }

    /** Rows {@code Mᵀ}, then for each passive-set bitmask its {@code K_P·Mᵀ}: ((1 + 2^F)·F) × C. */
    private double[] candidateSolvers(double[][] m, double[] gram) {
        int f = fluorophores;
        int c = channels;
        double[] out = new double[(1 + candidates) * f * c];
        for (int i = 0; i < f; i++) {
            for (int k = 0; k < c; k++) {
                out[i * c + k] = m[k][i];
            }
        }
        for (int mask = 0; mask < candidates; mask++) {
            int set = mask;
            int[] members = java.util.stream.IntStream.range(0, f).filter(i -> (set >> i & 1) != 0).toArray();
            if (members.length == 0) {
                continue; // the empty set: a = 0
            }
            double[] rows = solverFor(members, m, gram); // |P| × C
            int base = (1 + mask) * f * c;
            for (int r = 0; r < members.length; r++) {
                System.arraycopy(rows, r * c, out, base + members[r] * c, c);
            }
        }
        return out;
    }

    /** {@code G_PP⁻¹·M_Pᵀ} for the fluorophores {@code members}: |P| × C row-major. */
    private double[] solverFor(int[] members, double[][] m, double[] gram) {
        int k = members.length;
        int f = fluorophores;
        double[] sub = new double[k * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                sub[i * k + j] = gram[members[i] * f + members[j]];
            }
        }
        double[] inv = SymmetricMatrices.inversePositiveDefinite(sub, k);
        double[] out = new double[k * channels];
        for (int i = 0; i < k; i++) {
            for (int c = 0; c < channels; c++) {
                double s = 0;
                for (int j = 0; j < k; j++) {
                    s += inv[i * k + j] * m[c][members[j]];
                }
                out[i * channels + c] = s;
            }
        }
        return out;
    }

    private static double[] flatten(double[][] rows) {
        int cols = rows[0].length;
        double[] out = new double[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, out, r * cols, cols);
        }
        return out;
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
