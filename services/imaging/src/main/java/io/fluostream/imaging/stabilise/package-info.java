/**
 * Drift correction (stabilise stage): sub-pixel rigid registration of frames to a reference.
 *
 * <p>{@link io.fluostream.imaging.stabilise.PhaseCorrelator} estimates a frame's
 * {@link io.fluostream.imaging.stabilise.Shift} against a
 * {@link io.fluostream.imaging.stabilise.ReferenceSpectrum} (prepared once per reference);
 * {@link io.fluostream.imaging.stabilise.ShiftResampler} undoes it on every channel:
 *
 * <pre>{@code
 * PhaseCorrelator correlator = new PhaseCorrelator(height, width);   // one per thread
 * ShiftResampler resampler = new ShiftResampler();                   // one per thread
 * ReferenceSpectrum reference = correlator.prepare(referenceFrame);  // once per reference
 * Shift shift = correlator.estimate(reference, frame);               // channels summed
 * if (shift.confidence() >= 0.5) {
 *     resampler.resample(frame, shift.dx(), shift.dy(), corrected);  // out(p) = frame(p + d)
 * }
 * }</pre>
 *
 * <p>Sign convention: a shift d means the reference's content at p appears in the frame at p + d
 * (x = column, y = row, pixels).
 */
package io.fluostream.imaging.stabilise;
