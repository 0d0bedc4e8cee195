package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Known-answer tests for {@link PyramidalFlow}: frames rendered from an analytic blob texture
 * moved by a known smooth motion ({@link FlowScenes}), so the true flow is exact.
 *
 * <p>Errors are mean endpoint errors (EPE, px) over the frame less a 12 px border (content enters
 * or leaves there). Each bound is about three times what the estimator measured when the test was
 * written (noted beside it), so a real regression fails while float rounding does not.
 */
class PyramidalFlowTest {

    private static final int SIZE = 128;
    private static final int MARGIN = 12;
    private static final SignalMask INTERIOR = SignalMask.interior(SIZE, SIZE, MARGIN);
    private static final FlowScenes.Blobs TEXTURE = FlowScenes.randomBlobs(7, SIZE, SIZE, 40);

    private static FlowScenes.Scene scene(FlowScenes.Motion motion) {
        return FlowScenes.render(TEXTURE, motion, SIZE, SIZE);
    }

    private static double epe(FlowScenes.Scene s) {
        return FlowField.endpointError(new PyramidalFlow().estimate(s.previous(), s.next()), s.truth(), INTERIOR);
    }

    @Test
    void subPixelTranslationIsRecoveredToAFewThousandthsOfAPixel() {
        FlowScenes.Scene s = scene(FlowScenes.translation(0.7, -0.3));
        // measured 0.0055 px
        assertTrue(epe(s) < 0.02, "EPE " + epe(s));
    }

    @Test
    void aTenthOfAPixelIsMeasuredNotRoundedAway() {
        FlowScenes.Scene s = scene(FlowScenes.translation(0.1, -0.05));
        FlowField f = new PyramidalFlow().estimate(s.previous(), s.next());
        double meanU = mean(f.u(), INTERIOR);
        double meanV = mean(f.v(), INTERIOR);
        // measured EPE 0.0034 px; the mean must be the motion, not 0
        assertEquals(0.1, meanU, 0.01);
        assertEquals(-0.05, meanV, 0.01);
        assertTrue(FlowField.endpointError(f, s.truth(), INTERIOR) < 0.012);
    }

    @Test
    void rigidRotationGivesItsFlowAndVorticityTwiceTheAngularSpeed() {
        double omega = Math.toRadians(1);
        FlowScenes.Scene s = scene(FlowScenes.rotation(omega, 64, 64));
        FlowField f = new PyramidalFlow().estimate(s.previous(), s.next());
        // measured EPE 0.0044 px (truth up to 1.1 px at the corners)
        assertTrue(FlowField.endpointError(f, s.truth(), INTERIOR) < 0.015);
        // measured 0.03488 against 2ω = 0.03491 (0.1%); divergence −0.0003, as the truth's: a finite
        // rotation by ω moves points along chords, which shortens radii by 1 − cos ω
        assertEquals(2 * omega, f.meanVorticity(INTERIOR), 0.02 * 2 * omega);
        assertEquals(s.truth().meanDivergence(INTERIOR), f.meanDivergence(INTERIOR), 0.02 * 2 * omega);
    }

    @Test
    void smoothVortexOfTwoPixelsIsWithinFiveHundredths() {
        FlowScenes.Scene s = scene(FlowScenes.vortex(2, 25, 64, 64));
        // measured 0.024 px: the smoothing rounds the vortex's curved profile a little
        assertTrue(epe(s) < 0.07, "EPE " + epe(s));
    }

    @Test
    void smoothSourceHasPositiveDivergenceAndSmallError() {
        FlowScenes.Scene s = scene(FlowScenes.source(1.5, 25, 60, 66));
        FlowField f = new PyramidalFlow().estimate(s.previous(), s.next());
        // measured 0.021 px
        assertTrue(FlowField.endpointError(f, s.truth(), INTERIOR) < 0.06);
        SignalMask core = SignalMask.interior(SIZE, SIZE, 54); // 20×20 px around the source
        double truthDivergence = s.truth().meanDivergence(core);
        assertTrue(truthDivergence > 0.05, "test premise: the source expands, " + truthDivergence);
        // measured 0.176 against 0.184 (−5%: the smoothing flattens the peak of the bump a little)
        assertEquals(truthDivergence, f.meanDivergence(core), 0.1 * truthDivergence);
    }

    @Test
    void sixPixelTranslationNeedsAndUsesThePyramid() {
        FlowScenes.Scene s = scene(FlowScenes.translation(6, -3.5));
        // measured 0.0024 px with the default four levels
        assertTrue(epe(s) < 0.01, "EPE " + epe(s));
        FlowField single = new PyramidalFlow(PyramidalFlow.Settings.defaults().withLevels(1))
                .estimate(s.previous(), s.next());
        // without a pyramid Lucas–Kanade cannot see 7 px: measured 2.6 px
        assertTrue(FlowField.endpointError(single, s.truth(), INTERIOR) > 1.0);
    }

