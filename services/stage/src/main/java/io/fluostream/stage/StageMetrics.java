package io.fluostream.stage;

import io.fluostream.frames.FrameRejected;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

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
 *   <li>{@code fluostream_consumer_lag_records}: records waiting in this replica's input partitions</li>
 *   <li>{@code fluostream_method_info{method}}: 1 for the algorithm or model version that made the
 *       last output (only the current one is exported)</li>
 *   <li>{@code fluostream_stage_paused}, {@code fluostream_streams_paused}, {@code fluostream_frames_parked}:
 *       pause state, and frames held for paused streams</li>
 *   <li>{@code fluostream_control_calls_total{call, result}}: control API calls this replica took</li>
 *   <li>{@code fluostream_stage_tap_observed_total}, {@code fluostream_stage_tap_skipped_total}: for a
 *       stage with a tap ({@link StageKernel#tap()}), frames of that topic the kernel looked at, and
 *       those it could not read</li>
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
    private final MeterRegistry registry;
    private final String stage;
    private volatile DoubleSupplier lag = () -> Double.NaN;
    private volatile ControlState control;
    private volatile String method = "";
    private Gauge methodGauge;
    private final Map<String, Counter> controlCalls = new ConcurrentHashMap<>();
    private volatile Counter tapObserved;
    private volatile Counter tapSkipped;

    public StageMetrics(MeterRegistry registry, String stage, List<StageKernel.QualitySignal> signals) {
        this.registry = registry;
        this.stage = stage;
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
        Gauge.builder("fluostream.consumer.lag", this, m -> m.lag.getAsDouble()).tag("stage", stage).baseUnit("records")
                .description("Records waiting in the input partitions this replica owns (NaN until known)").register(registry);
        Gauge.builder("fluostream.stage.paused", this, m -> m.control != null && m.control.stagePaused() ? 1 : 0).tag("stage", stage)
                .description("1 while the whole stage is paused").register(registry);
        Gauge.builder("fluostream.streams.paused", this, m -> m.control == null ? 0 : m.control.pausedStreams().size()).tag("stage", stage)
                .description("Streams paused on this stage").register(registry);
        Gauge.builder("fluostream.frames.parked", this, m -> m.control == null ? 0 : m.control.parkedTotal()).tag("stage", stage)
                .description("Frames of paused streams held by this replica, released in order on resume").register(registry);
    }

    /** Records waiting in this replica's input partitions; NaN while unknown. */
    public double lag() {
        return lag.getAsDouble();
    }

    /** Where the consumer-lag gauge reads from (the service sets it once Kafka Streams runs). */
    public void lagSource(DoubleSupplier source) {
        this.lag = source;
    }

    void controlState(ControlState state) {
        this.control = state;
    }

    /**
     * Counts a control call by its gRPC method name and status code; {@code calls} are registered
     * up front with result OK so dashboards find the series before the first call.
     */
    public void registerControlCalls(List<String> calls) {
        for (String c : calls) {
            controlCall(c, "OK", 0);
        }
    }

    /** Registers the tap counters (at 0), so dashboards find the series before the first tap frame. */
    public synchronized void registerTap() {
        if (tapSkipped == null) {
            tapObserved = Counter.builder("fluostream.stage.tap.observed").tag("stage", stage)
                    .description("Frames of the stage's tap topic decoded and shown to the stage").register(registry);
            tapSkipped = Counter.builder("fluostream.stage.tap.skipped").tag("stage", stage)
                    .description("Frames of the stage's tap topic that could not be read and were passed over"
                            + " (never dead-lettered: the tap only observes)").register(registry);
        }
    }

    void tapObserved() {
        if (tapObserved == null) {
            registerTap();
        }
        tapObserved.increment();
    }

    void tapSkipped() {
        if (tapSkipped == null) {
            registerTap();
        }
        tapSkipped.increment();
    }

    /** Tap frames that could not be read (0 for a stage without a tap). */
    public long tapFramesSkipped() {
        Counter c = tapSkipped;
        return c == null ? 0 : (long) c.count();
    }

    /** Tap frames shown to the stage (0 for a stage without a tap). */
    public long tapFramesObserved() {
        Counter c = tapObserved;
        return c == null ? 0 : (long) c.count();
    }

    public void controlCall(String call, String result) {
        controlCall(call, result, 1);
    }

    private void controlCall(String call, String result, int n) {
        controlCalls.computeIfAbsent(call + "|" + result, k -> Counter.builder("fluostream.control.calls")
                .tag("stage", stage).tag("call", call).tag("result", result)
                .description("Control API calls this replica took, by gRPC method and status code").register(registry))
                .increment(n);
    }

    /** The algorithm or model version that made the latest output; exported as an info gauge. */
    public synchronized void method(String m) {
        if (m == null || m.equals(method)) {
            return;
        }
        if (methodGauge != null) {
            // Only the current method is exported: an old model version's series ends when it is replaced.
            registry.remove(methodGauge);
        }
        method = m;
        methodGauge = Gauge.builder("fluostream.method.info", () -> 1).tag("stage", stage).tag("method", m)
                .description("1 for the algorithm or model version that made this stage's latest output").register(registry);
    }

    public String method() {
        return method;
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
