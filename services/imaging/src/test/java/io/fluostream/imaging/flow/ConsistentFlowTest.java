package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import org.junit.jupiter.api.Test;

/**
 * {@link ConsistentFlow}'s confidence: high where the flow is measured on texture and the round
 * trip closes, low where content is occluded or there is no texture, 0 where content leaves.
 * Scenes are {@link FlowScenes} (exact flow); the estimator runs at its clean-texture defaults.
 */
class ConsistentFlowTest {

    private static final int SIZE = 128;
    private static final ConsistentFlow.Settings CLEAN = ConsistentFlow.Settings.defaults()
            .withFlow(PyramidalFlow.Settings.defaults());
    private static final FlowScenes.Blobs TEXTURE = FlowScenes.randomBlobs(7, SIZE, SIZE, 40);

    private static double mean(Image plane, SignalMask mask) {
        return mask.mean(plane);
    }

    /** Pixels within the square of side 2r+1 about (cy, cx), inside the frame. */
    private static SignalMask square(int cy, int cx, int r) {
        Image keep = new Image(1, SIZE, SIZE);
        for (int y = Math.max(cy - r, 0); y <= Math.min(cy + r, SIZE - 1); y++) {
            for (int x = Math.max(cx - r, 0); x <= Math.min(cx + r, SIZE - 1); x++) {
                keep.set(0, y, x, 1f);
            }
        }
        return SignalMask.fromIntensity(keep, 0.5, 0);
    }

    @Test
    void consistentFlowOnTextureIsTrustedAndIsThePyramidalEstimate() {
        FlowScenes.Scene s = FlowScenes.render(TEXTURE, FlowScenes.vortex(2, 25, 64, 64), SIZE, SIZE);
        try (ConsistentFlow flow = new ConsistentFlow(CLEAN, 1)) {
            FlowEstimate e = flow.estimate(s.previous(), s.next());
            FlowField alone = new PyramidalFlow(CLEAN.flow()).estimate(s.previous(), s.next());
            assertArrayEquals(alone.asImage().data(), e.field().asImage().data(), 0f);
            SignalMask interior = SignalMask.interior(SIZE, SIZE, 12);
            double confidence = mean(e.confidence(), interior);
            // measured 0.966
            assertTrue(confidence > 0.9, "mean confidence " + confidence);
            assertEquals(0, mean(e.outliers(), interior), 0);
            FlowSummary summary = e.summarize(interior);
            assertEquals(confidence, summary.meanConfidence(), 1e-9);
            assertEquals(0, summary.outlierFraction(), 0);
        }
    }

