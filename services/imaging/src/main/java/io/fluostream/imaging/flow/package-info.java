/**
 * Dense optical flow between consecutive registered fluorescence frames, with how far to trust
 * it: the kernel of the flow stage.
 *
 * <ul>
 *   <li>{@link io.fluostream.imaging.flow.PyramidalFlow} — the estimator (pyramidal iterative
 *       Lucas–Kanade, Gaussian window, confidence-weighted smoothing, optionally computed at half
 *       resolution), behind {@link io.fluostream.imaging.flow.OpticalFlow};</li>
 *   <li>{@link io.fluostream.imaging.flow.ConsistentFlow} — forward and backward flow side by
 *       side, a confidence plane from their round trip and the texture, and outlier flags from
 *       the {@link io.fluostream.imaging.flow.NormalisedMedianTest}; the result is a
 *       {@link io.fluostream.imaging.flow.FlowEstimate}. A
 *       {@link io.fluostream.imaging.flow.FlowRefiner} (the learned estimator) can refine both
 *       directions before the check;</li>
 *   <li>{@link io.fluostream.imaging.flow.FlowField} — u and v planes (a 2×H×W image), speed,
 *       divergence, vorticity, the per-frame {@link io.fluostream.imaging.flow.FlowSummary} and the
 *       endpoint error used by tests and benchmarks;</li>
 *   <li>{@link io.fluostream.imaging.flow.SignalMask} — which pixels carry signal (the summary is
 *       averaged over them);</li>
 *   <li>{@link io.fluostream.imaging.flow.SimulatedFlowPair} — frame pairs from the forward model
 *       with their exact flow, for benchmarks and training;</li>
 *   <li>{@link io.fluostream.imaging.flow.Warp} — backward bilinear warping by a flow.</li>
 * </ul>
 *
 * <p>Convention (the project's): the flow {@code (u, v)} at pixel {@code p} of frame t−1 means the
 * content at {@code p} moves to {@code p + (u, v)} in frame t, in pixels per frame; x = column,
 * y = row (down).
 */
package io.fluostream.imaging.flow;
