package io.fluostream.flow;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.ConsistentFlow;
import io.fluostream.imaging.flow.FlowEstimate;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.FlowRefiner;
import io.fluostream.imaging.flow.FlowSummary;
import io.fluostream.imaging.flow.NormalisedMedianTest;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.learning.flow.LearnedFlowRefiner;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StreamMemory;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.List;
import java.util.Optional;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Flow stage: dense optical flow between consecutive registered frames of each stream
 * (frames.stabilised → frames.flow). Output frame t holds the forward flow from frame t−1 to t on
 * t−1's grid, as channels u and v in pixels per frame, with two auxiliary planes:
 * {@code flow.confidence} (0–1, from forward–backward consistency and texture) and
 * {@code flow.outliers} (1 where the normalised median test flags the vector). Flow runs on the
 * total intensity (sum of the label channels).
 *
 * <p>Methods ({@code method}): {@code variational} — pyramidal Lucas–Kanade with
 * confidence-weighted smoothing ({@link PyramidalFlow}); {@code learned} — the same estimate
 * refined by a network trained on forward-model simulations ({@link LearnedFlowRefiner}). Both
 * go through the same forward–backward check ({@link ConsistentFlow}). Optional temporal
 * smoothing ({@code temporal_smoothing} α &gt; 0) blends each field with the stream's previous
 * smoothed one: {@code s_t = α·s_{t−1} + (1 − α)·f_t}.
 *
 * <p>The first frame of a stream has no predecessor: it gets a zero field, zero confidence and
 * the figure {@code flow.first_frame = 1}; so does a frame whose size differs from the previous.
 *
 * <p>Stateful: the previous frame's intensity (and the smoothed field) are kept per stream in
 * the stage's stream memory. Called from one stream thread, so the estimator's scratch buffers
 * are reused safely.
 */
@ApplicationScoped
public class FlowKernel implements StageKernel {

    static final String PREVIOUS = "previous";
    static final String SMOOTHED = "smoothed";
    static final String VARIATIONAL = "variational";
    static final String LEARNED = "learned";
    static final List<String> PLANES = List.of("confidence", "outliers");

    private final LearnedFlowModel model = new LearnedFlowModel();
    private ConsistentFlow flow;
    private String flowMethod;

    @Override
    public String stage() {
        return "flow";
    }

    @Override
    public Topic input() {
        return Topic.STABILISED;
    }

    @Override
    public Topic output() {
        return Topic.FLOW;
    }

    @Override
    public boolean stateful() {
        return true;
    }

