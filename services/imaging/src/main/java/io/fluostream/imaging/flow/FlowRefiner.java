package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * A second stage after the pyramidal estimate: given both frames and the estimates of both
 * directions, improves them in place. The learned flow estimator (a network trained on
 * forward-model simulations, in {@code fluostream-learning}) plugs in here, so that its output
 * goes through the same forward–backward check and outlier test as the variational one.
 */
public interface FlowRefiner {

    /**
     * Refines {@code forward} (previous → next, on previous's grid) and {@code backward} (next →
     * previous, on next's grid) in place. Frames are single-channel, offset-free, one shape.
     */
    void refine(Image previous, Image next, FlowField forward, FlowField backward);

    /** What refined the flow (model name and version), for provenance. */
    String name();
}
