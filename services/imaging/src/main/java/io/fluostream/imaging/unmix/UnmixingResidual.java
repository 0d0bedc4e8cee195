package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;

/**
 * The forward-model consistency check of an unmixing made elsewhere (e.g. by a learned model):
 * per pixel the RMS over channels of {@code x − M a}, and the frame's mean residual, absolute and
 * relative to the mean RMS signal — the same figures the {@link SpectralUnmixer}s report.
 */
public final class UnmixingResidual {

    private UnmixingResidual() {
    }

    /**
     * @param x observed channels, {@code C × H × W} (offset-free ADU)
     * @param a abundances, {@code F × H × W}
     * @throws IllegalArgumentException if the shapes do not fit the spectra or each other, or a
     *     sample is not finite
     */
    public static SpectralUnmixer.Result of(ReferenceSpectra spectra, Image x, Image a) {
        int nc = spectra.channels();
        int nf = spectra.fluorophores();
        if (x.channels() != nc || a.channels() != nf || x.height() != a.height() || x.width() != a.width()) {
            throw new IllegalArgumentException("residual of " + a + " against " + x + " needs " + nc + " channels and "
                    + nf + " abundance planes of one size");
        }
        int n = x.planeSize();
        Image residual = new Image(1, x.height(), x.width());
        float[] xs = x.data();
        float[] as = a.data();
        float[] r = residual.data();
        double[] m = spectra.values();
        double sumResidual = 0;
        double sumSignal = 0;
        for (int p = 0; p < n; p++) {
            double misfitSq = 0;
            double signalSq = 0;
            for (int c = 0; c < nc; c++) {
                double xc = xs[c * n + p];
                double model = 0;
                for (int f = 0; f < nf; f++) {
                    model += m[c * nf + f] * as[f * n + p];
                }
                misfitSq += (xc - model) * (xc - model);
                signalSq += xc * xc;
            }
            r[p] = (float) Math.sqrt(misfitSq / nc);
            sumResidual += r[p];
            sumSignal += Math.sqrt(signalSq / nc);
        }
        if (!Double.isFinite(sumResidual) || !Double.isFinite(sumSignal)) {
            throw new IllegalArgumentException(x + " or " + a + " contains NaN or infinite samples");
        }
        double meanResidual = sumResidual / n;
        double meanSignal = sumSignal / n;
        return new SpectralUnmixer.Result(a, residual, meanResidual, meanSignal > 0 ? meanResidual / meanSignal : 0);
    }
}
