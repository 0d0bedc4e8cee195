package io.fluostream.imaging.flow;

/**
 * The per-frame figures the flow stage reports, averaged over the pixels with signal.
 *
 * @param meanSpeed       mean of {@code sqrt(u² + v²)}, pixels per frame
 * @param meanDivergence  mean of {@code ∂u/∂x + ∂v/∂y}, 1/frame (positive = expansion)
 * @param meanVorticity   mean of {@code ∂v/∂x − ∂u/∂y}, 1/frame (2ω for a rigid rotation at ω rad/frame)
 * @param meanConfidence  mean of the confidence plane, 0–1; NaN when the field has none
 * @param outlierFraction fraction of the pixels flagged as outliers, 0–1; NaN when not tested
 * @param signalPixels    how many pixels the means are over; all figures are 0 when this is 0
 */
public record FlowSummary(double meanSpeed, double meanDivergence, double meanVorticity, double meanConfidence,
                          double outlierFraction, int signalPixels) {

    /** The motion figures alone, for a field without confidence or outlier flags. */
    public FlowSummary(double meanSpeed, double meanDivergence, double meanVorticity, int signalPixels) {
        this(meanSpeed, meanDivergence, meanVorticity, Double.NaN, Double.NaN, signalPixels);
    }
}
