package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CameraNoiseTest {

    private static final int SAMPLES = 200_000;

    @Test
    void poissonHasTheRightMeanAndVarianceFromTinyToHugeMeans() {
        // Both sides of the inversion / PTRS switch at 10, and far beyond.
        double[] means = {0.05, 0.8, 3, 9.99, 10, 14, 40, 1000, 1e6};
        SplittableRandom rng = new SplittableRandom(11);
        for (double lambda : means) {
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < SAMPLES; i++) {
                double k = CameraNoise.poisson(lambda, rng);
                sum += k;
                sumSq += k * k;
            }
            double mean = sum / SAMPLES;
            double var = sumSq / SAMPLES - mean * mean;
            // 5 standard errors: sd(mean) = √(λ/n); sd(var) ≈ √((λ + 2λ²)/n).
            assertEquals(lambda, mean, 5 * Math.sqrt(lambda / SAMPLES), "mean for lambda " + lambda);
            assertEquals(lambda, var, 5 * Math.sqrt((lambda + 2 * lambda * lambda) / SAMPLES), "variance for lambda " + lambda);
        }
    }

    @Test
    void poissonFollowsTheProbabilityMassFunction() {
        SplittableRandom rng = new SplittableRandom(5);
        for (double lambda : new double[] {4, 16, 60}) {
            int max = (int) (lambda + 12 * Math.sqrt(lambda) + 12);
            double[] histogram = new double[max + 1];
            for (int i = 0; i < SAMPLES; i++) {
                long k = CameraNoise.poisson(lambda, rng);
                histogram[(int) Math.min(k, max)]++;
            }
            double pmf = Math.exp(-lambda);
            double totalVariation = 0;
            for (int k = 0; k <= max; k++) {
                if (k > 0) {
                    pmf *= lambda / k;
                }
                double observed = histogram[k] / SAMPLES;
                totalVariation += Math.abs(observed - pmf);
                // Each bin within 5 binomial standard errors (plus a hair for empty tails).
                double se = Math.sqrt(pmf * (1 - pmf) / SAMPLES);
                assertEquals(pmf, observed, 5 * se + 1e-5, "P(k=" + k + ") for lambda " + lambda);
            }
            // Sampling alone gives a total variation of about √(bins/n)·0.8 ≈ 0.01–0.02 here.
            assertTrue(totalVariation / 2 < 0.02, "total variation " + totalVariation / 2 + " for lambda " + lambda);
        }
    }

    @Test
    void exposureAddsGainReadNoiseAndOffset() {
        CameraNoise camera = new CameraNoise(2.0, 1.5, 100);
        float[] clean = new float[SAMPLES];
        java.util.Arrays.fill(clean, 50f);
        float[] raw = new float[SAMPLES];
        camera.expose(clean, raw, new SplittableRandom(3));
        double sum = 0;
        double sumSq = 0;
        for (float v : raw) {
            assertEquals(Math.rint(v), v, "integer ADU");
            sum += v;
            sumSq += (double) v * v;
        }
        double mean = sum / SAMPLES;
        double var = sumSq / SAMPLES - mean * mean;
        // E = clean + offset = 150; Var = gain·clean + (gain·σ)² + 1/12 = 100 + 9 + 0.083.
        assertEquals(150, mean, 5 * Math.sqrt(109.1 / SAMPLES));
        assertEquals(109.083, var, 109.083 * 5 * Math.sqrt(2.0 / SAMPLES) * 1.2);
    }

    @Test
    void exposureIsClippedToSixteenBits() {
        CameraNoise camera = new CameraNoise(4.0, 30, 0);
        Image clean = new Image(1, 1, 4, new float[] {0, 0, 1e6f, 1e6f});
        for (int seed = 0; seed < 50; seed++) {
            float[] raw = camera.expose(clean, new SplittableRandom(seed)).data();
            for (float v : raw) {
                assertTrue(v >= 0 && v <= CameraNoise.MAX_ADU, "out of range: " + v);
            }
            assertEquals(CameraNoise.MAX_ADU, raw[2]);
        }
    }

    @Test
    void sameGeneratorStateGivesTheSameFrame() {
        CameraNoise camera = new CameraNoise(2.0, 1.5, 100);
        Image clean = new Image(1, 8, 8);
        java.util.Arrays.fill(clean.data(), 25f);
        assertEquals(camera.expose(clean, new SplittableRandom(9)).data()[17],
                camera.expose(clean, new SplittableRandom(9)).data()[17]);
    }

    @Test
    void logFactorialIsExactInTableAndStirlingRanges() {
        double exact = 0;
        for (int k = 1; k <= 2000; k++) {
            exact += Math.log(k);
            if (k == 10 || k == 255 || k == 256 || k == 300 || k == 2000) {
                assertEquals(exact, CameraNoise.logFactorial(k), 1e-12 * exact, "log " + k + "!");
            }
        }
        assertEquals(0, CameraNoise.logFactorial(0));
    }

    @Test
    void rejectsImpossibleInputs() {
        SplittableRandom rng = new SplittableRandom(1);
        assertThrows(IllegalArgumentException.class, () -> CameraNoise.poisson(-1, rng));
        assertThrows(IllegalArgumentException.class, () -> CameraNoise.poisson(Double.NaN, rng));
        assertThrows(IllegalArgumentException.class, () -> CameraNoise.poisson(Double.POSITIVE_INFINITY, rng));
        assertThrows(IllegalArgumentException.class, () -> new CameraNoise(0, 1, 100));
        assertThrows(IllegalArgumentException.class, () -> new CameraNoise(1, -1, 100));
        assertThrows(IllegalArgumentException.class, () -> new CameraNoise(1, 1, -5));
        CameraNoise camera = new CameraNoise(1, 1, 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> camera.expose(new float[] {1, Float.NaN}, new float[2], rng));
        assertTrue(e.getMessage().contains("at 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> camera.expose(new float[2], new float[3], rng));
    }
}
