package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Dense flow with a confidence plane: the forward flow (frame t−1 → t) and the backward flow
 * (t → t−1) from two {@link PyramidalFlow}s, checked against each other, plus outlier flags from
 * the {@link NormalisedMedianTest}. Produces a {@link FlowEstimate}.
 *
 * <p>Confidence at pixel p of frame t−1 is {@code support(p) / (1 + e²/2τ²)}, 0 at outliers and
 * where {@code p + f(p)} leaves the frame, with
 * <ul>
 *   <li>{@code support} the forward estimator's texture support (see
 *       {@link PyramidalFlow#textureSupport}): how much of the flow there was measured on texture
 *       rather than filled in from neighbours;</li>
 *   <li>{@code e = |f(p) + b(p + f(p))|} the forward–backward round-trip error (b sampled
 *       bilinearly): where content is occluded, appears or leaves, or noise won, the two
 *       directions disagree;</li>
 *   <li>{@code τ² = τ₀² + 0.01·(|f|² + |b|²)}: a floor τ₀ for sub-pixel noise plus 10% of the
 *       motion, as in Sundaram, Brox &amp; Keutzer (2010)'s consistency check, made continuous.</li>
 * </ul>
 * The Cauchy form {@code 1/(1 + x)} falls like a Gaussian's {@code exp(−x)} near 0 but has no
 * exponential to evaluate at every pixel (that alone was a quarter of the check's cost).
 *
 * <p>Threads: with 2 or more, the two frames' pyramids are built side by side and the forward and
 * backward flows run side by side (the pair costs about one flow of wall time); the outlier test
 * and confidence split the rows. In a stream, a frame's pyramid is built once: when
 * {@code previous} equals the last call's {@code next}, its pyramid is reused.
 *
 * <p>Not thread-safe (one instance per stream thread); {@link #close()} stops its helper thread.
 */
public final class ConsistentFlow implements AutoCloseable {

    /**
     * @param flow          the estimator's settings (both directions)
     * @param consistencyPx τ₀: round-trip error at which confidence falls to 2/3 for small motion,
     *                      px (&gt; 0)
     * @param outliers      the outlier test's settings
     */
    public record Settings(PyramidalFlow.Settings flow, double consistencyPx, NormalisedMedianTest.Settings outliers) {

        public Settings {
            if (flow == null || outliers == null) {
                throw new IllegalArgumentException("flow and outlier settings are required");
            }
            if (!(consistencyPx > 0) || !Double.isFinite(consistencyPx)) {
                throw new IllegalArgumentException("consistency tolerance must be > 0 px, got " + consistencyPx);
            }
        }

        /** Low-light flow settings ({@link PyramidalFlow.Settings#lowLight()}), τ₀ = 0.5 px, PIV outlier test. */
        public static Settings defaults() {
            return new Settings(PyramidalFlow.Settings.lowLight(), 0.5, NormalisedMedianTest.Settings.defaults());
        }

        public Settings withFlow(PyramidalFlow.Settings v) {
            return new Settings(v, consistencyPx, outliers);
        }

        public Settings withConsistencyPx(double v) {
            return new Settings(flow, v, outliers);
        }

        public Settings withOutliers(NormalisedMedianTest.Settings v) {
            return new Settings(flow, consistencyPx, v);
        }
    }

    /** Share of |f|² + |b|² added to τ₀²: a 10% relative round-trip error is tolerated. */
    private static final float RELATIVE_TOLERANCE_SQ = 0.01f;

    private final Settings settings;
    private final int threads;
    private final PyramidalFlow forwardFlow;
    private final PyramidalFlow backwardFlow;
    private final NormalisedMedianTest medianTest;
    private final ExecutorService helper;
    private final FlowRefiner refiner;

    private int height;
    private int width;
    /** Pyramids of the previous frame and of the next frame. */
    private ImagePyramid previousPyramid;
    private ImagePyramid nextPyramid;
    /** The last call's next frame (its pyramid is {@code nextPyramid}); empty when none. */
    private float[] lastNext = new float[0];
    private boolean nextPyramidValid;
    private Image support;

    /** An estimator with these settings using up to {@code threads} threads (1 = the caller's only). */
    public ConsistentFlow(Settings settings, int threads) {
        this(settings, threads, null);
    }

    /**
     * As {@link #ConsistentFlow(Settings, int)}, with a second stage applied to both directions
     * before they are checked (null = none).
     */
    public ConsistentFlow(Settings settings, int threads, FlowRefiner refiner) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.settings = settings;
        this.threads = threads;
        this.forwardFlow = new PyramidalFlow(settings.flow());
        this.backwardFlow = new PyramidalFlow(settings.flow());
        this.medianTest = new NormalisedMedianTest(settings.outliers());
        this.refiner = refiner;
        this.helper = threads == 1 ? null : Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "flow-helper");
            t.setDaemon(true);
            return t;
        });
    }

    public Settings settings() {
        return settings;
    }

    public int threads() {
        return threads;
    }

    /** The second stage, if any. */
    public Optional<FlowRefiner> refiner() {
        return Optional.ofNullable(refiner);
    }

    /** Estimates flow, confidence and outliers into a new {@link FlowEstimate}. */
    public FlowEstimate estimate(Image previous, Image next) {
        FlowEstimate out = new FlowEstimate(previous.height(), previous.width());
        estimate(previous, next, out);
        return out;
    }

    /** Estimates into {@code out}, whose planes must have the frames' height and width. */
    public void estimate(Image previous, Image next, FlowEstimate out) {
        PyramidalFlow.requireFrames(previous, next);
        int h = previous.height();
        int w = previous.width();
        if (out.height() != h || out.width() != w) {
            throw new IllegalArgumentException("output " + out + " does not match frames " + previous);
        }
        if (h != height || w != width || previousPyramid == null) {
            previousPyramid = forwardFlow.newPyramid(h, w);
            nextPyramid = forwardFlow.newPyramid(h, w);
            support = new Image(1, h, w);
            nextPyramidValid = false;
            height = h;
            width = w;
        }
        // In a stream this frame was the last call's next frame: its pyramid is built already.
        boolean reuse = nextPyramidValid && Arrays.equals(previous.data(), lastNext);
        // Until this call completes, nextPyramid does not match lastNext.
        nextPyramidValid = false;
        if (reuse) {
            ImagePyramid t = previousPyramid;
            previousPyramid = nextPyramid;
            nextPyramid = t;
            forwardFlow.buildPyramid(next, nextPyramid);
        } else {
            both(() -> forwardFlow.buildPyramid(previous, previousPyramid),
                    () -> backwardFlow.buildPyramid(next, nextPyramid));
        }
        both(() -> {
            forwardFlow.estimate(previousPyramid, nextPyramid, out.field());
            forwardFlow.textureSupport(support);
        }, () -> backwardFlow.estimate(nextPyramid, previousPyramid, out.backward()));
        if (refiner != null) {
            refiner.refine(previous, next, out.field(), out.backward());
        }
        int half = h / 2;
        both(() -> check(out, 0, half), () -> check(out, half, h));
        if (lastNext.length != next.data().length) {
            lastNext = new float[next.data().length];
        }
        System.arraycopy(next.data(), 0, lastNext, 0, lastNext.length);
        nextPyramidValid = true;
    }

    /** Outlier flags, then confidence, for rows {@code [rowFrom, rowTo)}. */
    private void check(FlowEstimate out, int rowFrom, int rowTo) {
        medianTest.flag(out.field(), out.outliers(), rowFrom, rowTo);
        roundTripConfidence(out.field(), out.backward(), support, out.outliers(), settings.consistencyPx(), out.confidence(),
                rowFrom, rowTo);
    }

    /**
     * Confidence of each forward vector of rows {@code [rowFrom, rowTo)} from the forward–backward
     * round trip: {@code support / (1 + e²/2τ²)} with e the round-trip error (the backward field
     * sampled bilinearly where the vector lands) and τ² = consistencyPx² + 1% of the vectors'
     * squared lengths; zero for an outlier or a vector that leaves the frame. Shared by the device
     * path, which computes the fields on the device and this check on the host.
     */
    public static void roundTripConfidence(FlowField forward, FlowField backward, Image support, Image outliers,
                                           double consistencyPx, Image confidence, int rowFrom, int rowTo) {
        int h = forward.height();
        int w = forward.width();
        int n = h * w;
        float[] f = forward.asImage().data();
        float[] b = backward.asImage().data();
        float[] s = support.data();
        float[] flagged = outliers.data();
        float[] conf = confidence.data();
        float tau0Sq = (float) (consistencyPx * consistencyPx);
        float maxX = w - 1;
        float maxY = h - 1;
        for (int y = rowFrom; y < rowTo; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                float fu = f[i];
                float fv = f[n + i];
                float tx = x + fu;
                float ty = y + fv;
                if (flagged[i] != 0f || !(tx >= 0f && ty >= 0f && tx <= maxX && ty <= maxY)) {
                    // An outlier, or content that left the frame: nothing to check it against.
                    conf[i] = 0f;
                    continue;
                }
                // Bilinear sample of b at (tx, ty), inside the frame.
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
                // s / (1 + e²/2τ²) with one division
                conf[i] = s[i] * tauSq / (tauSq + 0.5f * (eu * eu + ev * ev));
            }
        }
    }

    private static float lerp(float a, float b, float t) {
        return a + t * (b - a);
    }

    /** Runs {@code a} on the helper thread and {@code b} on this one (both here with one thread). */
    private void both(Runnable a, Runnable b) {
        if (helper == null) {
            a.run();
            b.run();
            return;
        }
        Future<?> other = helper.submit(a);
        RuntimeException failure = null;
        try {
            b.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            other.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while estimating flow", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            RuntimeException r = cause instanceof RuntimeException re ? re
                    : new IllegalStateException("flow helper thread failed: " + cause, cause);
            if (failure != null) {
                failure.addSuppressed(r);
            } else {
                failure = r;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        if (helper != null) {
            helper.shutdownNow();
        }
    }
}
