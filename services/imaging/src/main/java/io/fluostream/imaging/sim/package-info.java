/**
 * The rig's forward model: a deterministic, ground-truthed fluorescence time-lapse for the rig
 * simulator, the demo report, tests and benchmarks.
 *
 * <p>{@link io.fluostream.imaging.sim.ForwardModel} turns {@link io.fluostream.imaging.sim.SimulationSettings}
 * and a stream index into {@link io.fluostream.imaging.sim.SimulatedFrame}s: raw camera frames
 * (uint16-range ADU with offset) with their truth — clean channels (what a perfect denoiser
 * outputs), fluorophore abundances (what a perfect unmixer outputs, same ADU scale), the global
 * drift (what a perfect stabiliser removes) and the forward flow in drift-free coordinates (what a
 * perfect flow estimator outputs). Frame t is a pure function of (settings, stream, t), so ground
 * truth can be regenerated instead of stored.
 *
 * <p>Pieces: {@code Scene} (cells, nuclei, filaments, puncta, rendered analytically through the
 * PSF), {@code DeformationField} (smooth tissue motion D(p)·s(t)), {@code DriftTrajectory} (stage
 * drift d(t)), {@link io.fluostream.imaging.sim.SpectralMixing} (emission spectra → channels) and
 * {@link io.fluostream.imaging.sim.CameraNoise} (Poisson–Gaussian camera).
 */
package io.fluostream.imaging.sim;
