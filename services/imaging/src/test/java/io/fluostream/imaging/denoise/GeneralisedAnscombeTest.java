package io.fluostream.imaging.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Stabilisation and the exact unbiased inverse, against Monte-Carlo samples of known λ. */
class GeneralisedAnscombeTest {

    private static final int SAMPLES = 200_000;

    /** Mean and variance of the stabilised value of {@code gain·Poisson(λ) + N(0, readSigma²) + offset}. */
    private static double[] stabilisedMoments(GeneralisedAnscombe gat, double lambda, double gain,
            double readSigmaAdu, double offset, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] raw = new float[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            raw[i] = (float) (offset + gain * SyntheticFrames.poisson(rng, lambda)
                    + readSigmaAdu * SyntheticFrames.gaussian(rng));
        }
        float[] s = new float[SAMPLES];
        gat.forward(raw, 0, s, 0, SAMPLES);
        double mean = 0;
        for (float v : s) {
            mean += v;
        }
        mean /= SAMPLES;
        double var = 0;
        for (float v : s) {
            var += (v - mean) * (v - mean);
        }
        return new double[] {mean, var / (SAMPLES - 1)};
    }

    /*
     * The inverse of the Monte-Carlo mean of the stabilised values must give λ back. Tolerance:
     * 5 standard errors of that mean mapped through the inverse's slope (√(λ + σ²)·stdev/√n in e⁻),
     * plus 0.002 e⁻ for the tables. The algebraic inverse is off by 0.13–0.25 e⁻ here, and the
     * first-order asymptotic one (D²/4 − 1/8 − σ²) by up to 0.12 e⁻ at low λ (measured at 2 e⁻ read
     * noise): several times these tolerances, so the test tells them apart.
     */
    @ParameterizedTest(name = "lambda {0} e-, read noise {1} e-")
    @CsvSource({
        "0, 2", "0.2, 2", "1, 2", "5, 2", "25, 2", "40, 2", "120, 2",
        "0, 0.5", "0.2, 0.5", "3, 0.5", "40, 0.5",
        "0, 6", "2, 6", "60, 6", "0.5, 0", "8, 0"})
    void exactUnbiasedInverseGivesTheMeanBack(double lambda, double readElectrons) {
        double gain = 1.7;
        double readAdu = readElectrons * gain;
        NoiseModel model = new NoiseModel(gain, readAdu * readAdu, 100);
        GeneralisedAnscombe gat = new GeneralisedAnscombe(model);
        double[] m = stabilisedMoments(gat, lambda, gain, readAdu, 100, (long) (lambda * 1000 + readElectrons));
        double estimate = gat.lambdaOf(m[0]);
        double slope = Math.sqrt(lambda + readElectrons * readElectrons + 0.375);
        double tolerance = 5 * slope * Math.sqrt(m[1] / SAMPLES) + 0.002;
        assertEquals(lambda, estimate, tolerance);

        // Through the ADU interface: inverse(mean) = gain·λ.
        float[] out = new float[1];
        gat.inverse(new float[] {(float) m[0]}, 0, out, 0, 1);
        assertEquals(gain * lambda, out[0], gain * tolerance + 1e-4);
    }

    /*
     * Unit variance where stabilisation is expected to work (λ + σ² ≳ 2). Tolerance 5 %: the
     * GAT's own residual error is ≤ 2 % there; the sample variance of 200 000 draws has 0.3 %
     * standard error. With the textbook clip instead of the tangent tail, λ = 0 at σ = 2 e⁻ gives
     * variance 1.20 (outside the second check's band).
     */
    @Test
    void stabilisesTheVarianceToOne() {
        double gain = 2;
        for (double lambda : new double[] {2, 10, 50, 300}) {
            GeneralisedAnscombe gat = new GeneralisedAnscombe(new NoiseModel(gain, 4, 100));
            double[] m = stabilisedMoments(gat, lambda, gain, 2, 100, 17);
            assertEquals(1.0, m[1], 0.05, "variance at lambda " + lambda);
        }
        // Dark, read-noise dominated (σ = 2 e⁻): the tangent tail keeps the variance at or below 1.
        GeneralisedAnscombe gat = new GeneralisedAnscombe(new NoiseModel(gain, 16, 100));
        double[] dark = stabilisedMoments(gat, 0, gain, 4, 100, 18);
        assertTrue(dark[1] > 0.7 && dark[1] < 1.0, "variance at lambda 0, sigma 2 e-: " + dark[1]);
    }

    @Test
    void gaussianModelIsAnExactAffineMap() {
        GeneralisedAnscombe gat = new GeneralisedAnscombe(new NoiseModel(0, 25, 100));
        float[] raw = {100, 105, 90, 1000};
        float[] s = new float[4];
        gat.forward(raw, 0, s, 0, 4);
        assertEquals(1.0f, s[1], 1e-6f);
        assertEquals(-2.0f, s[2], 1e-6f);
        float[] back = new float[4];
        gat.inverse(s, 0, back, 0, 4);
        for (int i = 0; i < 4; i++) {
            assertEquals(raw[i] - 100, back[i], 1e-3f);
        }
    }

    @Test
    void inverseIsMonotoneAndContinuousAcrossItsPieces() {
        // Below the table (negative λ), in it, and past its end into the asymptote.
        for (double readElectrons : new double[] {0.3, 2, 8}) {
            GeneralisedAnscombe gat = new GeneralisedAnscombe(new NoiseModel(1, readElectrons * readElectrons, 0));
            double previous = Double.NEGATIVE_INFINITY;
            for (double d = -1.0; d < 40; d += 0.001) {
                double lambda = gat.lambdaOf(d);
                assertTrue(lambda > previous, "not increasing at D' = " + d);
                assertTrue(lambda - previous < 0.1 || previous == Double.NEGATIVE_INFINITY,
                        "jump at D' = " + d + ": " + previous + " -> " + lambda);
                previous = lambda;
            }
        }
    }
}
