package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Vector API fast path against the scalar tile path: same abundances, residual and frame
 * statistics to float rounding, on frames that exercise every passive set. Runs where the JVM has
 * {@code --add-modules jdk.incubator.vector} (this module's surefire configuration adds it).
 */
class VectorUnmixingTest {

    private static final ReferenceSpectra M = Mixtures.FOUR_BY_THREE;

    @BeforeEach
    void needsTheVectorApi() {
        assumeTrue(SpectralUnmixer.vectorApiAvailable(),
                "the JVM runs without --add-modules jdk.incubator.vector: only the scalar path exists");
    }

    @Test
    void nnlsMatchesTheScalarPathOnEveryKindOfPixel() {
        SplittableRandom rng = new SplittableRandom(5);
        for (ReferenceSpectra m : new ReferenceSpectra[] {M, Mixtures.randomSpectra(rng, 5, 3, 20),
                Mixtures.randomSpectra(rng, 3, 3, 10)}) {
            // 37 x 45: the frame does not split into whole vectors, so the padded tail is tested too.
            Image x = mixedPixels(m, 37, 45, rng);
            try (NnlsUnmixer vector = new NnlsUnmixer(m, 1, true); NnlsUnmixer scalar = new NnlsUnmixer(m, 1, false)) {
                assertTrue(vector.vectorised());
                assertFalse(scalar.vectorised());
                SpectralUnmixer.Result v = vector.unmix(x);
                SpectralUnmixer.Result s = scalar.unmix(x);
                int n = x.planeSize();
                for (int p = 0; p < n; p++) {
                    double scale = 0;
                    for (int c = 0; c < m.channels(); c++) {
                        scale = Math.max(scale, Math.abs(x.data()[c * n + p]));
                    }
                    // Both are exact to float rounding of terms of size |x|·cond(M): 1e-5 of the
                    // pixel's scale is far above that and far below a wrong passive set.
                    double tol = 1e-5 * scale * m.conditionNumber() + 1e-6;
                    for (int f = 0; f < 3; f++) {
                        float va = v.abundances().data()[f * n + p];
                        assertTrue(va >= 0, "negative abundance " + va + " at pixel " + p);
                        assertEquals(s.abundances().data()[f * n + p], va, tol, m + " pixel " + p + " f " + f);
                    }
                    assertEquals(s.residual().data()[p], v.residual().data()[p], tol, "residual at pixel " + p);
                }
                assertEquals(s.meanResidual(), v.meanResidual(), 1e-5 * s.meanResidual());
                assertEquals(s.relativeResidual(), v.relativeResidual(), 1e-5 * s.relativeResidual());
            }
        }
    }

    @Test
    void leastSquaresMatchesTheScalarPath() {
        Image x = mixedPixels(M, 40, 33, new SplittableRandom(7));
        try (LeastSquaresUnmixer vector = new LeastSquaresUnmixer(M, 1, true);
                LeastSquaresUnmixer scalar = new LeastSquaresUnmixer(M, 1, false)) {
            assertTrue(vector.vectorised());
            SpectralUnmixer.Result v = vector.unmix(x);
            SpectralUnmixer.Result s = scalar.unmix(x);
            // Same pseudo-inverse floats; only fused multiply-adds round differently: a few ulps of
            // values up to ~1000 (ulp 6e-5).
            assertArrayEquals(s.abundances().data(), v.abundances().data(), 1e-3f);
            assertArrayEquals(s.residual().data(), v.residual().data(), 1e-3f);
        }
    }

    @Test
    void bandsAndTheirTailsGiveIdenticalAnswers() {
        Image x = mixedPixels(M, 37, 45, new SplittableRandom(9));
        try (NnlsUnmixer one = new NnlsUnmixer(M, 1); NnlsUnmixer three = new NnlsUnmixer(M, 3)) {
            assertArrayEquals(one.unmix(x).abundances().data(), three.unmix(x).abundances().data());
        }
    }

    @Test
    void nonFiniteSamplesAreRefused() {
        Image x = mixedPixels(M, 8, 8, new SplittableRandom(11));
        x.data()[17] = Float.NaN;
        try (NnlsUnmixer nnls = new NnlsUnmixer(M)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> nnls.unmix(x));
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        }
    }

    @Test
    void onlyThreeFluorophoresTakeTheVectorPath() {
        try (NnlsUnmixer two = new NnlsUnmixer(ReferenceSpectra.parse("1,0.2;0.3,1;0.1,0.1"))) {
            assertFalse(two.vectorised(), "the vector path is written for F = 3");
        }
    }

    /**
     * A quarter each: noisy mixtures, bright mixtures, arbitrary non-negative vectors (outside the
     * spectra's cone) and signed background noise around zero.
     */
    private static Image mixedPixels(ReferenceSpectra m, int h, int w, SplittableRandom rng) {
        int c = m.channels();
        int n = h * w;
        Image truth = new Image(3, h, w);
        for (int i = 0; i < truth.data().length; i++) {
            truth.data()[i] = rng.nextBoolean() ? (float) (rng.nextDouble() * 100) : 0f;
        }
        Image mixture = Mixtures.addGaussianNoise(Mixtures.mix(m, truth), 5, rng.nextLong());
        Image x = new Image(c, h, w);
        for (int p = 0; p < n; p++) {
            int kind = p % 4;
            for (int ch = 0; ch < c; ch++) {
                double v = switch (kind) {
                    case 0 -> mixture.data()[ch * n + p];
                    case 1 -> mixture.data()[ch * n + p] + 500;
                    case 2 -> rng.nextDouble() * 100;
                    default -> rng.nextDouble() * 20 - 10;
                };
                x.data()[ch * n + p] = (float) v;
            }
        }
        return x;
    }
}
