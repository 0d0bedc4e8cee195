package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Poisson maximum-likelihood unmixing against known answers and a brute-force maximiser. */
class PoissonUnmixerTest {

    private static final ReferenceSpectra M = Mixtures.FOUR_BY_THREE;

    @Test
    void squareSpectraInsideTheConeGiveTheExactInverse() {
        // With as many channels as fluorophores and y = M u + s inside the cone, the likelihood is
        // maximal where μ = y, i.e. at u itself.
        ReferenceSpectra square = ReferenceSpectra.parse("0.7,0.2,0.1;0.2,0.6,0.2;0.1,0.2,0.7");
        PoissonLikelihood likelihood = new PoissonLikelihood(square);
        double[] truth = {3.5, 0.25, 8};
        double shift = 2.25;
        double[] y = forward(square, truth, shift);
        double[] u = {1, 1, 1};
        likelihood.solve(y, shift, u);
        for (int f = 0; f < 3; f++) {
            assertEquals(truth[f], u[f], 1e-9 * 8, "fluorophore " + f);
        }
    }

    @Test
    void matchesABruteForceLikelihoodMaximiser() {
        // Low photon counts (0-10 per channel, many zeros) put many optima on the boundary.
        SplittableRandom rng = new SplittableRandom(3);
        ReferenceSpectra[] spectra = {M, Mixtures.randomSpectra(rng, 3, 2, 10), Mixtures.randomSpectra(rng, 5, 3, 10)};
        int boundary = 0;
        int checked = 0;
        for (ReferenceSpectra m : spectra) {
            PoissonLikelihood likelihood = new PoissonLikelihood(m);
            for (int trial = 0; trial < 8; trial++) {
                double shift = trial % 2 == 0 ? 0 : 2.25;
                double[] truth = new double[m.fluorophores()];
                for (int f = 0; f < truth.length; f++) {
                    truth[f] = rng.nextBoolean() ? rng.nextDouble() * 8 : 0;
                }
                double[] mean = forward(m, truth, 0);
                double[] y = new double[m.channels()];
                for (int c = 0; c < y.length; c++) {
                    y[c] = Mixtures.poisson(rng, mean[c]) + shift;
                }
                double[] u = new double[m.fluorophores()];
                likelihood.solve(y, shift, u);
                double[] best = bruteForce(likelihood, m.fluorophores(), y, shift);
                double lNewton = likelihood.objective(y, shift, u);
                double lBrute = likelihood.objective(y, shift, best);
                // The brute force is converged to ~1e-9 of the box; Newton must be as good.
                assertTrue(lNewton <= lBrute + 1e-9 * (1 + Math.abs(lBrute)),
                        m + " trial " + trial + ": L(newton) " + lNewton + " > L(brute) " + lBrute);
                for (int f = 0; f < u.length; f++) {
                    assertTrue(u[f] >= 0);
                    assertEquals(best[f], u[f], 1e-4 * (1 + maxOf(best)), m + " trial " + trial + " f " + f);
                    boundary += u[f] == 0 ? 1 : 0;
                }
                checked++;
            }
        }
        assertEquals(24, checked);
        assertTrue(boundary >= 5, "only " + boundary + " coefficients on the boundary: the constraint is not exercised");
    }

    @Test
    void noPhotonsMeanNoAbundance() {
        PoissonLikelihood likelihood = new PoissonLikelihood(M);
        double[] u = {5, 5, 5};
        likelihood.solve(new double[4], 0, u);
        for (double v : u) {
            assertEquals(0, v, 0);
        }
    }

    @Test
    void unmixerConvertsAduToPhotonsAndBack() {
        // The unmixer must give gain·u with u the likelihood optimum of y = x/gain + σ².
        double gain = 2.5;
        double readNoise = 1.5;
        SplittableRandom rng = new SplittableRandom(5);
        Image x = new Image(4, 6, 7);
        for (int i = 0; i < x.data().length; i++) {
            x.data()[i] = (float) (gain * Mixtures.poisson(rng, 3) + gain * readNoise * Mixtures.gaussian(rng));
        }
        Image a;
        try (PoissonUnmixer poisson = new PoissonUnmixer(M, gain, readNoise, 2)) {
            a = poisson.unmix(x).abundances();
        }
        PoissonLikelihood likelihood = new PoissonLikelihood(M);
        int n = x.planeSize();
        for (int p = 0; p < n; p++) {
            double[] y = new double[4];
            for (int c = 0; c < 4; c++) {
                y[c] = Math.max(0, x.data()[c * n + p] / gain + readNoise * readNoise);
            }
            double[] u = new double[3];
            likelihood.solve(y, readNoise * readNoise, u);
            for (int f = 0; f < 3; f++) {
                assertEquals(gain * u[f], a.data()[f * n + p], 1e-4 * (1 + gain * maxOf(u)), "pixel " + p);
            }
        }
    }

