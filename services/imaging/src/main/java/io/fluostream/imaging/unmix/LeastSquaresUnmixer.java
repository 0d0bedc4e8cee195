package io.fluostream.imaging.unmix;

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

    @Override
    void constrainTile(Workspace ws, int length) {
        // Unconstrained: the least-squares solution stands.
    }
}
