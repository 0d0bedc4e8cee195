package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class SymmetricMatricesTest {

    // [[2,1,0],[1,2,1],[0,1,2]] has eigenvalues 2-√2, 2, 2+√2 (a discrete Laplacian).
    private static final double[] TRIDIAGONAL = {2, 1, 0, 1, 2, 1, 0, 1, 2};

    @Test
    void eigenvaluesOfAKnownMatrix() {
        double r = Math.sqrt(2);
        // Jacobi converges to machine precision: 1e-12 leaves room for a few rounding steps.
        assertArrayEquals(new double[] {2 - r, 2, 2 + r}, SymmetricMatrices.eigenvalues(TRIDIAGONAL, 3), 1e-12);
    }

    @Test
    void inverseOfAKnownMatrix() {
        // Inverse of the tridiagonal matrix above, by hand: (1/4)[[3,-2,1],[-2,4,-2],[1,-2,3]].
        double[] expected = {0.75, -0.5, 0.25, -0.5, 1, -0.5, 0.25, -0.5, 0.75};
        assertArrayEquals(expected, SymmetricMatrices.inversePositiveDefinite(TRIDIAGONAL, 3), 1e-14);
    }

    @Test
    void rejectsAMatrixThatIsNotPositiveDefinite() {
        assertThrows(IllegalArgumentException.class,
                () -> SymmetricMatrices.inversePositiveDefinite(new double[] {1, 2, 2, 1}, 2));
    }
}
