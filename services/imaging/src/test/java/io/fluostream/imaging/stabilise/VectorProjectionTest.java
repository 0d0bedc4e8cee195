package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Vector API projection against the complex dot products written out directly. Tolerance
 * 1e-12 of the sum of the terms' magnitudes: the vector form only regroups the additions (per
 * lane partial sums, fused multiply-adds), which moves the result by a few ulps of that sum; an
 * index or sign error is off by O(1) of it.
 */
class VectorProjectionTest {

    /** Widths with vectors only, vectors and a tail, and fewer columns than one vector. */
    @ParameterizedTest
    @ValueSource(ints = {8, 10, 64, 130, 256, 6})
    void projectionEqualsTheDirectComplexDotProducts(int width) {
        int height = 9;
        int columns = width / 2 + 1;
        int u = 7;
        SplittableRandom rng = new SplittableRandom(width);
        double[] re = random(rng, height * width);
        double[] im = random(rng, height * width);
        double[] exRe = random(rng, u * columns);
        double[] exIm = random(rng, u * columns);
        double[] tRe = new double[height * u];
        double[] tIm = new double[height * u];
        // Rows 2..8 only: the rest must stay untouched.
        VectorProjection.project(re, im, width, exRe, exIm, columns, u, tRe, tIm, 2, height);
        for (int ky = 0; ky < height; ky++) {
            for (int l = 0; l < u; l++) {
                double sr = 0;
                double si = 0;
                double magnitude = 0;
                for (int kx = 0; kx < columns; kx++) {
                    double rr = re[ky * width + kx];
                    double ri = im[ky * width + kx];
                    double er = exRe[l * columns + kx];
                    double ei = exIm[l * columns + kx];
                    sr += rr * er - ri * ei;
                    si += rr * ei + ri * er;
                    magnitude += Math.hypot(rr, ri) * Math.hypot(er, ei);
                }
                double gotRe = tRe[ky * u + l];
                double gotIm = tIm[ky * u + l];
                if (ky < 2) {
                    assertTrue(gotRe == 0 && gotIm == 0, "row " + ky + " is outside the range and must stay 0");
                    continue;
                }
                double tolerance = 1e-12 * magnitude;
                assertTrue(Math.abs(gotRe - sr) <= tolerance && Math.abs(gotIm - si) <= tolerance,
                        "row " + ky + " l " + l + ": got " + gotRe + "+" + gotIm + "i, direct " + sr + "+" + si + "i");
            }
        }
    }

    private static double[] random(SplittableRandom rng, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextDouble(-1, 1);
        }
        return a;
    }
}
