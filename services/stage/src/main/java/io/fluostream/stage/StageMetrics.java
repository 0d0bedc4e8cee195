package io.fluostream.stage;

import io.fluostream.frames.FrameRejected;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A stage's Prometheus metrics. Names carry base units ({@code _total}, {@code _seconds}), every
 * meter has a {@code stage} tag, and nothing is labelled per frame or per stream.
 *
 * <ul>
 *   <li>{@code fluostream_frames_in_total}, {@code fluostream_frames_out_total}</li>
 *   <li>{@code fluostream_frames_rejected_total{reason}}: frames sent to the dead-letter topic</li>
 *   <li>{@code fluostream_frames_dropped_total}: frames the camera skipped (sequence gaps)</li>
 *   <li>{@code fluostream_frame_processing_seconds}: time in this stage per frame (histogram)</li>
 *   <li>{@code fluostream_frame_latency_seconds}: acquisition time to this stage's output (histogram)</li>
 *   <li>{@code fluostream_<stage>_<signal>}: the stage's quality signals (summaries)</li>
 * </ul>
 */
public final class StageMetrics {

    private static final Duration[] LATENCY_BUCKETS = {
        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
        Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)};
    private static final Duration[] PROCESSING_BUCKETS = {
        Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500)};

    private final Counter in;
    private final Counter out;
    private final Counter dropped;
    private final Map<FrameRejected.Reason, Counter> rejected = new EnumMap<>(FrameRejected.Reason.class);
    private final Timer processing;
    private final Timer latency;
    private final Map<String, DistributionSummary> quality = new HashMap<>();

    public StageMetrics(MeterRegistry registry, String stage, List<StageKernel.QualitySignal> signals) {
        in = Counter.builder("fluostream.frames.in").tag("stage", stage)
                .description("Frames taken from the input topic").register(registry);
        out = Counter.builder("fluostream.frames.out").tag("stage", stage)
                .description("Frames written to the output topic").register(registry);
        dropped = Counter.builder("fluostream.frames.dropped").tag("stage", stage)
                .description("Frames missing from a stream (sequence gaps: dropped by the camera or rejected upstream)")
                .register(registry);
        // Every reason is registered up front so dashboards find the series before the first bad frame.
        for (FrameRejected.Reason r : FrameRejected.Reason.values()) {
            rejected.put(r, Counter.builder("fluostream.frames.rejected").tag("stage", stage).tag("reason", r.label())
                    .description("Frames sent to the dead-letter topic, by reason").register(registry));
        }
        processing = Timer.builder("fluostream.frame.processing").tag("stage", stage)
                .description("Time this stage spent on one frame (decode, kernel, encode)")
                .serviceLevelObjectives(PROCESSING_BUCKETS).register(registry);
        latency = Timer.builder("fluostream.frame.latency").tag("stage", stage)
                .description("From the frame's acquisition time to this stage's output")
                .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
        for (StageKernel.QualitySignal s : signals) {
            quality.put(s.figure(), DistributionSummary.builder("fluostream." + stage + "." + s.metricName())
                    .tag("stage", stage).description(s.description()).register(registry));
        }
    }

    public void frameIn() {
        in.increment();
    }

    public void frameOut(long acquiredAtUs, long processingNanos) {
        out.increment();
        processing.record(processingNanos, TimeUnit.NANOSECONDS);
        if (acquiredAtUs > 0) {
            long us = System.currentTimeMillis() * 1000 - acquiredAtUs;
            latency.record(Math.max(0, us), TimeUnit.MICROSECONDS);
        }
    }

    public void rejected(FrameRejected.Reason reason) {
        rejected.get(reason).increment();
    }

    public void dropped(long frames) {
        dropped.increment(frames);
    }

    public void figures(Map<String, Double> figures) {
        for (Map.Entry<String, DistributionSummary> e : quality.entrySet()) {
            Double v = figures.get(e.getKey());
            if (v != null && Double.isFinite(v)) {
                e.getValue().record(v);
            }
        }
    }

    public long framesIn() {
        return (long) in.count();
    }

    public long framesOut() {
        return (long) out.count();
    }

    public long framesRejected() {
        double s = 0;
        for (Counter c : rejected.values()) {
            s += c.count();
        }
        return (long) s;
    }
}
