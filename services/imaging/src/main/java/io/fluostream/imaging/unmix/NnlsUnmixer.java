package io.fluostream.imaging.unmix;

import java.util.Arrays;

/**
 * Non-negative linear unmixing: per pixel the exact solution of {@code min ||M a − x||²} subject
 * to {@code a ≥ 0} (abundances are amounts of dye, never negative).
 *
 * <p>Fast path: the unconstrained least-squares solution, which is already the answer wherever
 * it is non-negative. Only pixels with a negative coefficient get an exact active-set solve
 * ({@link NonNegativeLeastSquares}) in double precision from {@code Mᵀx} (formed in float, like
 * the fast path, for up to 4 fluorophores; in double beyond). At low photon counts this beats
 * plain least squares, which spreads noise into negative values and their mirror images in the
 * other channels. Supports up to {@value NonNegativeLeastSquares#MAX_FLUOROPHORES} fluorophores.
 *
 * <p>Cost: the exact solve takes a few tens of nanoseconds per corrected pixel against a few for
 * the fast path, so throughput depends on how much of the frame is dark background, where noise
 * makes about half of each coefficient negative. For 3 fluorophores in a JVM started with
 * {@code --add-modules jdk.incubator.vector}, {@link VectorUnmixing} does the whole job
 * branch-free on vectors instead, several times faster on such frames (see {@link #vectorised()}).
 */
public final class NnlsUnmixer extends SpectralUnmixer {

    private final NonNegativeLeastSquares solver;

    /** Single-threaded. */
    public NnlsUnmixer(ReferenceSpectra spectra) {
        this(spectra, 1);
    }

    /**
     * Splits each frame into {@code parallelism} bands of rows, one thread each.
     *
     * @throws IllegalArgumentException for more than
     *     {@value NonNegativeLeastSquares#MAX_FLUOROPHORES} fluorophores
     */
    public NnlsUnmixer(ReferenceSpectra spectra, int parallelism) {
        this(spectra, parallelism, true);
    }

    /** {@code allowVector = false} keeps to the scalar tile path (to compare the two). */
    NnlsUnmixer(ReferenceSpectra spectra, int parallelism, boolean allowVector) {
        super(supported(spectra), parallelism, true, allowVector);
        this.solver = new NonNegativeLeastSquares(spectra.gram(), spectra.fluorophores());
    }

    /** Checked before the superclass sets up buffers and threads. */
    private static ReferenceSpectra supported(ReferenceSpectra spectra) {
        if (spectra != null && spectra.fluorophores() > NonNegativeLeastSquares.MAX_FLUOROPHORES) {
            throw new IllegalArgumentException("exact non-negative unmixing supports up to "
                    + NonNegativeLeastSquares.MAX_FLUOROPHORES + " fluorophores, got " + spectra.fluorophores()
                    + "; use LeastSquaresUnmixer for more");
        }
        return spectra;
    }

    @Override
    void constrainTile(Workspace ws, int length) {
        final int nf = fluorophores;
        final int nc = channels;
        float[][] xs = ws.samples;
        float[][] as = ws.abundances;

        // Flag pixels with a negative coefficient: the smallest coefficient per pixel (a
        // vectorised pass per fluorophore), then its sign bit, branch-free ("+ 0f" turns -0.0,
        // which needs no correction, into +0.0).
        float[] lowest = ws.lowest;
        System.arraycopy(as[0], 0, lowest, 0, length);
        for (int f = 1; f < nf; f++) {
            float[] af = as[f];
            for (int i = 0; i < length; i++) {
                lowest[i] = Math.min(lowest[i], af[i]);
            }
        }
        int[] flagged = ws.flagged;
        int count = 0;
        for (int i = 0; i < length; i++) {
            flagged[count] = i;
            count += Float.floatToRawIntBits(lowest[i] + 0f) >>> 31;
        }

        if (count == 0) {
            return;
        }
        double[] sol = ws.solution;
        if (nf <= NonNegativeLeastSquares.UNROLLED_FLUOROPHORES) {
            // b = Mᵀx for the whole tile, one vectorised pass per spectra entry: cheaper than
            // gathering the channels of each flagged pixel.
            float[][] bs = ws.projections;
            for (int f = 0; f < nf; f++) {
                float[] bf = bs[f];
                float[] x0 = xs[0];
                float m0 = mixing[f];
                for (int i = 0; i < length; i++) {
                    bf[i] = m0 * x0[i];
                }
                for (int c = 1; c < nc; c++) {
                    float[] xc = xs[c];
                    float mc = mixing[c * nf + f];
                    for (int i = 0; i < length; i++) {
                        bf[i] += mc * xc[i];
                    }
                }
            }
            float[] b0 = bs[0];
            float[] b1 = bs[1];
            float[] b2 = bs[2];
            float[] b3 = bs[3]; // all zero beyond nf
            for (int k = 0; k < count; k++) {
                int i = flagged[k];
                // Start the search from the fast path's sign pattern.
                int start = 0;
                for (int f = 0; f < nf; f++) {
                    start |= (as[f][i] > 0 ? 1 : 0) << f;
                }
                solver.solveUnrolled(b0[i], b1[i], b2[i], b3[i], start, sol);
                for (int f = 0; f < nf; f++) {
                    as[f][i] = (float) sol[f];
                }
            }
            return;
        }
        double[] b = ws.projection;
        for (int k = 0; k < count; k++) {
            int i = flagged[k];
            Arrays.fill(b, 0);
            for (int c = 0; c < nc; c++) {
                double xc = xs[c][i];
                for (int f = 0; f < nf; f++) {
                    b[f] += mixingExact[c * nf + f] * xc;
                }
            }
            solver.solve(b, sol);
            for (int f = 0; f < nf; f++) {
                as[f][i] = (float) sol[f];
            }
        }
    }
}