    @Override
    public List<Parameter> parameters() {
        PyramidalFlow.Settings d = PyramidalFlow.Settings.lowLight();
        ConsistentFlow.Settings c = ConsistentFlow.Settings.defaults();
        NormalisedMedianTest.Settings o = c.outliers();
        // Low-light defaults: a 16 px window at half resolution (the estimator's low-light preset;
        // measured with ./fluostream bench flow on raw 5–100 e⁻ streams it halves the error of
        // 3/3 px windows at 20 e⁻ and costs a fifth of 10/16 px at full resolution), with 16 px
        // smoothing instead of the preset's 8: the stage sees denoised frames, whose residual noise
        // is spatially correlated (on the demo's 20 e⁻ chain: 0.146 px endpoint error vs 0.186).
        return List.of(
                Parameter.choice("method", List.of(VARIATIONAL, LEARNED), VARIATIONAL,
                        "variational: pyramidal Lucas-Kanade; learned: the same refined by a network trained on simulations"),
                Parameter.integer("levels", 1, 8, d.levels(),
                        "pyramid levels; each doubles the largest displacement tracked (about 2^levels px)"),
                Parameter.number("window_sigma", 1, 40, d.windowSigma(), "px",
                        "Gaussian window of the local fit; larger is smoother and more robust to noise"),
                Parameter.integer("iterations", 1, 10, d.iterations(), "warp-and-refine steps per pyramid level"),
                Parameter.number("smoothing_sigma", 0, 40, 16, "px",
                        "confidence-weighted smoothing of the field after each step"),
                Parameter.integer("finest_level", 0, 3, d.finestLevel(),
                        "finest pyramid level computed (0 = full resolution, 1 = half: smooth flow loses nothing, 4x faster)"),
                Parameter.number("consistency_px", 0.05, 10, c.consistencyPx(), "px",
                        "forward-backward round-trip error at which confidence falls to 2/3"),
                Parameter.integer("outlier_spacing_px", 1, 64, o.spacingPx(),
                        "distance of the neighbours in the normalised median test (about the window)"),
                Parameter.number("outlier_threshold", 0.5, 20, o.threshold(), "",
                        "normalised residual above which a vector is an outlier (2 in PIV practice)"),
                Parameter.number("temporal_smoothing", 0, 0.95, 0, "",
                        "alpha of exponential smoothing of the field across frames (0 = off)"),
                Parameter.integer("threads", 1, 16, 2,
                        "threads per stream thread: forward and backward flow run side by side"));
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(
                new QualitySignal("mean_speed_px", "mean_speed_px", "Mean flow speed over pixels with signal, px/frame"),
                new QualitySignal("mean_confidence", "mean_confidence", "Mean flow confidence (0-1) over pixels with signal"),
                new QualitySignal("outlier_fraction", "outlier_fraction", "Fraction of pixels with signal whose flow is an outlier"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        Image intensity = Images.sumChannels(in.pixels());
        StreamMemory memory = in.memory();
        Optional<StreamMemory.Remembered> previous = memory.image(PREVIOUS);
        memory.remember(PREVIOUS, in.sequence(), intensity);

        int h = intensity.height();
        int w = intensity.width();
        boolean usable = previous.isPresent() && previous.get().image().sameShape(intensity);
        if (!usable) {
            memory.forget(SMOOTHED);
            String why = previous.isEmpty() ? "first frame of the stream" : "frame size changed";
            return StageOutput.of(new Image(2, h, w))
                    .channelNames(List.of("u", "v"))
                    .plane("confidence", new Image(1, h, w))
                    .plane("outliers", new Image(1, h, w))
                    .figure("first_frame", 1)
                    .figure("mean_speed_px", 0)
                    .figure("mean_confidence", 0)
                    .figure("outlier_fraction", 0)
                    .method(methodName(in.parameters()))
                    .note(why + ": zero flow, zero confidence");
        }
        Image before = previous.get().image();
        String fallback = null;
        ConsistentFlow estimator = estimator(in.parameters());
        if (LEARNED.equals(in.parameters().text("method")) && estimator.refiner().isEmpty()) {
            fallback = "learned model unavailable (" + model.failure() + "): variational flow";
        }
        FlowEstimate estimate = estimator.estimate(before, intensity);
        FlowField field = estimate.field();
        double alpha = in.parameters().number("temporal_smoothing");
        if (alpha > 0) {
            field = smoothOverTime(memory, previous.get().sequence(), in.sequence(), field, alpha);
        } else {
            memory.forget(SMOOTHED);
        }
        FlowSummary summary = new FlowEstimate(field, estimate.backward(), estimate.confidence(), estimate.outliers())
                .summarize(SignalMask.fromIntensity(before));
        StageOutput out = StageOutput.of(field.asImage())
                .channelNames(List.of("u", "v"))
                .plane("confidence", estimate.confidence())
                .plane("outliers", estimate.outliers())
                .figure("from_sequence", previous.get().sequence())
                .figure("mean_speed_px", summary.meanSpeed())
                .figure("mean_divergence", summary.meanDivergence())
                .figure("mean_vorticity", summary.meanVorticity())
                .figure("mean_confidence", summary.meanConfidence())
                .figure("outlier_fraction", summary.outlierFraction())
                .method(fallback == null ? flowMethod : "pyramidal-lk+fb");
        if (fallback != null) {
            out.note(fallback);
        }
        return out;
    }

    /**
     * {@code s_t = α·s_{t−1} + (1 − α)·f_t} when the stream's smoothed field is the previous
     * frame's output (no gap, same size); otherwise the field starts the average afresh. The
     * previous field sits on frame t−2's grid: for smooth tissue flow of a few px the shift is
     * ignored.
     */
    private static FlowField smoothOverTime(StreamMemory memory, long previousSequence, long sequence, FlowField field,
                                            double alpha) {
        Optional<StreamMemory.Remembered> last = memory.image(SMOOTHED);
        FlowField smoothed = new FlowField(field.asImage().copy());
        if (last.isPresent() && last.get().sequence() == previousSequence
                && last.get().image().sameShape(field.asImage())) {
            float a = (float) alpha;
            float[] s = smoothed.asImage().data();
            float[] p = last.get().image().data();
            for (int i = 0; i < s.length; i++) {
                s[i] = a * p[i] + (1 - a) * s[i];
            }
        }
        memory.remember(SMOOTHED, sequence, smoothed.asImage());
        return smoothed;
    }

    private String methodName(ParameterValues p) {
        return LEARNED.equals(p.text("method")) ? "learned" : "pyramidal-lk+fb";
    }

    private ConsistentFlow estimator(ParameterValues p) {
        PyramidalFlow.Settings pyramid = PyramidalFlow.Settings.lowLight()
                .withLevels(p.integer("levels"))
                .withWindowSigma(p.number("window_sigma"))
                .withIterations(p.integer("iterations"))
                .withSmoothingSigma(p.number("smoothing_sigma"))
                .withFinestLevel(p.integer("finest_level"));
        ConsistentFlow.Settings wanted = ConsistentFlow.Settings.defaults()
                .withFlow(pyramid)
                .withConsistencyPx(p.number("consistency_px"))
                .withOutliers(ConsistentFlow.Settings.defaults().outliers()
                        .withSpacingPx(p.integer("outlier_spacing_px"))
                        .withThreshold(p.number("outlier_threshold")));
        int threads = p.integer("threads");
        FlowRefiner refiner = LEARNED.equals(p.text("method")) ? model.get().orElse(null) : null;
        if (flow == null || !flow.settings().equals(wanted) || flow.threads() != threads
                || flow.refiner().orElse(null) != refiner) {
            if (flow != null) {
                flow.close();
            }
            flow = new ConsistentFlow(wanted, threads, refiner);
            flowMethod = refiner == null ? "pyramidal-lk+fb" : refiner.name();
        }
        return flow;
    }

    /**
     * Loads the learned model when the service starts with {@code fluostream.flow.method=learned},
     * so the first frame does not wait for it (and a missing engine shows in the log at once).
     */
    void onStart(@Observes StartupEvent event) {
        boolean learned = ConfigProvider.getConfig().getOptionalValue("fluostream.flow.method", String.class)
                .map(LEARNED::equals).orElse(false);
        if (learned) {
            model.get();
        }
    }

    @PreDestroy
    void close() {
        if (flow != null) {
            flow.close();
        }
        model.close();
    }
}
