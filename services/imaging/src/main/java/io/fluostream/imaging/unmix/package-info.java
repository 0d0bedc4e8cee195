/**
 * Spectral unmixing: detection channels to fluorophore abundances, {@code x(p) = M·a(p) + noise}.
 *
 * <ul>
 *   <li>{@link io.fluostream.imaging.unmix.ReferenceSpectra}: the validated {@code C × F} mixing
 *       matrix, with a compact text form ({@code "0.6,0.3;0.3,0.5;0.1,0.2"}, rows = channels) and a
 *       short fingerprint for provenance.
 *   <li>{@link io.fluostream.imaging.unmix.LeastSquaresUnmixer}: unconstrained per-pixel least
 *       squares through the precomputed pseudo-inverse (the baseline).
 *   <li>{@link io.fluostream.imaging.unmix.NnlsUnmixer}: exact non-negative least squares per
 *       pixel (least squares where it is already non-negative, an exact active-set solve where
 *       not). For 3 fluorophores in a JVM with {@code --add-modules jdk.incubator.vector}, both
 *       run on a branch-free Vector API path ({@code VectorUnmixing}).
 *   <li>{@link io.fluostream.imaging.unmix.PoissonUnmixer}: non-negative Poisson maximum
 *       likelihood per pixel, for photon-limited data.
 *   <li>{@link io.fluostream.imaging.unmix.SpectraEstimator}: blind estimation of the spectra from
 *       raw camera frames (NMF of intensities and edges, {@code SpectralSamples}), with
 *       {@link io.fluostream.imaging.unmix.RawTiles} to keep tiles of a stream's recent frames.
 *   <li>{@link io.fluostream.imaging.unmix.UnmixingResidual}: the residual figures for abundances
 *       made elsewhere (a learned model).
 * </ul>
 *
 * <p>The unmixers return a {@link io.fluostream.imaging.unmix.SpectralUnmixer.Result}: the
 * {@code F × H × W} abundances, the per-pixel RMS residual over channels (ADU) and the frame's
 * mean residual, absolute and relative to the mean signal — a forward-model consistency check
 * that grows when the reference spectra do not match the sample.
 */
package io.fluostream.imaging.unmix;
