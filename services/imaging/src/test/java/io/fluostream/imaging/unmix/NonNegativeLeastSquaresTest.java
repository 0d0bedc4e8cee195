package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NonNegativeLeastSquaresTest {

    @Test
    void knownAnswerInTwoDimensions() {
        // M = I (2x2): NNLS is max(0, x) coordinate-wise.
        NonNegativeLeastSquares nnls = new NonNegativeLeastSquares(new double[] {1, 0, 0, 1}, 2);
        double[] a = new double[2];
        nnls.solve(new double[] {3, -2}, a);
        assertArrayEquals(new double[] {3, 0}, a, 0);
        nnls.solve(new double[] {-1, -2}, a);
        assertArrayEquals(new double[] {0, 0}, a, 0);
    }

    @Test
    void knownAnswerWithCoupledFluorophores() {
        // G = [[2,1],[1,2]], b = (3, -3): unconstrained a = (3, -3); with a2 = 0, a1 = b1/G11 = 1.5,
        // and the gradient on a2 is G21*1.5 - b2 = 1.5 + 3 > 0, so (1.5, 0) is optimal.
        NonNegativeLeastSquares nnls = new NonNegativeLeastSquares(new double[] {2, 1, 1, 2}, 2);
        double[] a = new double[2];
        nnls.solve(new double[] {3, -3}, a);
        assertArrayEquals(new double[] {1.5, 0}, a, 1e-15);
    }

    @Test
    void agreesWithTheMinimumObjectiveSearchEverywhere() {
        // Both are exact and share the tabulated inverses, so they agree to rounding: 1e-12 of |b|
        // times cond(G) = cond(M)², the error amplification of the normal equations.
        SplittableRandom rng = new SplittableRandom(11);
        for (int trial = 0; trial < 200; trial++) {
            int f = 1 + rng.nextInt(6);
            ReferenceSpectra m = Mixtures.randomSpectra(rng, f + rng.nextInt(3), f, 50);
            NonNegativeLeastSquares nnls = new NonNegativeLeastSquares(m.gram(), f);
            double[] b = new double[f];
            double scale = 0;
            for (int i = 0; i < f; i++) {
                b[i] = rng.nextDouble() * 2 - 1;
                scale = Math.max(scale, Math.abs(b[i]));
            }
            double[] fast = new double[f];
            double[] slow = new double[f];
            nnls.solve(b, fast);
            nnls.solveByMinimumObjective(b, slow);
            assertArrayEquals(slow, fast, 1e-12 * scale * m.conditionNumber() * m.conditionNumber(), "trial " + trial);
        }
    }

    @Test
    void theStartGuessChangesNothingButSpeed() {
        // Every start set, however wrong, must lead to the same unique minimum.
        SplittableRandom rng = new SplittableRandom(13);
        for (int trial = 0; trial < 100; trial++) {
            int f = 1 + rng.nextInt(4);
            ReferenceSpectra m = Mixtures.randomSpectra(rng, f + rng.nextInt(3), f, 50);
            NonNegativeLeastSquares nnls = new NonNegativeLeastSquares(m.gram(), f);
            double[] b = new double[4];
            for (int i = 0; i < f; i++) {
                b[i] = rng.nextDouble() * 2 - 1;
            }
            double[] expected = new double[f];
            nnls.solveByMinimumObjective(b, expected);
            double[] a = new double[f];
            for (int start = 0; start < 1 << f; start++) {
                nnls.solveUnrolled(b[0], b[1], b[2], b[3], start, a);
                assertArrayEquals(expected, a, 1e-12 * m.conditionNumber() * m.conditionNumber(),
                        "trial " + trial + " start " + start);
            }
        }
    }

    @Test
    void nonFiniteInputGivesNaN() {
        NonNegativeLeastSquares nnls = new NonNegativeLeastSquares(new double[] {1, 0, 0, 1}, 2);
        double[] a = new double[2];
        nnls.solve(new double[] {Double.NaN, 1}, a);
        assertTrue(Double.isNaN(a[0]) && Double.isNaN(a[1]));
    }

    @Test
    void refusesMoreFluorophoresThanItTabulates() {
        int n = NonNegativeLeastSquares.MAX_FLUOROPHORES + 1;
        double[] identity = new double[n * n];
        for (int i = 0; i < n; i++) {
            identity[i * n + i] = 1;
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NonNegativeLeastSquares(identity, n));
        assertTrue(e.getMessage().contains("got " + n), e.getMessage());
    }
}
