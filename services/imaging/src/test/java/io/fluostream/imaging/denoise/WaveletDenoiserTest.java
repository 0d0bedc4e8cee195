package io.fluostream.imaging.denoise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WaveletDenoiserTest {

    private static float[] gaussianNoise(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) SyntheticFrames.gaussian(rng);
        }
        return x;
    }

    private static double rms(float[] x) {
        double s = 0;
        for (float v : x) {
            s += v * v;
        }
        return Math.sqrt(s / x.length);
    }

    @Test
    void rebuildsTheInputWhenNothingIsShrunk() {
        // Threshold 0 keeps every coefficient; a vanishing Wiener noise power keeps gains at 1.
        // Odd, non-square sizes exercise the mirrored borders. Float round-off only: 1e-4 of ±10.
        for (int[] shape : new int[][] {{37, 23}, {64, 64}, {5, 3}, {1, 17}}) {
            int n = shape[0] * shape[1];
            SplittableRandom rng = new SplittableRandom(n);
            float[] x = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = (float) rng.nextDouble(-10, 10);
            }
            float[] y = new float[n];
            new WaveletDenoiser(5, 0, 1e-20).denoise(x, 0, shape[0], shape[1], 1.0, y, 0);
            assertArrayEquals(x, y, 1e-4f, Arrays.toString(shape));
        }
    }

    @Test
    void keepsAConstantExactly() {
        float[] x = new float[48 * 40];
        Arrays.fill(x, 7.25f);
        float[] y = new float[x.length];
        new WaveletDenoiser(5, 3, 1).denoise(x, 0, 48, 40, 1.0, y, 0);
        assertArrayEquals(x, y, 1e-5f);
    }

    @Test
    void removesMostOfPureNoise() {
        // 128×128 of unit white noise: measured residual rms 0.07 (−23 dB); 0.12 leaves room for seeds.
        float[] x = gaussianNoise(128 * 128, 5);
        float[] y = new float[x.length];
        new WaveletDenoiser(5, 3, 1).denoise(x, 0, 128, 128, 1.0, y, 0);
        assertTrue(rms(y) < 0.12, "residual rms " + rms(y));
    }

    @Test
    void scalesWithTheNoise() {
        // Every step is homogeneous of degree 1 in (signal, sigma): denoise(k·x, k·σ) = k·denoise(x, σ).
        float[] x = gaussianNoise(64 * 64, 9);
        for (int i = 0; i < x.length; i++) {
            x[i] += (i % 64 > 32) ? 4 : 0; // an edge to keep
        }
        float[] y = new float[x.length];
        WaveletDenoiser denoiser = new WaveletDenoiser(4, 3, 1);
        denoiser.denoise(x, 0, 64, 64, 1.0, y, 0);
        float[] x3 = x.clone();
        for (int i = 0; i < x3.length; i++) {
            x3[i] *= 3;
        }
        float[] y3 = new float[x.length];
        denoiser.denoise(x3, 0, 64, 64, 3.0, y3, 0);
        for (int i = 0; i < y.length; i++) {
            assertEquals(3 * y[i], y3[i], 1e-4f * (1 + Math.abs(y3[i])));
        }
    }

    @Test
    void worksInPlaceAndAtAnOffset() {
        float[] x = gaussianNoise(2 * 32 * 32, 3);
        float[] expected = new float[32 * 32];
        WaveletDenoiser denoiser = new WaveletDenoiser(3, 3, 1);
        denoiser.denoise(x, 1024, 32, 32, 1.0, expected, 0);
        denoiser.denoise(x, 1024, 32, 32, 1.0, x, 1024);
        assertArrayEquals(expected, Arrays.copyOfRange(x, 1024, 2048), 0f);
    }

    @Test
    void zeroSigmaCopies() {
        float[] x = gaussianNoise(100, 1);
        float[] y = new float[100];
        new WaveletDenoiser(5, 3, 1).denoise(x, 0, 10, 10, 0.0, y, 0);
        assertArrayEquals(x, y, 0f);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new WaveletDenoiser(0, 3, 1));
        assertThrows(IllegalArgumentException.class, () -> new WaveletDenoiser(5, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new WaveletDenoiser(5, 3, 0));
        WaveletDenoiser denoiser = new WaveletDenoiser(5, 3, 1);
        assertThrows(IllegalArgumentException.class, () -> denoiser.denoise(new float[4], 0, 2, 2, Double.NaN, new float[4], 0));
        assertThrows(IllegalArgumentException.class, () -> denoiser.denoise(new float[4], 0, 0, 2, 1, new float[4], 0));
    }
}