    @Test
    void anOccludedPatchLosesConfidence() {
        // The texture moves 1.5 px; in the next frame a 24x24 patch is covered by new content.
        FlowScenes.Scene s = FlowScenes.render(TEXTURE, FlowScenes.translation(1.5, 0.5), SIZE, SIZE);
        FlowScenes.Blobs cover = FlowScenes.randomBlobs(99, 24, 24, 20);
        Image occluder = FlowScenes.render(cover, FlowScenes.translation(0, 0), 24, 24).previous();
        Image next = s.next().copy();
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 24; x++) {
                next.set(0, 52 + y, 52 + x, 2 * occluder.get(0, y, x));
            }
        }
        try (ConsistentFlow flow = new ConsistentFlow(CLEAN, 1)) {
            FlowEstimate e = flow.estimate(s.previous(), next);
            double occluded = mean(e.confidence(), square(64, 64, 8));
            SignalMask far = SignalMask.interior(SIZE, SIZE, 12).and(inverse(square(64, 64, 30)));
            double clear = mean(e.confidence(), far);
            // measured 0.005 in the patch's core and 0.964 away from it
            assertTrue(occluded < 0.1 && clear > 0.9, "occluded " + occluded + ", clear " + clear);
        }
    }

    @Test
    void texturelessRegionsAreNotTrusted() {
        FlowScenes.Blobs patch = FlowScenes.randomBlobs(5, 48, 48, 30);
        FlowScenes.Scene s = FlowScenes.render(keepInside(patch, 4, 44), FlowScenes.translation(1.2, 0.6), SIZE, SIZE);
        try (ConsistentFlow flow = new ConsistentFlow(CLEAN, 1)) {
            FlowEstimate e = flow.estimate(s.previous(), s.next());
            double textured = mean(e.confidence(), square(24, 24, 12));
            double empty = mean(e.confidence(), square(112, 112, 15));
            // measured 0.996 on the texture and 0 far from it
            assertTrue(textured > 0.9, "textured " + textured);
            assertTrue(empty < 0.02, "empty " + empty);
        }
    }

    @Test
    void contentLeavingTheFrameHasNoConfidence() {
        FlowScenes.Scene s = FlowScenes.render(TEXTURE, FlowScenes.translation(3, 0), SIZE, SIZE);
        try (ConsistentFlow flow = new ConsistentFlow(CLEAN, 1)) {
            FlowEstimate e = flow.estimate(s.previous(), s.next());
            for (int y = 0; y < SIZE; y++) {
                for (int x = SIZE - 2; x < SIZE; x++) {
                    assertEquals(0f, e.confidence().get(0, y, x), 0f, "row " + y + ", column " + x);
                }
            }
        }
    }

    @Test
    void threadsAndPyramidReuseDoNotChangeTheAnswer() {
        FlowScenes.Scene a = FlowScenes.render(TEXTURE, FlowScenes.vortex(2, 25, 64, 64), SIZE, SIZE);
        FlowScenes.Scene b = FlowScenes.render(TEXTURE, FlowScenes.vortex(4, 25, 64, 64), SIZE, SIZE);
        Image f0 = a.previous();
        Image f1 = a.next();
        Image f2 = b.next();
        ConsistentFlow.Settings lowLight = ConsistentFlow.Settings.defaults();
        try (ConsistentFlow one = new ConsistentFlow(lowLight, 1);
             ConsistentFlow two = new ConsistentFlow(lowLight, 2);
             ConsistentFlow fresh = new ConsistentFlow(lowLight, 2)) {
            one.estimate(f0, f1);
            FlowEstimate x = one.estimate(f1.copy(), f2); // f1's pyramid is reused (equal pixels)
            two.estimate(f0, f1);
            FlowEstimate y = two.estimate(f1, f2);
            FlowEstimate z = fresh.estimate(f1, f2);
            for (FlowEstimate other : new FlowEstimate[] {y, z}) {
                assertArrayEquals(x.field().asImage().data(), other.field().asImage().data(), 0f);
                assertArrayEquals(x.backward().asImage().data(), other.backward().asImage().data(), 0f);
                assertArrayEquals(x.confidence().data(), other.confidence().data(), 0f);
                assertArrayEquals(x.outliers().data(), other.outliers().data(), 0f);
            }
        }
    }

    @Test
    void mismatchedFramesAreRejectedWithAMessage() {
        try (ConsistentFlow flow = new ConsistentFlow(CLEAN, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> flow.estimate(new Image(1, 32, 32), new Image(1, 32, 30)));
            assertTrue(e.getMessage().contains("shape"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new ConsistentFlow(CLEAN, 0));
    }

    private static SignalMask inverse(SignalMask m) {
        Image keep = new Image(1, m.height(), m.width());
        for (int i = 0; i < m.height() * m.width(); i++) {
            keep.data()[i] = m.contains(i) ? 0f : 1f;
        }
        return SignalMask.fromIntensity(keep, 0.5, 0);
    }

    /** The blobs whose centres lie in [lo, hi) both ways. */
    private static FlowScenes.Blobs keepInside(FlowScenes.Blobs b, double lo, double hi) {
        int n = 0;
        for (int k = 0; k < b.x().length; k++) {
            if (b.x()[k] >= lo && b.x()[k] < hi && b.y()[k] >= lo && b.y()[k] < hi) {
                n++;
            }
        }
        double[] x = new double[n];
        double[] y = new double[n];
        double[] s = new double[n];
        double[] a = new double[n];
        int j = 0;
        for (int k = 0; k < b.x().length; k++) {
            if (b.x()[k] >= lo && b.x()[k] < hi && b.y()[k] >= lo && b.y()[k] < hi) {
                x[j] = b.x()[k];
                y[j] = b.y()[k];
                s[j] = b.sigma()[k];
                a[j] = b.amplitude()[k];
                j++;
            }
        }
        return new FlowScenes.Blobs(x, y, s, a);
    }
}
