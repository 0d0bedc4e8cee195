package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import org.junit.jupiter.api.Test;

class SpectralMixingTest {

    @Test
    void columnsAreNonNegativeFractionsSummingToOne() {
        for (int c = 1; c <= 12; c++) {
            for (int f = 1; f <= c; f++) {
                double[][] m = SpectralMixing.defaultSpectra(c, f);
                assertEquals(c, m.length);
                for (int k = 0; k < f; k++) {
                    double sum = 0;
                    for (int r = 0; r < c; r++) {
                        assertTrue(m[r][k] >= 0, "negative entry at " + r + "," + k + " for " + c + "x" + f);
                        sum += m[r][k];
                    }
                    assertEquals(1, sum, 1e-12, "column " + k + " of " + c + "x" + f);
                }
            }
        }
    }

    @Test
    void spectraOverlapEnoughToMatterButStayInvertible() {
        assertEquals(1, SpectralMixing.conditionNumber(SpectralMixing.defaultSpectra(1, 1)), 1e-12);
        for (int c = 2; c <= 10; c++) {
            assertEquals(1, SpectralMixing.conditionNumber(SpectralMixing.defaultSpectra(c, 1)), 1e-12);
            for (int f = 2; f <= Math.min(c, 8); f++) {
                double cond = SpectralMixing.conditionNumber(SpectralMixing.defaultSpectra(c, f));
                // Full rank (finite) and in the 3–10 band the brief asks for.
                assertTrue(cond >= 3 && cond <= 10, "condition number " + cond + " for " + c + "x" + f);
            }
        }
    }

    @Test
    void theDefaultFourByThreeMatrixMatchesTheClosedForm() {
        // From the documented model in closed form (erf integrals of the two half-Gaussians, computed
        // separately in Python): peaks 552.5, 580, 607.5 nm; σ 18 nm blue, 32 nm red; bands
        // 517.5..662.5 nm split in four. The 0.1 nm midpoint rule is exact to ~1e-7 on these.
        double[][] expected = {
            {0.36829, 0.05227, 0.00108},
            {0.47470, 0.46797, 0.12497},
            {0.14357, 0.39058, 0.55418},
            {0.01344, 0.08918, 0.31978},
        };
        double[][] m = SpectralMixing.defaultSpectra(4, 3);
        for (int c = 0; c < 4; c++) {
            assertArrayEquals(expected[c], m[c], 1e-5, "row " + c); // 5-digit reference
        }
        assertArrayEquals(new double[] {535.625, 571.875, 608.125, 644.375},
                SpectralMixing.channelWavelengthsNm(4, 3), 1e-9);
        assertArrayEquals(new double[] {552.5, 580, 607.5}, SpectralMixing.emissionPeaksNm(3), 1e-12);
    }

    @Test
    void dependsOnlyOnTheShape() {
        assertArrayEquals(SpectralMixing.defaultSpectra(5, 3), SpectralMixing.defaultSpectra(5, 3));
        double[] wavelengths = SpectralMixing.channelWavelengthsNm(6, 4);
        for (int c = 1; c < wavelengths.length; c++) {
            assertTrue(wavelengths[c] > wavelengths[c - 1], "channel wavelengths must increase");
        }
    }

    @Test
    void conditionNumberOfKnownMatrices() {
        assertEquals(10, SpectralMixing.conditionNumber(new double[][] {{1, 0}, {0, 0.1}}), 1e-9);
        // Rotation times diag(3, 1) times rotation: singular values 3 and 1.
        double c = Math.cos(0.7);
        double s = Math.sin(0.7);
        double[][] m = {{3 * c * c + s * s, (3 - 1) * c * s}, {(3 - 1) * c * s, 3 * s * s + c * c}};
        assertEquals(3, SpectralMixing.conditionNumber(m), 1e-9);
        // A 3×2 matrix: MᵀM = [[2, 1], [1, 2]] with eigenvalues 3 and 1, so cond = √3.
        assertEquals(Math.sqrt(3), SpectralMixing.conditionNumber(new double[][] {{1, 0}, {1, 1}, {0, 1}}), 1e-9);
        assertEquals(Double.POSITIVE_INFINITY, SpectralMixing.conditionNumber(new double[][] {{1, 2}, {2, 4}}));
        assertThrows(IllegalArgumentException.class, () -> SpectralMixing.conditionNumber(new double[][] {{1, 2}}));
    }

    @Test
    void mixMultipliesEveryPixelByTheMatrix() {
        double[][] m = {{0.5, 0.25}, {0.5, 0.75}};
        Image a = new Image(2, 1, 2, new float[] {2, 4, 8, 0});
        Image out = SpectralMixing.mix(m, a);
        // channel 0: 0.5·2 + 0.25·8 = 3, 0.5·4 + 0 = 2; channel 1: 1 + 6 = 7, 2 + 0 = 2
        assertArrayEquals(new float[] {3, 2, 7, 2}, out.data());
        assertThrows(IllegalArgumentException.class, () -> SpectralMixing.mix(m, new Image(3, 1, 2)));
    }

    @Test
    void rejectsEmptyShapes() {
        assertThrows(IllegalArgumentException.class, () -> SpectralMixing.defaultSpectra(0, 1));
        assertThrows(IllegalArgumentException.class, () -> SpectralMixing.defaultSpectra(2, 0));
    }
}
