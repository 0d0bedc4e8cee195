package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import org.junit.jupiter.api.Test;

class LeastSquaresUnmixerTest {

    private static final ReferenceSpectra M = Mixtures.FOUR_BY_THREE;

    @Test
    void recoversExactAbundancesOnNoiseFreeMixtures() {
        Image truth = Mixtures.uniformAbundances(3, 48, 40, 1000, 1);
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            Image a = unmixer.unmix(Mixtures.mix(M, truth)).abundances();
            // float32 samples carry ~6e-8 relative error; through a pseudo-inverse of condition ~2.7
            // and four float multiply-adds that stays below 1e-6, so 1e-5 of the largest
            // abundance is a safe bound that still catches any wrong coefficient.
            assertMaxError(truth, a, 1e-5 * 1000);
        }
    }

    @Test
    void recoversAbundancesForSquareAndSingleFluorophoreSpectra() {
        ReferenceSpectra square = ReferenceSpectra.parse("0.7,0.2,0.1;0.2,0.6,0.2;0.1,0.2,0.7");
        Image truth = Mixtures.uniformAbundances(3, 16, 16, 500, 2);
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(square)) {
            assertMaxError(truth, unmixer.unmix(Mixtures.mix(square, truth)).abundances(), 1e-5 * 500);
        }
        ReferenceSpectra single = ReferenceSpectra.parse("0.25;0.5;0.25");
        truth = Mixtures.uniformAbundances(1, 16, 16, 500, 3);
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(single)) {
            assertMaxError(truth, unmixer.unmix(Mixtures.mix(single, truth)).abundances(), 1e-5 * 500);
        }
    }

    @Test
    void residualIsZeroForExactMixtures() {
        Image x = Mixtures.mix(M, Mixtures.uniformAbundances(3, 32, 32, 1000, 4));
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            SpectralUnmixer.Result r = unmixer.unmix(x);
            // Only float rounding is left (~1e-7 of the signal).
            assertTrue(r.relativeResidual() < 1e-5, "relative residual " + r.relativeResidual());
            assertTrue(r.meanResidual() < 1e-5 * 1000, "mean residual " + r.meanResidual());
        }
    }

    @Test
    void residualMeasuresTheNoiseThatTheSpectraCannotExplain() {
        // Gaussian noise of σ per channel leaves a least-squares residual with E||r||² = (C−F)σ²
        // (the projection onto the C−F directions the spectra do not span), so the mean squared
        // per-pixel RMS residual is (C−F)/C·σ². With 64×64 pixels and C−F = 1 that is a χ² with
        // 4096 degrees of freedom: relative sd 2.2%, so 8% is a >3σ bound.
        double sigma = 4;
        Image truth = Mixtures.uniformAbundances(3, 64, 64, 1000, 5);
        Image x = Mixtures.addGaussianNoise(Mixtures.mix(M, truth), sigma, 6);
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            Image residual = unmixer.unmix(x).residual();
            double meanSquare = 0;
            for (float v : residual.data()) {
                meanSquare += v * v;
            }
            meanSquare /= residual.data().length;
            double expected = (4 - 3) / 4.0 * sigma * sigma;
            assertEquals(expected, meanSquare, 0.08 * expected);
        }
    }

    @Test
    void relativeResidualGrowsWithNoise() {
        Image truth = Mixtures.uniformAbundances(3, 32, 32, 1000, 7);
        double previous = 0;
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            for (double sigma : new double[] {0, 1, 4, 16}) {
                Image x = Mixtures.addGaussianNoise(Mixtures.mix(M, truth), sigma, 8);
                double rel = unmixer.unmix(x).relativeResidual();
                assertTrue(rel > previous, "sigma " + sigma + ": " + rel + " <= " + previous);
                previous = rel;
            }
        }
    }

    @Test
    void computeWritesIntoTheGivenOutputs() {
        Image x = Mixtures.mix(M, Mixtures.uniformAbundances(3, 8, 8, 100, 9));
        Image a = new Image(3, 8, 8);
        Image r = new Image(1, 8, 8);
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            SpectralUnmixer.Result result = unmixer.compute(x, a, r);
            assertSame(a, result.abundances());
            assertSame(r, result.residual());
            assertArrayEquals(unmixer.unmix(x).abundances().data(), a.data());
        }
    }

    @Test
    void rejectsAChannelCountMismatchNamingBothCounts() {
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> unmixer.unmix(new Image(5, 4, 4)));
            assertTrue(e.getMessage().contains("input has 5 channels but the reference spectra have 4 channels"),
                    e.getMessage());
        }
    }

    @Test
    void rejectsBadOutputsAndNonFiniteInput() {
        Image x = Mixtures.mix(M, Mixtures.uniformAbundances(3, 8, 8, 100, 10));
        try (LeastSquaresUnmixer unmixer = new LeastSquaresUnmixer(M)) {
            assertThrows(IllegalArgumentException.class, () -> unmixer.compute(x, new Image(2, 8, 8), new Image(1, 8, 8)));
            assertThrows(IllegalArgumentException.class, () -> unmixer.compute(x, new Image(3, 8, 7), new Image(1, 8, 8)));
            assertThrows(IllegalArgumentException.class, () -> unmixer.compute(x, new Image(3, 8, 8), new Image(2, 8, 8)));
            Image shared = new Image(3, 8, 8);
            assertThrows(IllegalArgumentException.class, () -> unmixer.compute(x, shared, new Image(1, 8, 8, shared.data())));
            Image bad = x.copy();
            bad.set(2, 5, 3, Float.NaN);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unmixer.unmix(bad));
            assertTrue(e.getMessage().contains("NaN or infinite"), e.getMessage());
            bad.set(2, 5, 3, Float.POSITIVE_INFINITY);
            assertThrows(IllegalArgumentException.class, () -> unmixer.unmix(bad));
        }
        assertThrows(IllegalArgumentException.class, () -> new LeastSquaresUnmixer(M, 0));
    }

    static void assertMaxError(Image expected, Image actual, double tolerance) {
        assertTrue(expected.sameShape(actual), expected + " vs " + actual);
        double worst = 0;
        for (int i = 0; i < expected.data().length; i++) {
            worst = Math.max(worst, Math.abs(expected.data()[i] - actual.data()[i]));
        }
        assertTrue(worst <= tolerance, "max error " + worst + " > " + tolerance);
    }
}