    @Test
    void beatsLeastSquaresOnPhotonCountsAtLowLight() {
        // Raw photon counts (gain 1, no read noise) at 3 photons per present fluorophore: the
        // Poisson likelihood weighs each channel by its own noise, least squares does not.
        SplittableRandom rng = new SplittableRandom(51);
        Image truth = new Image(3, 48, 48);
        for (int i = 0; i < truth.data().length; i++) {
            truth.data()[i] = rng.nextDouble() < 0.4 ? 3f : 0f;
        }
        Image expected = Mixtures.mix(M, truth);
        Image x = new Image(4, 48, 48);
        for (int i = 0; i < x.data().length; i++) {
            x.data()[i] = Mixtures.poisson(rng, expected.data()[i]);
        }
        double ls;
        double poisson;
        try (LeastSquaresUnmixer l = new LeastSquaresUnmixer(M); PoissonUnmixer p = new PoissonUnmixer(M, 1, 0, 1)) {
            ls = Images.rmse(truth, l.unmix(x).abundances());
            poisson = Images.rmse(truth, p.unmix(x).abundances());
        }
        assertTrue(poisson < 0.9 * ls, "Poisson RMSE " + poisson + " vs least squares " + ls);
    }

    @Test
    void refusesAnUnusableCameraModel() {
        IllegalArgumentException gain = assertThrows(IllegalArgumentException.class, () -> new PoissonUnmixer(M, 0, 1, 1));
        assertTrue(gain.getMessage().contains("gain"), gain.getMessage());
        IllegalArgumentException noise = assertThrows(IllegalArgumentException.class,
                () -> new PoissonUnmixer(M, 1, Double.NaN, 1));
        assertTrue(noise.getMessage().contains("read noise"), noise.getMessage());
    }

    /** μ = M u + s. */
    private static double[] forward(ReferenceSpectra m, double[] u, double shift) {
        double[] y = new double[m.channels()];
        for (int c = 0; c < y.length; c++) {
            y[c] = shift;
            for (int f = 0; f < u.length; f++) {
                y[c] += m.get(c, f) * u[f];
            }
        }
        return y;
    }

    /**
     * The minimiser of the (convex) negative log-likelihood over u ≥ 0 by exhaustive grid search,
     * refined coarse to fine: 15 points per axis around the best point so far, the box shrinking by
     * 0.75 per round. Slow (hundreds of thousands of evaluations) and obviously correct.
     */
    private static double[] bruteForce(PoissonLikelihood likelihood, int nf, double[] y, double shift) {
        double total = 0;
        for (double v : y) {
            total += v;
        }
        double half = 4 * total + 1;
        double[] centre = new double[nf];
        java.util.Arrays.fill(centre, half);
        double[] best = centre.clone();
        double bestValue = likelihood.objective(y, shift, best);
        int points = 15;
        double[] u = new double[nf];
        int[] index = new int[nf];
        for (int round = 0; round < 90; round++) {
            double step = 2 * half / (points - 1);
            java.util.Arrays.fill(index, 0);
            while (true) {
                for (int f = 0; f < nf; f++) {
                    u[f] = Math.max(0, centre[f] - half + index[f] * step);
                }
                double v = likelihood.objective(y, shift, u);
                if (v < bestValue) {
                    bestValue = v;
                    best = u.clone();
                }
                int f = 0;
                while (f < nf && ++index[f] == points) {
                    index[f++] = 0;
                }
                if (f == nf) {
                    break;
                }
            }
            centre = best.clone();
            half *= 0.75;
        }
        return best;
    }

    private static double maxOf(double[] v) {
        double m = 0;
        for (double d : v) {
            m = Math.max(m, Math.abs(d));
        }
        return m;
    }
}
