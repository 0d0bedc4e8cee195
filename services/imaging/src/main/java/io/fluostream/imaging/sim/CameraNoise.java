package io.fluostream.imaging.sim;

import io.fluostream.imaging.Image;
import java.util.random.RandomGenerator;

/**
 * A camera's Poisson–Gaussian noise: turns expected offset-free ADU into raw integer ADU.
 *
 * <p>Per pixel: electrons n ~ Poisson(clean / gain); raw = round(gain·n + gain·σ_read·z + offset)
 * with z ~ N(0, 1), clipped to the 16-bit range [0, 65535]. So, away from the clip,
 * E[raw] = clean + offset and Var[raw] = gain·clean + (gain·σ_read)² + 1/12 (the last term is the
 * rounding).
 *
 * <p>Poisson sampling: for means below 10, inversion by sequential search of the CDF (exact; about
 * mean + 1 steps); from 10 up, Hörmann's transformed rejection with squeeze (PTRS, 1993), which is
 * exact, needs about 1.2 uniforms per sample at any mean and only rarely evaluates log k!. Stateless
 * and thread-safe; the randomness comes from the caller's generator.
 */
public final class CameraNoise {

    /** Largest value a 16-bit camera reports. */
    public static final int MAX_ADU = 65535;

    private static final double PTRS_MIN_MEAN = 10;
    private static final int LOG_FACTORIAL_TABLE = 256;
    private static final double[] LOG_FACTORIAL = new double[LOG_FACTORIAL_TABLE];
    /** 1/k for the inversion search: a multiply is cheaper than a divide in the inner loop. */
    private static final int INVERSION_MAX_K = 100;
    private static final double[] RECIPROCAL = new double[INVERSION_MAX_K + 1];

    static {
        for (int k = 1; k < LOG_FACTORIAL_TABLE; k++) {
            LOG_FACTORIAL[k] = LOG_FACTORIAL[k - 1] + Math.log(k);
        }
        for (int k = 1; k <= INVERSION_MAX_K; k++) {
            RECIPROCAL[k] = 1.0 / k;
        }
    }

    private final double gain;
    private final double readNoiseAdu;
    private final double offset;

    /**
     * @param gainAduPerElectron ADU per photo-electron (> 0)
     * @param readNoiseElectrons read noise, e⁻ rms (≥ 0)
     * @param offsetAdu          bias added to every pixel, ADU
     */
    public CameraNoise(double gainAduPerElectron, double readNoiseElectrons, double offsetAdu) {
        if (!(gainAduPerElectron > 0) || Double.isInfinite(gainAduPerElectron)) {
            throw new IllegalArgumentException("gain must be a finite number > 0 ADU/e-, got " + gainAduPerElectron);
        }
        if (!(readNoiseElectrons >= 0) || Double.isInfinite(readNoiseElectrons)) {
            throw new IllegalArgumentException("read noise must be a finite number >= 0 e-, got " + readNoiseElectrons);
        }
        if (!(offsetAdu >= 0 && offsetAdu <= MAX_ADU)) {
            throw new IllegalArgumentException("offset must be 0.." + MAX_ADU + " ADU, got " + offsetAdu);
        }
        this.gain = gainAduPerElectron;
        this.readNoiseAdu = gainAduPerElectron * readNoiseElectrons;
        this.offset = offsetAdu;
    }

    /** The camera of a simulation's settings. */
    public static CameraNoise of(SimulationSettings s) {
        return new CameraNoise(s.gainAduPerElectron(), s.readNoiseElectrons(), s.offsetAdu());
    }

