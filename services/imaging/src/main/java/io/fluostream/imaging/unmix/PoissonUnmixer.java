package io.fluostream.imaging.unmix;

/**
 * Photon-limited unmixing: per pixel the non-negative Poisson maximum-likelihood abundances
 * ({@link PoissonLikelihood}), where least squares — which weighs every channel alike — is not the
 * right noise model: at a few photons per channel, bright channels are noisier than dim ones.
 *
 * <p>Model: offset-free ADU {@code x} are {@code gain · n} with photon counts
 * {@code n_c ~ Poisson((M u)_c)} plus Gaussian read noise of {@code σ} electrons. The Gaussian
 * part is folded in by the usual shifted-Poisson approximation: {@code y_c = x_c / gain + σ²} is
 * treated as {@code Poisson((M u)_c + σ²)} (same mean and variance), clipped at 0. The answer is
 * returned in ADU ({@code a = gain · u}) like the other unmixers, so the gain changes the weighting
 * of the channels, not the scale of the result.
 *
 * <p>Each pixel starts from its exact NNLS solution and takes a few projected Newton steps, so
 * this is one to two orders of magnitude slower than {@link NnlsUnmixer}: an option for dim
 * streams, not the default.
 */
public final class PoissonUnmixer extends SpectralUnmixer {

    private final double gain;
    private final double shift;
    private final NonNegativeLeastSquares nnls;

    /**
     * @param gainAduPerElectron camera gain, ADU per photo-electron (> 0): from the denoise stage's
     *                           fitted noise model, or the camera's data sheet
     * @param readNoiseElectrons camera read noise, electrons rms (≥ 0)
     * @param parallelism        threads (bands of rows) per frame
     * @throws IllegalArgumentException for a gain that is not positive and finite, a negative or
     *     non-finite read noise, or more fluorophores than exact NNLS supports
     */
    public PoissonUnmixer(ReferenceSpectra spectra, double gainAduPerElectron, double readNoiseElectrons,
                          int parallelism) {
        super(checked(spectra, gainAduPerElectron, readNoiseElectrons), parallelism, false, false);
        this.gain = gainAduPerElectron;
        this.shift = readNoiseElectrons * readNoiseElectrons;
        this.nnls = new NonNegativeLeastSquares(spectra.gram(), spectra.fluorophores());
    }

    private static ReferenceSpectra checked(ReferenceSpectra spectra, double gain, double readNoise) {
        if (!(gain > 0) || Double.isInfinite(gain)) {
            throw new IllegalArgumentException("camera gain must be a finite number > 0 ADU per electron, got " + gain);
        }
        if (!(readNoise >= 0) || Double.isInfinite(readNoise)) {
            throw new IllegalArgumentException("read noise must be a finite number >= 0 electrons, got " + readNoise);
        }
        if (spectra != null && spectra.fluorophores() > NonNegativeLeastSquares.MAX_FLUOROPHORES) {
            throw new IllegalArgumentException("Poisson unmixing supports up to " + NonNegativeLeastSquares.MAX_FLUOROPHORES
                    + " fluorophores, got " + spectra.fluorophores());
        }
        return spectra;
    }

    public double gainAduPerElectron() {
        return gain;
    }

    public double readNoiseElectrons() {
        return Math.sqrt(shift);
    }

    @Override
    void constrainTile(Workspace ws, int length) {
        final int nf = fluorophores;
        final int nc = channels;
        if (ws.poisson == null) {
            ws.poisson = new PoissonLikelihood(spectra);
            ws.photons = new double[nc];
        }
        PoissonLikelihood likelihood = ws.poisson;
        double[] y = ws.photons;
        double[] b = ws.projection;
        double[] u = ws.solution;
        float[][] xs = ws.samples;
        float[][] as = ws.abundances;
        double invGain = 1 / gain;
        for (int i = 0; i < length; i++) {
            boolean finite = true;
            java.util.Arrays.fill(b, 0);
            for (int c = 0; c < nc; c++) {
                double photons = xs[c][i] * invGain;
                finite &= Double.isFinite(photons);
                y[c] = Math.max(0, photons + shift);
                for (int f = 0; f < nf; f++) {
                    b[f] += mixingExact[c * nf + f] * photons;
                }
            }
            if (!finite) {
                for (int f = 0; f < nf; f++) {
                    as[f][i] = Float.NaN; // the frame is refused as a whole
                }
                continue;
            }
            nnls.solve(b, u);
            likelihood.solve(y, shift, u);
            for (int f = 0; f < nf; f++) {
                as[f][i] = (float) (u[f] * gain);
            }
        }
    }
}
