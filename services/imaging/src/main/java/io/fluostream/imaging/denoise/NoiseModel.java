package io.fluostream.imaging.denoise;

/**
 * The Poisson–Gaussian noise of one camera channel: {@code var(y) = gain·(E[y] − offset) + readVariance}.
 *
 * <p>{@code y} is a raw sample in ADU. A pixel that collects {@code n} photo-electrons reads
 * {@code offset + gain·n + read noise}, so its variance is {@code gain²·n + readVariance}, i.e.
 * {@code gain·(mean − offset) + readVariance}. Below the offset there are no photons to count and
 * the variance is the read variance alone.
 *
 * @param gain         {@code a}, ADU per photo-electron (≥ 0; 0 means "signal-independent noise")
 * @param readVariance {@code b}, variance of the read noise in ADU² (≥ 0; includes quantisation)
 * @param offset       camera offset (black level) in ADU
 */
public record NoiseModel(double gain, double readVariance, double offset) {

    public NoiseModel {
        if (!Double.isFinite(gain) || gain < 0) {
            throw new IllegalArgumentException("gain must be finite and >= 0 ADU/e-, got " + gain);
        }
        if (!Double.isFinite(readVariance) || readVariance < 0) {
            throw new IllegalArgumentException("read variance must be finite and >= 0 ADU^2, got " + readVariance);
        }
        if (gain == 0 && readVariance == 0) {
            throw new IllegalArgumentException("a noise model needs gain > 0 or read variance > 0");
        }
        if (!Double.isFinite(offset)) {
            throw new IllegalArgumentException("offset must be finite, got " + offset);
        }
    }

    /** Noise variance in ADU² of a raw sample whose expected value is {@code meanAdu} (offset included). */
    public double variance(double meanAdu) {
        return readVariance + gain * Math.max(0.0, meanAdu - offset);
    }

    /** Noise standard deviation in ADU of a raw sample whose expected value is {@code meanAdu}. */
    public double sigmaAt(double meanAdu) {
        return Math.sqrt(variance(meanAdu));
    }

    /** Read noise expressed in photo-electrons ({@code √b / a}); infinite when the gain is 0. */
    public double readNoiseElectrons() {
        return gain == 0 ? Double.POSITIVE_INFINITY : Math.sqrt(readVariance) / gain;
    }
}