    @Test
    void tenPixelMotionWithAVortexOnTopIsRecovered() {
        FlowScenes.Motion vortex = FlowScenes.vortex(2, 25, 64, 64);
        FlowScenes.Scene s = scene((x, y, out) -> {
            vortex.displacement(x + 8.4, y - 6.3, out);
            out[0] -= 8.4;
            out[1] += 6.3;
        });
        // measured 0.028 px for speeds of 8.5–12.5 px
        assertTrue(epe(s) < 0.08, "EPE " + epe(s));
    }

    @Test
    void halfResolutionKeepsSmoothFlowToAFewHundredths() {
        FlowScenes.Scene s = scene(FlowScenes.vortex(2, 25, 64, 64));
        PyramidalFlow half = new PyramidalFlow(PyramidalFlow.Settings.defaults().withFinestLevel(1));
        double error = FlowField.endpointError(half.estimate(s.previous(), s.next()), s.truth(), INTERIOR);
        // measured 0.053 px (0.025 at full resolution): the blobs' finest detail is lost at half
        // resolution, which costs a little on clean texture and nothing at low light
        assertTrue(error < 0.12, "EPE " + error);
        assertEquals(1, half.finestLevelInUse());
    }

    @Test
    void lowLightPresetBeatsTheCleanTextureDefaultsOnASimulatedStream() {
        io.fluostream.imaging.sim.SimulationSettings settings = io.fluostream.imaging.sim.SimulationSettings.defaults()
                .withSize(SIZE, SIZE).withPhotonLevel(20).withMaxFlowPxPerFrame(3).withSeed(5);
        SimulatedFlowPair pair = SimulatedFlowPair.simulate(settings, 0, 1, SimulatedFlowPair.Input.RAW);
        SignalMask mask = pair.signalMask(MARGIN);
        PyramidalFlow lowLight = new PyramidalFlow(PyramidalFlow.Settings.lowLight());
        double low = FlowField.endpointError(lowLight.estimate(pair.previous(), pair.next()), pair.truth(), mask);
        double clean = FlowField.endpointError(new PyramidalFlow().estimate(pair.previous(), pair.next()), pair.truth(), mask);
        // measured 0.268 px against 0.483 px (zero field 0.696 px)
        assertTrue(low < 0.4 && low < 0.7 * clean, "low-light preset " + low + " px, defaults " + clean + " px");
        Image support = new Image(1, SIZE, SIZE);
        lowLight.textureSupport(support);
        // measured 0.985: the cells are textured throughout
        assertTrue(mask.mean(support) > 0.9, "texture support " + mask.mean(support));
    }

    @Test
    void lowLightPoissonNoiseStillGivesFarLessErrorThanNoFlow() {
        FlowScenes.Scene s = scene(FlowScenes.vortex(2, 25, 64, 64));
        Image a = FlowScenes.poisson(s.previous(), 20, 1);
        Image b = FlowScenes.poisson(s.next(), 20, 2);
        FlowField f = new PyramidalFlow().estimate(a, b);
        double error = FlowField.endpointError(f, s.truth(), INTERIOR);
        double zeroError = FlowField.endpointError(new FlowField(SIZE, SIZE), s.truth(), INTERIOR);
        // measured 0.34 px against 1.27 px for the zero field (ratio 0.27)
        assertTrue(error < 0.45 * zeroError, "EPE " + error + " vs zero field " + zeroError);
        assertTrue(Double.isFinite(error));
    }

    @Test
    void identicalFramesGiveExactlyZeroFlow() {
        Image a = scene(FlowScenes.translation(0, 0)).previous();
        FlowField f = new PyramidalFlow().estimate(a, a.copy());
        assertEquals(0, maxAbs(f), 1e-6);
    }

    @Test
    void twoNoisyExposuresOfAStillSceneGiveNearZeroFlow() {
        Image clean = scene(FlowScenes.translation(0, 0)).previous();
        FlowField f = new PyramidalFlow().estimate(FlowScenes.poisson(clean, 200, 3), FlowScenes.poisson(clean, 200, 4));
        // Only the noise floor at a 200-photon peak: over five noise seeds the mean speed measured
        // 0.10–0.12 px and the mean u, v (no bias, but spatially correlated noise) at most 0.037 px.
        assertTrue(f.meanSpeed(INTERIOR) < 0.2, "mean speed " + f.meanSpeed(INTERIOR));
        assertEquals(0, mean(f.u(), INTERIOR), 0.06);
        assertEquals(0, mean(f.v(), INTERIOR), 0.06);
    }

