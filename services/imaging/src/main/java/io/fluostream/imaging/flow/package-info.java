/**
 * Dense optical flow between consecutive registered fluorescence frames: the kernel of the flow
 * stage.
 *
 * <ul>
 *   <li>{@link io.fluostream.imaging.flow.PyramidalFlow} — the estimator (pyramidal iterative
 *       Lucas–Kanade, Gaussian window, confidence-weighted smoothing), behind
 *       {@link io.fluostream.imaging.flow.OpticalFlow};</li>
 *   <li>{@link io.fluostream.imaging.flow.FlowField} — u and v planes (a 2×H×W image), speed,
 *       divergence, vorticity, the per-frame {@link io.fluostream.imaging.flow.FlowSummary} and the
 *       endpoint error used by tests and demos;</li>
 *   <li>{@link io.fluostream.imaging.flow.SignalMask} — which pixels carry signal (the summary is
 *       averaged over them);</li>
 *   <li>{@link io.fluostream.imaging.flow.Warp} — backward bilinear warping by a flow.</li>
 * </ul>
 *
 * <p>Convention (the project's): the flow {@code (u, v)} at pixel {@code p} of frame t−1 means the
 * content at {@code p} moves to {@code p + (u, v)} in frame t, in pixels per frame; x = column,
 * y = row (down).
 */
package io.fluostream.imaging.flow;
