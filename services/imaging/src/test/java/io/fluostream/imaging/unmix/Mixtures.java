package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;

/** Synthetic spectral mixtures and a slow, obviously-correct NNLS for the unmixing tests. */
final class Mixtures {

    private Mixtures() {
    }

    /**
     * Four detection channels, three fluorophores with overlapping emission (each column sums to
     * 1, so an abundance is the fluorophore's total signal): condition number about 2.7.
     */
    static final ReferenceSpectra FOUR_BY_THREE = ReferenceSpectra.of(new double[][] {
        {0.60, 0.15, 0.02},
        {0.30, 0.50, 0.10},
        {0.08, 0.30, 0.38},
        {0.02, 0.05, 0.50},
    });

    /** {@code x = M a} per pixel, computed in double and rounded once to float. */
    static Image mix(ReferenceSpectra m, Image abundances) {
        int n = abundances.planeSize();
        Image out = new Image(m.channels(), abundances.height(), abundances.width());
        float[] a = abundances.data();
        for (int p = 0; p < n; p++) {
            for (int c = 0; c < m.channels(); c++) {
                double s = 0;
                for (int f = 0; f < m.fluorophores(); f++) {
                    s += m.get(c, f) * a[f * n + p];
                }
                out.data()[c * n + p] = (float) s;
            }
        }
        return out;
    }

    /** Abundances uniform in [0, max). */
    static Image uniformAbundances(int fluorophores, int h, int w, double max, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Image a = new Image(fluorophores, h, w);
        for (int i = 0; i < a.data().length; i++) {
            a.data()[i] = (float) (rng.nextDouble() * max);
        }
        return a;
    }

    /** Adds independent Gaussian noise of standard deviation {@code sigma} to every sample (in place). */
    static Image addGaussianNoise(Image img, double sigma, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] d = img.data();
        for (int i = 0; i < d.length; i++) {
            d[i] += (float) (sigma * gaussian(rng));
        }
        return img;
    }

    static double gaussian(SplittableRandom rng) {
        // Box–Muller; SplittableRandom has no nextGaussian on Java 17.
        double u = 1 - rng.nextDouble();
        double v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A Poisson sample by Knuth's multiplication method (fine for the small means used here). */
    static int poisson(SplittableRandom rng, double mean) {
        double limit = Math.exp(-mean);
        int k = 0;
        double prod = rng.nextDouble();
        while (prod > limit) {
            k++;
            prod *= rng.nextDouble();
        }
        return k;
    }

    /**
     * Reference NNLS, {@code min ||M a − x||²} s.t. {@code a ≥ 0}, by cyclic coordinate descent
     * in the data space: each step minimises exactly over one coefficient and clamps at zero.
     * Slow but obviously correct: the objective is strictly convex, so this converges to the
     * unique minimum; it runs until a full sweep changes nothing by more than 1e-13 relative.
     */
    static double[] referenceNnls(ReferenceSpectra m, double[] x) {
        int nc = m.channels();
        int nf = m.fluorophores();
        double[] a = new double[nf];
        double[] r = x.clone(); // r = x − M a
        double scale = 0;
        for (double v : x) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int sweep = 0; sweep < 1_000_000; sweep++) {
            double change = 0;
            for (int f = 0; f < nf; f++) {
                double num = 0;
                double den = 0;
                for (int c = 0; c < nc; c++) {
                    num += m.get(c, f) * r[c];
                    den += m.get(c, f) * m.get(c, f);
                }
                double next = Math.max(0, a[f] + num / den);
                double d = next - a[f];
                if (d != 0) {
                    for (int c = 0; c < nc; c++) {
                        r[c] -= m.get(c, f) * d;
                    }
                    a[f] = next;
                }
                change = Math.max(change, Math.abs(d));
            }
            if (change <= 1e-13 * Math.max(scale, 1e-300)) {
                return a;
            }
        }
        throw new AssertionError("reference NNLS did not converge");
    }

    /** Random non-negative spectra with condition number below {@code maxCondition}. */
    static ReferenceSpectra randomSpectra(SplittableRandom rng, int channels, int fluorophores, double maxCondition) {
        while (true) {
            double[][] rows = new double[channels][fluorophores];
            for (int c = 0; c < channels; c++) {
                for (int f = 0; f < fluorophores; f++) {
                    rows[c][f] = rng.nextDouble();
                }
            }
            ReferenceSpectra s = ReferenceSpectra.of(rows);
            if (s.conditionNumber() < maxCondition) {
                return s;
            }
        }
    }
}