    @Test
    void flatFramesGiveZeroFlowAndNoNaN() {
        for (float level : new float[] {0f, 100f}) {
            Image a = constant(SIZE, SIZE, level);
            Image b = constant(SIZE, SIZE, level);
            FlowField f = new PyramidalFlow().estimate(a, b);
            assertEquals(0, maxAbs(f), 0, "flat at " + level);
        }
        // Different flat levels (a global brightness change) carry no motion either.
        FlowField f = new PyramidalFlow().estimate(constant(SIZE, SIZE, 10f), constant(SIZE, SIZE, 12f));
        assertEquals(0, maxAbs(f), 0);
    }

    @Test
    void flatBackgroundFarFromTextureReportsZeroWhileTheTextureMoves() {
        // Texture only in the top-left 48×48; the rest of the frame is empty.
        FlowScenes.Blobs patch = FlowScenes.randomBlobs(5, 48, 48, 30);
        FlowScenes.Blobs inside = keepInside(patch, 4, 44);
        FlowScenes.Scene s = FlowScenes.render(inside, FlowScenes.translation(1.2, 0.6), SIZE, SIZE);
        FlowField f = new PyramidalFlow().estimate(s.previous(), s.next());
        for (float value : f.asImage().data()) {
            assertTrue(Float.isFinite(value));
        }
        // Inside the patch the flow is measured: mean (1.2023, 0.5978) over 1338 px.
        SignalMask patchCore = SignalMask.fromIntensity(s.previous(), 0.2, 0).and(SignalMask.interior(SIZE, SIZE, 8));
        assertEquals(1.2, mean(f.u(), patchCore), 0.01);
        assertEquals(0.6, mean(f.v(), patchCore), 0.01);
        // Far from any texture (bottom-right quarter) there is no information: exactly 0.
        for (int y = 96; y < SIZE; y++) {
            for (int x = 96; x < SIZE; x++) {
                assertEquals(0f, f.u(y, x), 0f);
                assertEquals(0f, f.v(y, x), 0f);
            }
        }
    }

    @Test
    void aSingleSaturatingSpeckDoesNotBreakTheSolve() {
        // A hot pixel 10⁶ times the faint texture: its gradients must neither set λ for the whole
        // frame nor, where its local tensor is huge, let a rounded determinant go ≤ 0.
        FlowScenes.Scene s = scene(FlowScenes.translation(0.7, -0.3));
        Image a = s.previous().copy();
        Image b = s.next().copy();
        a.set(0, 64, 64, 1e6f);
        b.set(0, 64, 64, 1e6f);
        FlowField f = new PyramidalFlow().estimate(a, b);
        assertTrue(maxAbs(f) < 3, "max |flow| " + maxAbs(f)); // measured 0.84 px next to the speck
        // Away from the speck the texture's motion is still measured: 0.0076 px (with λ from the
        // plain mean gradient energy it was 0.76 px, the zero field's error: λ swamped the rest).
        double error = FlowField.endpointError(f, s.truth(), farFrom(64, 64, 20));
        assertTrue(error < 0.02, "EPE away from the speck " + error);
    }

    @Test
    void flowDoesNotDependOnIntensityScale() {
        FlowScenes.Scene s = scene(FlowScenes.vortex(2, 25, 64, 64));
        FlowField unit = new PyramidalFlow().estimate(s.previous(), s.next());
        FlowField bright = new PyramidalFlow().estimate(scaled(s.previous(), 1000f), scaled(s.next(), 1000f));
        // Float rounding only (measured 2e-7 px): λ scales with the intensity squared like A and b.
        assertTrue(FlowField.endpointError(unit, bright, SignalMask.all(SIZE, SIZE)) < 1e-4);
    }

    @Test
    void oneInstanceReusedAcrossShapesMatchesFreshInstances() {
        PyramidalFlow reused = new PyramidalFlow();
        FlowScenes.Scene big = scene(FlowScenes.translation(0.7, -0.3));
        FlowScenes.Scene small = FlowScenes.render(FlowScenes.randomBlobs(9, 64, 80, 40),
                FlowScenes.translation(-0.4, 1.1), 64, 80);
        FlowField first = reused.estimate(big.previous(), big.next());
        FlowField second = reused.estimate(small.previous(), small.next());
        FlowField out = new FlowField(SIZE, SIZE);
        reused.estimate(big.previous(), big.next(), out);
        assertEquals(0, FlowField.endpointError(first, out, SignalMask.all(SIZE, SIZE)), 0);
        FlowField fresh = new PyramidalFlow().estimate(small.previous(), small.next());
        assertEquals(0, FlowField.endpointError(second, fresh, SignalMask.all(64, 80)), 0);
    }

