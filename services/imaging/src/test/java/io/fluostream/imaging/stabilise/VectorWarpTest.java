package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A vector of warped pixels against the cubic B-spline sum written out in double. Tolerance 1e-5
 * of the coefficients' scale: the vector path computes weights and sums in float (16 terms of
 * ~1e-7 relative rounding each); a wrong tap, weight or row is off by O(1) of it.
 */
class VectorWarpTest {

    private static final int H = 40;
    private static final int W = 96;

    @Test
    void runsWhereTheFieldMovesPixelsAlikeMatchTheSplineSum() {
        SplittableRandom rng = new SplittableRandom(5);
        float[][] c = new float[H][W];
        for (float[] row : c) {
            for (int x = 0; x < W; x++) {
                row[x] = (float) rng.nextDouble(0, 1000);
            }
        }
        int n = VectorWarp.lanes();
        float[] tx = new float[n];
        float[] ty = new float[n];
        int taken = 0;
        for (int y = 2; y < H - 3; y += 3) {
            // A smooth field: whole-pixel parts constant over most runs, fractions varying.
            double[] u = new double[W];
            double[] v = new double[W];
            for (int x = 0; x < W; x++) {
                u[x] = 2.3 + 0.6 * Math.sin(x / 40.0 + y);
                v[x] = -1.4 + 0.5 * Math.cos(x / 35.0 - y);
            }
            float[] dst = new float[W * 2];
            for (int x = 0; x + n <= W; x += n) {
                if (!VectorWarp.run(c, H, W, y, x, u, v, dst, W, tx, ty)) {
                    continue;
                }
                taken++;
                for (int l = 0; l < n; l++) {
                    double expected = splineAt(c, x + l + u[x + l], y + v[x + l]);
                    assertEquals(expected, dst[W + x + l], 1e-5 * 1000, "y " + y + " x " + (x + l));
                }
            }
        }
        assertTrue(taken > 10, "the vector path must take most runs of a smooth field, took " + taken);
    }

    @Test
    void leavesRunsWithDifferentWholePixelPartsOrAtTheBorderToTheScalarCode() {
        int n = VectorWarp.lanes();
        float[][] c = new float[H][Math.max(W, 4 * n)];
        int w = c[0].length;
        float[] dst = new float[w];
        double[] u = new double[w];
        double[] v = new double[w];
        // u crosses a whole pixel inside the run.
        for (int x = 0; x < w; x++) {
            u[x] = x < n + n / 2 ? 0.9 : 1.1;
        }
        assertFalse(VectorWarp.run(c, H, w, 10, 0 + n, u, v, dst, 0, new float[n], new float[n]));
        // Uniform field, but the taps would reach past the left border.
        java.util.Arrays.fill(u, 0.2);
        assertFalse(VectorWarp.run(c, H, w, 10, 0, u, v, dst, 0, new float[n], new float[n]));
        // ...or past the bottom rows.
        assertFalse(VectorWarp.run(c, H, w, H - 2, n, u, v, dst, 0, new float[n], new float[n]));
        // Inside and alike: taken.
        assertTrue(VectorWarp.run(c, H, w, 10, n, u, v, dst, 0, new float[n], new float[n]));
    }

    private static double splineAt(float[][] c, double sx, double sy) {
        int ix = (int) Math.floor(sx);
        int iy = (int) Math.floor(sy);
        double[] wx = weights(sx - ix);
        double[] wy = weights(sy - iy);
        double sum = 0;
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < 4; i++) {
                sum += wy[j] * wx[i] * c[iy - 1 + j][ix - 1 + i];
            }
        }
        return sum;
    }

    private static double[] weights(double t) {
        double s = 1 - t;
        return new double[] {s * s * s / 6, 2.0 / 3 - t * t + t * t * t / 2, 2.0 / 3 - s * s + s * s * s / 2, t * t * t / 6};
    }
}
