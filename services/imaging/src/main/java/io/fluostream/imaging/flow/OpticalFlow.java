package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * Dense optical flow between two consecutive single-channel frames of one stream: the forward
 * flow from {@code previous} to {@code next} on {@code previous}'s grid (see {@link FlowField}).
 *
 * <p>An interface so the flow stage can take a CPU or a device implementation; both must give the
 * same answer on the same frames.
 */
public interface OpticalFlow {

    /** Estimates the flow into a new field. */
    default FlowField estimate(Image previous, Image next) {
        FlowField out = new FlowField(previous.height(), previous.width());
        estimate(previous, next, out);
        return out;
    }

    /** Estimates the flow into {@code out}, which must have the frames' height and width. */
    void estimate(Image previous, Image next, FlowField out);
}