    @Test
    void tinyFramesUseFewerLevelsAndStayFinite() {
        int[][] shapes = {{1, 1}, {1, 7}, {5, 1}, {2, 2}, {9, 13}, {20, 40}};
        for (int[] shape : shapes) {
            FlowScenes.Scene s = FlowScenes.render(FlowScenes.randomBlobs(3, shape[0], shape[1], 10),
                    FlowScenes.translation(0.3, 0.2), shape[0], shape[1]);
            PyramidalFlow flow = new PyramidalFlow();
            FlowField f = flow.estimate(s.previous(), s.next());
            for (float value : f.asImage().data()) {
                assertTrue(Float.isFinite(value), shape[0] + "x" + shape[1]);
            }
            assertEquals(1, flow.levelsInUse(), "no level below 16 px");
        }
    }

    @Test
    void mismatchedShapesAreRejectedWithAMessage() {
        PyramidalFlow flow = new PyramidalFlow();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> flow.estimate(new Image(1, 32, 32), new Image(1, 32, 31)));
        assertTrue(e.getMessage().contains("shape"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> flow.estimate(new Image(1, 32, 32), new Image(1, 32, 32), new FlowField(16, 32)));
        assertTrue(e.getMessage().contains("output"), e.getMessage());
    }

    @Test
    void multiChannelAndNonFiniteFramesAreRejected() {
        PyramidalFlow flow = new PyramidalFlow();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> flow.estimate(new Image(2, 16, 16), new Image(2, 16, 16)));
        assertTrue(e.getMessage().contains("single-channel"), e.getMessage());
        Image bad = new Image(1, 16, 16);
        bad.set(0, 3, 5, Float.NaN);
        e = assertThrows(IllegalArgumentException.class, () -> flow.estimate(new Image(1, 16, 16), bad));
        assertTrue(e.getMessage().contains("non-finite") && e.getMessage().contains("row 3, column 5"), e.getMessage());
    }

    @Test
    void badSettingsAreRejected() {
        PyramidalFlow.Settings d = PyramidalFlow.Settings.defaults();
        assertThrows(IllegalArgumentException.class, () -> d.withLevels(0));
        assertThrows(IllegalArgumentException.class, () -> d.withWindowSigma(0));
        assertThrows(IllegalArgumentException.class, () -> d.withIterations(0));
        assertThrows(IllegalArgumentException.class, () -> d.withRegularisation(-1));
        assertThrows(IllegalArgumentException.class, () -> d.withSmoothingSigma(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> d.withPresmoothSigma(-0.5));
    }

    /** The interior pixels farther than {@code radius} from {@code (cx, cy)} (Chebyshev distance). */
    private static SignalMask farFrom(int cy, int cx, int radius) {
        Image keep = new Image(1, SIZE, SIZE);
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                boolean far = Math.max(Math.abs(y - cy), Math.abs(x - cx)) > radius;
                keep.set(0, y, x, far ? 1f : 0f);
            }
        }
        return SignalMask.fromIntensity(keep, 0.5, MARGIN);
    }

    private static Image constant(int h, int w, float value) {
        Image im = new Image(1, h, w);
        Arrays.fill(im.data(), value);
        return im;
    }

    private static Image scaled(Image in, float factor) {
        Image out = in.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) {
            d[i] *= factor;
        }
        return out;
    }

    private static FlowScenes.Blobs keepInside(FlowScenes.Blobs b, double lo, double hi) {
        int n = 0;
        for (int k = 0; k < b.x().length; k++) {
            if (b.x()[k] >= lo && b.x()[k] <= hi && b.y()[k] >= lo && b.y()[k] <= hi) {
                n++;
            }
        }
        double[] x = new double[n];
        double[] y = new double[n];
        double[] s = new double[n];
        double[] a = new double[n];
        int j = 0;
        for (int k = 0; k < b.x().length; k++) {
            if (b.x()[k] >= lo && b.x()[k] <= hi && b.y()[k] >= lo && b.y()[k] <= hi) {
                x[j] = b.x()[k];
                y[j] = b.y()[k];
                s[j] = b.sigma()[k];
                a[j] = b.amplitude()[k];
                j++;
            }
        }
        return new FlowScenes.Blobs(x, y, s, a);
    }

    private static double mean(Image plane, SignalMask mask) {
        double sum = 0;
        float[] d = plane.data();
        for (int i = 0; i < d.length; i++) {
            if (mask.contains(i)) {
                sum += d[i];
            }
        }
        return sum / mask.count();
    }

    private static double maxAbs(FlowField f) {
        double m = 0;
        for (float value : f.asImage().data()) {
            assertTrue(Float.isFinite(value));
            m = Math.max(m, Math.abs(value));
        }
        return m;
    }
}
