package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NnlsUnmixerTest {

    private static final ReferenceSpectra M = Mixtures.FOUR_BY_THREE;

    @Test
    void equalsLeastSquaresWhereLeastSquaresIsNonNegative() {
        // Sparse abundances plus noise: some pixels have all-positive least-squares solutions
        // (where NNLS must return exactly the same floats), others do not.
        Image x = sparseNoisyMixture(M, 64, 64, 50, 5, 21);
        Image ls;
        Image nnls;
        try (LeastSquaresUnmixer l = new LeastSquaresUnmixer(M); NnlsUnmixer n = new NnlsUnmixer(M)) {
            ls = l.unmix(x).abundances();
            nnls = n.unmix(x).abundances();
        }
        int n = x.planeSize();
        int same = 0;
        int constrained = 0;
        for (int p = 0; p < n; p++) {
            boolean nonNegative = true;
            for (int f = 0; f < 3; f++) {
                nonNegative &= ls.data()[f * n + p] >= 0;
            }
            for (int f = 0; f < 3; f++) {
                if (nonNegative) {
                    assertEquals(ls.data()[f * n + p], nnls.data()[f * n + p], 0, "pixel " + p);
                }
                assertTrue(nnls.data()[f * n + p] >= 0, "pixel " + p);
            }
            same += nonNegative ? 1 : 0;
            constrained += nonNegative ? 0 : 1;
        }
        assertTrue(same > n / 10 && constrained > n / 10, same + " unconstrained, " + constrained + " constrained");
    }

    @Test
    void matchesAReferenceNnlsOnRandomPixels() {
        // Several spectra (the standard 4x3 and random ones from 1 to 6 fluorophores) and three kinds
        // of pixels: noisy sparse mixtures, arbitrary non-negative vectors (outside the spectra's
        // cone) and arbitrary signed vectors (offset-free background noise).
        SplittableRandom rng = new SplittableRandom(31);
        List<ReferenceSpectra> spectra = new ArrayList<>(List.of(M));
        for (int f = 1; f <= 6; f++) { // 1-4 take the unrolled solver, 5-6 the general one
            spectra.add(Mixtures.randomSpectra(rng, f + rng.nextInt(3), f, 30));
        }
        int checked = 0;
        int constrained = 0;
        for (ReferenceSpectra m : spectra) {
            Image x = randomPixels(m, 32, 40, rng);
            Image a;
            try (NnlsUnmixer nnls = new NnlsUnmixer(m); LeastSquaresUnmixer ls = new LeastSquaresUnmixer(m)) {
                a = nnls.unmix(x).abundances();
                constrained += LeastSquaresUnmixer.pixelsWithANegative(ls.unmix(x).abundances());
            }
            int n = x.planeSize();
            for (int p = 0; p < n; p++) {
                double[] xp = pixel(x, p);
                double[] ref = Mixtures.referenceNnls(m, xp);
                // 1e-4 of the pixel's own scale (largest abundance or sample): the reference is
                // converged to ~1e-11 and the unmixer rounds to float, so real disagreement (a
                // wrong active set) shows up orders of magnitude above this.
                double tol = 1e-4 * Math.max(maxAbs(ref), maxAbs(xp));
                for (int f = 0; f < m.fluorophores(); f++) {
                    assertEquals(ref[f], a.data()[f * n + p], tol, "spectra " + m.toText() + " pixel " + p + " f " + f);
                }
                checked++;
            }
        }
        assertTrue(checked >= 8000, "checked " + checked);
        assertTrue(constrained > checked / 4, "only " + constrained + " of " + checked + " needed the constraint");
    }

    @Test
    void satisfiesTheKktConditions() {
        // a ≥ 0; the gradient g = Mᵀ(Ma − x) is ≈ 0 where a > 0 and ≥ 0 where a = 0. Tolerance:
        // 1e-5 of |Mᵀ|·|x| — float rounding of a and x contributes ~1e-7 of that.
        SplittableRandom rng = new SplittableRandom(41);
        Image x = randomPixels(M, 48, 48, rng);
        Image a;
        try (NnlsUnmixer nnls = new NnlsUnmixer(M)) {
            a = nnls.unmix(x).abundances();
        }
        int n = x.planeSize();
        int active = 0;
        for (int p = 0; p < n; p++) {
            double[] xp = pixel(x, p);
            double[] ap = new double[3];
            for (int f = 0; f < 3; f++) {
                ap[f] = a.data()[f * n + p];
                assertTrue(ap[f] >= 0, "negative abundance at pixel " + p);
            }
            double[] g = gradient(M, ap, xp);
            double tol = 1e-5 * norm(xp);
            for (int f = 0; f < 3; f++) {
                if (ap[f] > 0) {
                    assertEquals(0, g[f], tol, "passive gradient, pixel " + p + " f " + f);
                } else {
                    assertTrue(g[f] >= -tol, "active gradient " + g[f] + " < " + -tol + ", pixel " + p + " f " + f);
                    active++;
                }
            }
        }
        assertTrue(active > n / 4, "only " + active + " active coefficients: the test is not exercising the constraint");
    }

    @Test
    void beatsLeastSquaresAtLowPhotonCounts() {
        // Truth: each fluorophore present in a pixel with probability 0.4 at 3 photons; each
        // channel counts Poisson(M·a) photons (columns sum to 1). Least squares spreads the shot
        // noise into negative values; clamping them back (exactly) must bring the error down.
        SplittableRandom rng = new SplittableRandom(51);
        int h = 64;
        int w = 64;
        Image truth = new Image(3, h, w);
        for (int i = 0; i < truth.data().length; i++) {
            truth.data()[i] = rng.nextDouble() < 0.4 ? 3f : 0f;
        }
        Image expected = Mixtures.mix(M, truth);
        Image x = new Image(4, h, w);
        for (int i = 0; i < x.data().length; i++) {
            x.data()[i] = Mixtures.poisson(rng, expected.data()[i]);
        }
        double lsError;
        double nnlsError;
        try (LeastSquaresUnmixer ls = new LeastSquaresUnmixer(M); NnlsUnmixer nnls = new NnlsUnmixer(M)) {
            lsError = Images.rmse(truth, ls.unmix(x).abundances());
            nnlsError = Images.rmse(truth, nnls.unmix(x).abundances());
        }
        // Measured 0.77x (0.77-0.78 over four seeds); 0.9x leaves margin yet fails if the
        // constraint is not doing its job.
        assertTrue(nnlsError < 0.9 * lsError, "NNLS RMSE " + nnlsError + " vs LS RMSE " + lsError);
    }

    @Test
    void singleFluorophoreIsClampedLeastSquares() {
        // With one spectrum m, NNLS is max(0, mᵀx / mᵀm).
        ReferenceSpectra single = ReferenceSpectra.parse("0.25;0.5;0.25");
        SplittableRandom rng = new SplittableRandom(61);
        Image x = new Image(3, 8, 8);
        for (int i = 0; i < x.data().length; i++) {
            x.data()[i] = (float) (rng.nextDouble() * 20 - 10);
        }
        Image a;
        try (NnlsUnmixer nnls = new NnlsUnmixer(single)) {
            a = nnls.unmix(x).abundances();
        }
        int n = x.planeSize();
        for (int p = 0; p < n; p++) {
            double dot = 0.25 * x.data()[p] + 0.5 * x.data()[n + p] + 0.25 * x.data()[2 * n + p];
            assertEquals(Math.max(0, dot / 0.375), a.data()[p], 1e-5 * 10);
        }
    }

    @Test
    void parallelBandsGiveTheSameAnswer() {
        SplittableRandom rng = new SplittableRandom(71);
        Image x = randomPixels(M, 37, 45, rng); // rows do not split evenly
        try (NnlsUnmixer one = new NnlsUnmixer(M); NnlsUnmixer three = new NnlsUnmixer(M, 3)) {
            SpectralUnmixer.Result a = one.unmix(x);
            SpectralUnmixer.Result b = three.unmix(x);
            assertArrayEquals(a.abundances().data(), b.abundances().data());
            assertArrayEquals(a.residual().data(), b.residual().data());
            // Only the grouping of the frame sums differs: float lanes of at most 64 values each
            // keep them within ~1e-6 of each other.
            assertEquals(a.meanResidual(), b.meanResidual(), 1e-6 * a.meanResidual());
            assertEquals(a.relativeResidual(), b.relativeResidual(), 1e-6 * a.relativeResidual());
        }
    }

    @Test
    void nnlsResidualIsZeroForExactMixturesAndGrowsWithNoise() {
        Image truth = sparseAbundances(3, 32, 32, 100, new SplittableRandom(81));
        double previous = -1;
        try (NnlsUnmixer nnls = new NnlsUnmixer(M)) {
            for (double sigma : new double[] {0, 1, 4, 16}) {
                Image x = Mixtures.addGaussianNoise(Mixtures.mix(M, truth), sigma, 82);
                double rel = nnls.unmix(x).relativeResidual();
                if (sigma == 0) {
                    assertTrue(rel < 1e-5, "exact mixture left relative residual " + rel);
                }
                assertTrue(rel > previous, "sigma " + sigma + ": " + rel + " <= " + previous);
                previous = rel;
            }
        }
    }

    @Test
    void rejectsMoreFluorophoresThanTheExactSolverTabulates() {
        int f = NonNegativeLeastSquares.MAX_FLUOROPHORES + 1;
        double[][] identity = new double[f][f];
        for (int i = 0; i < f; i++) {
            identity[i][i] = 1;
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NnlsUnmixer(ReferenceSpectra.of(identity)));
        assertTrue(e.getMessage().contains("got " + f), e.getMessage());
    }

    @Test
    void rejectsAChannelCountMismatch() {
        try (NnlsUnmixer nnls = new NnlsUnmixer(M)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nnls.unmix(new Image(3, 4, 4)));
            assertTrue(e.getMessage().contains("3 channels") && e.getMessage().contains("4 channels"), e.getMessage());
        }
    }

    /** Noisy sparse mixtures: each abundance present with probability 1/2, uniform up to {@code max}. */
    private static Image sparseNoisyMixture(ReferenceSpectra m, int h, int w, double max, double sigma, long seed) {
        Image truth = sparseAbundances(m.fluorophores(), h, w, max, new SplittableRandom(seed));
        return Mixtures.addGaussianNoise(Mixtures.mix(m, truth), sigma, seed + 1);
    }

    private static Image sparseAbundances(int f, int h, int w, double max, SplittableRandom rng) {
        Image truth = new Image(f, h, w);
        for (int i = 0; i < truth.data().length; i++) {
            truth.data()[i] = rng.nextBoolean() ? (float) (rng.nextDouble() * max) : 0f;
        }
        return truth;
    }

    /** A third each: noisy sparse mixtures, arbitrary non-negative vectors, arbitrary signed vectors. */
    private static Image randomPixels(ReferenceSpectra m, int h, int w, SplittableRandom rng) {
        int c = m.channels();
        int n = h * w;
        Image mixture = sparseNoisyMixture(m, h, w, 100, 5, rng.nextLong());
        Image x = new Image(c, h, w);
        for (int p = 0; p < n; p++) {
            int kind = p % 3;
            for (int ch = 0; ch < c; ch++) {
                float v;
                if (kind == 0) {
                    v = mixture.data()[ch * n + p];
                } else if (kind == 1) {
                    v = (float) (rng.nextDouble() * 100);
                } else {
                    v = (float) (rng.nextDouble() * 20 - 10);
                }
                x.data()[ch * n + p] = v;
            }
        }
        return x;
    }

    private static double[] pixel(Image x, int p) {
        int n = x.planeSize();
        double[] v = new double[x.channels()];
        for (int c = 0; c < v.length; c++) {
            v[c] = x.data()[c * n + p];
        }
        return v;
    }

    /** {@code Mᵀ(Ma − x)}. */
    private static double[] gradient(ReferenceSpectra m, double[] a, double[] x) {
        double[] g = new double[m.fluorophores()];
        for (int c = 0; c < m.channels(); c++) {
            double r = -x[c];
            for (int f = 0; f < m.fluorophores(); f++) {
                r += m.get(c, f) * a[f];
            }
            for (int f = 0; f < m.fluorophores(); f++) {
                g[f] += m.get(c, f) * r;
            }
        }
        return g;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d * d;
        }
        return Math.sqrt(s);
    }
}
