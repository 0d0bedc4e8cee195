package io.fluostream.learning.device;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.ConsistentFlow;
import io.fluostream.imaging.flow.FlowEstimate;
import io.fluostream.imaging.flow.FlowRefiner;
import io.fluostream.imaging.flow.NormalisedMedianTest;
import java.util.Optional;

/**
 * The flow stage's estimate with the forward and backward flows on the device: the device twin of
 * {@link ConsistentFlow}. Both directions and the texture support come from one
 * {@link DeviceFlow#estimatePair} (one upload, one batched estimate, one download); the outlier
 * flags ({@link NormalisedMedianTest}) and the confidence — a few operations per pixel — are
 * computed on the host, with the formula of {@link ConsistentFlow}: {@code support / (1 + e²/2τ²)},
 * {@code e} the forward–backward round-trip error, {@code τ² = τ₀² + 0.01·(|f|² + |b|²)}, 0 at
 * outliers and where {@code p + f(p)} leaves the frame.
 *
 * <p>A {@link FlowRefiner} (the learned flow's second stage), when given, refines both directions
 * before the check, as in {@link ConsistentFlow}; it runs wherever its own model runs.
 *
 * <p>Not thread-safe; {@link #close()} frees the device memory (not the refiner's).
 */
public final class DeviceConsistentFlow implements AutoCloseable {

    /** Share of |f|² + |b|² added to τ₀², as {@link ConsistentFlow}. */

    private final ConsistentFlow.Settings settings;
    private final DeviceFlow flow;
    private final NormalisedMedianTest medianTest;
    private final FlowRefiner refiner;

    public DeviceConsistentFlow(ConsistentFlow.Settings settings, Device device) {
        this(settings, device, null);
    }

    /** As {@link #DeviceConsistentFlow(ConsistentFlow.Settings, Device)}, with a second stage (null = none). */
    public DeviceConsistentFlow(ConsistentFlow.Settings settings, Device device, FlowRefiner refiner) {
        this.settings = settings;
        this.flow = new DeviceFlow(settings.flow(), device);
        this.medianTest = new NormalisedMedianTest(settings.outliers());
        this.refiner = refiner;
    }

    /** The second stage, if any. */
    public Optional<FlowRefiner> refiner() {
        return Optional.ofNullable(refiner);
    }

    public ConsistentFlow.Settings settings() {
        return settings;
    }

    public Device device() {
        return flow.device();
    }

    /** Flow, backward flow, confidence and outliers of the pair, as {@link ConsistentFlow#estimate}. */
    public FlowEstimate estimate(Image previous, Image next) {
        DeviceFlow.Pair pair = flow.estimatePair(previous, next);
        if (refiner != null) {
            refiner.refine(previous, next, pair.forward(), pair.backward());
        }
        int h = previous.height();
        int w = previous.width();
        Image outliers = new Image(1, h, w);
        Image confidence = new Image(1, h, w);
        medianTest.flag(pair.forward(), outliers, 0, h);
        ConsistentFlow.roundTripConfidence(pair.forward(), pair.backward(), pair.support(), outliers, settings.consistencyPx(),
                confidence, 0, h);
        return new FlowEstimate(pair.forward(), pair.backward(), confidence, outliers);
    }

    /** Arrays held between frames (for leak checks). */
    int heldArrays() {
        return flow.heldArrays();
    }

    @Override
    public void close() {
        flow.close();
    }
}
