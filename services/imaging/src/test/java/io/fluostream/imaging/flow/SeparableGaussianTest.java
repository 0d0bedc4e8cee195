package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** {@link SeparableGaussian}: known impulse response, constants preserved, pyramid reduction. */
class SeparableGaussianTest {

    @Test
    void impulseResponseIsTheNormalisedGaussian() {
        int n = 41;
        float[][] impulse = RowPlanes.allocate(n, n);
        impulse[20][20] = 1f;
        float[][] out = RowPlanes.allocate(n, n);
        double sigma = 2.0;
        new SeparableGaussian(sigma).apply(impulse, out, n, n);
        // Truncated at 3σ and renormalised: the weights sum to 1 and follow exp(−r²/2σ²).
        double sum = 0;
        for (float[] row : out) {
            for (float v : row) {
                sum += v;
            }
        }
        assertEquals(1.0, sum, 1e-5);
        double ratio = out[20][22] / out[20][20];
        assertEquals(Math.exp(-4 / (2 * sigma * sigma)), ratio, 1e-5);
        assertEquals(out[22][20], out[20][22], 1e-7);
        assertEquals(0f, out[20][27], 0f); // beyond the radius ceil(3σ) = 6
    }

    @Test
    void aConstantPlaneStaysConstantUpToTheEdges() {
        float[] flat = new float[7 * 9];
        Arrays.fill(flat, 3.5f);
        float[] out = new SeparableGaussian(3.0).apply(flat, 7, 9);
        for (float v : out) {
            assertEquals(3.5f, v, 1e-5);
        }
    }

    @Test
    void reductionKeepsEverySecondSampleOfTheBlur() {
        int h = 9;
        int w = 12;
        float[][] ramp = RowPlanes.allocate(h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                ramp[y][x] = x + 10 * y;
            }
        }
        SeparableGaussian g = new SeparableGaussian(1.0);
        float[][] blurred = RowPlanes.allocate(h, w);
        g.apply(ramp, blurred, h, w);
        float[][] coarse = RowPlanes.allocate(5, 6);
        g.reduce(ramp, h, w, coarse);
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 6; j++) {
                assertEquals(blurred[2 * i][2 * j], coarse[i][j], 1e-4);
            }
        }
        // Away from the edges a symmetric blur leaves a linear ramp unchanged.
        assertEquals(2 * 2 + 10 * 4, coarse[2][2], 1e-4);
    }
}