    /**
     * Exposes {@code cleanAdu} (expected offset-free ADU, ≥ 0) into {@code rawAdu} (integer ADU with
     * offset); the arrays may be the same. Samples are drawn from {@code rng} in index order.
     */
    public void expose(float[] cleanAdu, float[] rawAdu, RandomGenerator rng) {
        if (cleanAdu.length != rawAdu.length) {
            throw new IllegalArgumentException("clean and raw buffers differ in length: "
                    + cleanAdu.length + " vs " + rawAdu.length);
        }
        double invGain = 1 / gain;
        for (int i = 0; i < cleanAdu.length; i++) {
            double mean = cleanAdu[i] * invGain;
            if (!(mean >= 0) || Double.isInfinite(mean)) {
                throw new IllegalArgumentException("expected signal must be finite and >= 0 ADU, got "
                        + cleanAdu[i] + " at " + i);
            }
            long electrons = mean < PTRS_MIN_MEAN ? poissonByInversion(mean, rng) : poissonPtrs(mean, rng);
            double adu = gain * electrons + offset;
            if (readNoiseAdu > 0) {
                adu += readNoiseAdu * rng.nextGaussian();
            }
            adu = Math.rint(adu);
            rawAdu[i] = (float) (adu < 0 ? 0 : Math.min(adu, MAX_ADU));
        }
    }

    /** Allocating form of {@link #expose(float[], float[], RandomGenerator)}. */
    public Image expose(Image cleanAdu, RandomGenerator rng) {
        Image raw = new Image(cleanAdu.channels(), cleanAdu.height(), cleanAdu.width());
        expose(cleanAdu.data(), raw.data(), rng);
        return raw;
    }

    /** A Poisson variate of the given mean (≥ 0, finite). */
    public static long poisson(double mean, RandomGenerator rng) {
        if (!(mean >= 0) || Double.isInfinite(mean)) {
            throw new IllegalArgumentException("Poisson mean must be finite and >= 0, got " + mean);
        }
        return mean < PTRS_MIN_MEAN ? poissonByInversion(mean, rng) : poissonPtrs(mean, rng);
    }

    /** Sequential search of the CDF from k = 0. */
    private static long poissonByInversion(double mean, RandomGenerator rng) {
        if (mean == 0) {
            return 0;
        }
        double u = rng.nextDouble();
        double p = Math.exp(-mean);
        double cdf = p;
        int k = 0;
        // For mean < 10 the tail beyond k = 100 has probability < 1e-60; the cap only guards against
        // u landing above a CDF that rounding left a hair below 1.
        while (u > cdf && k < INVERSION_MAX_K) {
            k++;
            p *= mean * RECIPROCAL[k];
            cdf += p;
        }
        return k;
    }

    /** Hörmann (1993), "The transformed rejection method for generating Poisson random variables". */
    private static long poissonPtrs(double mean, RandomGenerator rng) {
        double sqrtMean = Math.sqrt(mean);
        double logMean = Math.log(mean);
        double b = 0.931 + 2.53 * sqrtMean;
        double a = -0.059 + 0.02483 * b;
        double invAlpha = 1.1239 + 1.1328 / (b - 3.4);
        double vr = 0.9277 - 3.6224 / (b - 2);
        while (true) {
            double u = rng.nextDouble() - 0.5;
            double v = rng.nextDouble();
            double us = 0.5 - Math.abs(u);
            long k = (long) Math.floor((2 * a / us + b) * u + mean + 0.43);
            if (us >= 0.07 && v <= vr) {
                return k; // the squeeze: inside the region where the hat is known to be below the pmf
            }
            if (k < 0 || (us < 0.013 && v > us)) {
                continue;
            }
            double logHatRatio = Math.log(v * invAlpha / (a / (us * us) + b));
            if (logHatRatio <= -mean + k * logMean - logFactorial(k)) {
                return k;
            }
        }
    }

    /** log k!, from a table below 256 and Stirling's series above (error < 1e-12 there). */
    static double logFactorial(long k) {
        if (k < LOG_FACTORIAL_TABLE) {
            return LOG_FACTORIAL[(int) k];
        }
        double n = k;
        double inv = 1 / n;
        double inv2 = inv * inv;
        return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n)
                + inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 / 1260));
    }
}
