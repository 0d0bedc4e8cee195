/**
 * The denoise stage's classical kernel: noise-aware denoising of raw fluorescence camera frames,
 * used until a learned model is ready.
 *
 * <ul>
 *   <li>{@link io.fluostream.imaging.denoise.ClassicalDenoiser}: raw frame (ADU, offset included)
 *       → offset-free float ADU, per channel, plus the fitted noise models.</li>
 *   <li>{@link io.fluostream.imaging.denoise.NoiseEstimator}: the Poisson–Gaussian
 *       {@link io.fluostream.imaging.denoise.NoiseModel} of each channel from the frame itself.</li>
 *   <li>{@link io.fluostream.imaging.denoise.GeneralisedAnscombe}: variance stabilisation and its
 *       exact unbiased inverse.</li>
 *   <li>{@link io.fluostream.imaging.denoise.WaveletDenoiser}: the Gaussian denoiser used in the
 *       stabilised domain.</li>
 * </ul>
 *
 * <p>Pure Java, no dependencies beyond the JDK. Kernel objects own scratch buffers and are not
 * thread-safe; {@code NoiseModel} and {@code GeneralisedAnscombe} are immutable.
 */
package io.fluostream.imaging.denoise;
