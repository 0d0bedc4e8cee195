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
    private static final float RELATIVE_TOLERANCE_SQ = 0.01f;

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
        int n = h * w;
        float[] f = pair.forward().asImage().data();
        float[] b = pair.backward().asImage().data();
        float[] s = pair.support().data();
        float[] flagged = outliers.data();
        float[] conf = confidence.data();
        float tau0Sq = (float) (settings.consistencyPx() * settings.consistencyPx());
        float maxX = w - 1;
        float maxY = h - 1;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                float fu = f[i];
                float fv = f[n + i];
                float tx = x + fu;
                float ty = y + fv;
                if (flagged[i] != 0f || !(tx >= 0f && ty >= 0f && tx <= maxX && ty <= maxY)) {
                    conf[i] = 0f;
                    continue;
                }
                int x0 = Math.min((int) tx, w - 2 < 0 ? 0 : w - 2);
                int y0 = Math.min((int) ty, h - 2 < 0 ? 0 : h - 2);
                int x1 = Math.min(x0 + 1, w - 1);
                int y1 = Math.min(y0 + 1, h - 1);
                float ax = tx - x0;
                float ay = ty - y0;
                int q00 = y0 * w + x0;
                int q01 = y0 * w + x1;
                int q10 = y1 * w + x0;
                int q11 = y1 * w + x1;
                float bu = lerp(lerp(b[q00], b[q01], ax), lerp(b[q10], b[q11], ax), ay);
                float bv = lerp(lerp(b[n + q00], b[n + q01], ax), lerp(b[n + q10], b[n + q11], ax), ay);
                float eu = fu + bu;
                float ev = fv + bv;
                float tauSq = tau0Sq + RELATIVE_TOLERANCE_SQ * (fu * fu + fv * fv + bu * bu + bv * bv);
                conf[i] = s[i] * tauSq / (tauSq + 0.5f * (eu * eu + ev * ev));
            }
        }
        return new FlowEstimate(pair.forward(), pair.backward(), confidence, outliers);
    }

    private static float lerp(float a, float b, float t) {
        return a + t * (b - a);
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
