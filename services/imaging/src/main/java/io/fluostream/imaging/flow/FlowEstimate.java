package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * A flow field with how far to trust it, as {@link ConsistentFlow} makes it: the forward field
 * (frame t−1 → t on t−1's grid), the backward field (t → t−1 on t's grid) it was checked against,
 * a confidence plane and an outlier plane, all of the frames' height and width.
 *
 * <p>Confidence is in [0, 1]: 1 where the flow was measured on texture and the round trip
 * forward then backward returns to the start; towards 0 where it was filled in from far away,
 * where the round trip misses (occlusion, content that appears or leaves, noise that won) and
 * exactly 0 at outliers. Outliers are 1, inliers 0 (floats, so both planes travel as frame
 * planes).
 */
public final class FlowEstimate {

    private final FlowField forward;
    private final FlowField backward;
    private final Image confidence;
    private final Image outliers;

    /** Zero fields, zero confidence, no outliers, of the given shape. */
    public FlowEstimate(int height, int width) {
        this(new FlowField(height, width), new FlowField(height, width), new Image(1, height, width),
                new Image(1, height, width));
    }

    public FlowEstimate(FlowField forward, FlowField backward, Image confidence, Image outliers) {
        if (!forward.sameShape(backward)) {
            throw new IllegalArgumentException("forward " + forward + " and backward " + backward + " differ in shape");
        }
        requirePlane(confidence, forward, "confidence");
        requirePlane(outliers, forward, "outlier");
        this.forward = forward;
        this.backward = backward;
        this.confidence = confidence;
        this.outliers = outliers;
    }

    private static void requirePlane(Image plane, FlowField shape, String what) {
        if (plane.channels() != 1 || plane.height() != shape.height() || plane.width() != shape.width()) {
            throw new IllegalArgumentException(what + " plane must be 1x" + shape.height() + "x" + shape.width()
                    + ", got " + plane);
        }
    }

    public int height() {
        return forward.height();
    }

    public int width() {
        return forward.width();
    }

    /** The flow from frame t−1 to t on t−1's grid (no copy). */
    public FlowField field() {
        return forward;
    }

    /** The flow from frame t to t−1 on t's grid that the forward field was checked against (no copy). */
    public FlowField backward() {
        return backward;
    }

    /** Confidence 0–1 per pixel of the forward field's grid (no copy). */
    public Image confidence() {
        return confidence;
    }

    /** 1 where the normalised median test flagged the forward vector, else 0 (no copy). */
    public Image outliers() {
        return outliers;
    }

    /** The per-frame figures over the mask's pixels, with mean confidence and outlier fraction. */
    public FlowSummary summarize(SignalMask mask) {
        FlowSummary motion = forward.summarize(mask);
        return new FlowSummary(motion.meanSpeed(), motion.meanDivergence(), motion.meanVorticity(),
                mask.mean(confidence), mask.mean(outliers), motion.signalPixels());
    }

    @Override
    public String toString() {
        return "FlowEstimate[" + height() + "x" + width() + "]";
    }
}
