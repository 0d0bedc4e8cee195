package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;

/**
 * Unconstrained linear unmixing: per pixel {@code a = (MᵀM)⁻¹Mᵀx}, the pseudo-inverse computed
 * once. The fastest unmixer and the baseline for {@link NnlsUnmixer}; abundances may come out
 * negative where noise (or a wrong spectrum) pushes the data outside the spectra's cone.
 */
public final class LeastSquaresUnmixer extends SpectralUnmixer {

    /** Single-threaded. */
    public LeastSquaresUnmixer(ReferenceSpectra spectra) {
        this(spectra, 1);
    }

    /** Splits each frame into {@code parallelism} bands of rows, one thread each. */
    public LeastSquaresUnmixer(ReferenceSpectra spectra, int parallelism) {
        this(spectra, parallelism, true);
    }

    /** {@code allowVector = false} keeps to the scalar tile path (to compare the two). */
    LeastSquaresUnmixer(ReferenceSpectra spectra, int parallelism, boolean allowVector) {
        super(spectra, parallelism, false, allowVector);
    }

    /**
     * Pixels with a negative coefficient in {@code abundances} (F × H × W): for a least-squares
     * solution, the pixels the exact non-negative fix has to visit.
     */
    public static int pixelsWithANegative(Image abundances) {
        int n = abundances.planeSize();
        float[] d = abundances.data();
        int count = 0;
        for (int p = 0; p < n; p++) {
            boolean negative = false;
            for (int f = 0; f < abundances.channels(); f++) {
                negative |= d[f * n + p] < 0;
            }
            count += negative ? 1 : 0;
        }
        return count;
    }

    @Override
    void constrainTile(Workspace ws, int length) {
        // Unconstrained: the least-squares solution stands.
    }
}
