package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link WideGaussian}: the reduced-grid blur matches the direct one. */
class WideGaussianTest {

    private static final int N = 160;

    @Test
    void narrowBlursAreDirect() {
        WideGaussian g = new WideGaussian(3.0);
        float[][] impulse = RowPlanes.allocate(N, N);
        impulse[80][80] = 1f;
        float[][] wide = RowPlanes.allocate(N, N);
        float[][] direct = RowPlanes.allocate(N, N);
        g.apply(impulse, wide, N, N);
        new SeparableGaussian(3.0).apply(impulse, direct, N, N);
        assertEquals(0, g.halvings());
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++) {
                assertEquals(direct[y][x], wide[y][x], 0f);
            }
        }
    }

    @Test
    void wideBlursMatchTheDirectBlurAndItsSpread() {
        for (double sigma : new double[] {6, 12, 20}) {
            WideGaussian g = new WideGaussian(sigma);
            double varianceSum = 0;
            // Impulses at every sub-grid phase: reduction treats even and odd positions differently.
            for (int oy = 0; oy < 4; oy++) {
                for (int ox = 0; ox < 4; ox++) {
                    float[][] impulse = RowPlanes.allocate(N, N);
                    impulse[78 + oy][78 + ox] = 1f;
                    float[][] wide = RowPlanes.allocate(N, N);
                    float[][] direct = RowPlanes.allocate(N, N);
                    g.apply(impulse, wide, N, N);
                    new SeparableGaussian(sigma).apply(impulse, direct, N, N);
                    double peak = direct[78 + oy][78 + ox];
                    double sum = 0;
                    double mx = 0;
                    for (int y = 0; y < N; y++) {
                        for (int x = 0; x < N; x++) {
                            sum += wide[y][x];
                            mx += wide[y][x] * x;
                            assertEquals(direct[y][x], wide[y][x], 0.03 * peak, "sigma " + sigma + " at " + y + "," + x);
                        }
                    }
                    mx /= sum;
                    double vx = 0;
                    for (int y = 0; y < N; y++) {
                        for (int x = 0; x < N; x++) {
                            vx += wide[y][x] * (x - mx) * (x - mx);
                        }
                    }
                    varianceSum += vx / sum;
                    assertEquals(1.0, sum, 0.005, "weights sum to 1 (sigma " + sigma + ")");
                    assertEquals(78 + ox, mx, 0.05, "no shift (sigma " + sigma + ")");
                }
            }
            assertTrue(g.halvings() >= 1, "sigma " + sigma + " runs on a reduced grid");
            assertEquals(sigma, Math.sqrt(varianceSum / 16), 0.02 * sigma, "spread, sigma " + sigma);
        }
    }

    @Test
    void aConstantStaysConstant() {
        float[][] flat = RowPlanes.allocate(37, 53);
        RowPlanes.fill(flat, 37, 53, 2.5f);
        float[][] out = RowPlanes.allocate(37, 53);
        new WideGaussian(10).apply(flat, out, 37, 53);
        for (float[] row : out) {
            for (float v : row) {
                assertEquals(2.5f, v, 1e-5f);
            }
        }
    }
}
