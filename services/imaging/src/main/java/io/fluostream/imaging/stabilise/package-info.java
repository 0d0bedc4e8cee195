/**
 * Motion correction (stabilise stage): sub-pixel rigid and piecewise-rigid registration of frames
 * to a per-stream template, the same correction applied to every channel.
 *
 * <p>The whole algorithm is {@link io.fluostream.imaging.stabilise.Stabiliser} (one per thread
 * of callers, serving any number of streams), with each stream's state in a
 * {@link io.fluostream.imaging.stabilise.StreamTemplate} and the choices in
 * {@link io.fluostream.imaging.stabilise.StabiliseSettings}:
 *
 * <pre>{@code
 * try (Stabiliser stabiliser = new Stabiliser(2)) {                  // 2 threads share each frame
 *     StreamTemplate stream = new StreamTemplate();                  // one per stream
 *     for (Image frame : frames) {
 *         Registration r = stabiliser.register(stream, frame, sequence++, StabiliseSettings.DEFAULT);
 *         r.measured();        // rigid shift and confidence
 *         r.lowConfidence();   // flagged: not corrected with its own estimate
 *         r.corrected();       // every channel on the template's grid
 *     }
 * }
 * }</pre>
 *
 * <p>Its parts, each usable alone: {@link io.fluostream.imaging.stabilise.RegistrationPlane} (the
 * binned registration plane), {@link io.fluostream.imaging.stabilise.PhaseCorrelator} (rigid
 * {@link io.fluostream.imaging.stabilise.Shift} against a prepared
 * {@link io.fluostream.imaging.stabilise.ReferenceSpectrum}), {@code PatchCorrelator} (patch shifts
 * and the fitted {@link io.fluostream.imaging.stabilise.DisplacementField}),
 * {@link io.fluostream.imaging.stabilise.ShiftResampler} and
 * {@link io.fluostream.imaging.stabilise.FieldResampler} (cubic B-spline resampling of every
 * channel), {@link io.fluostream.imaging.stabilise.Workers} (the thread team).
 *
 * <p>Sign convention: a shift d means the reference's content at p appears in the frame at p + d
 * (x = column, y = row, pixels); resampling with the same d undoes it: out(p) = frame(p + d).
 */
package io.fluostream.imaging.stabilise;
