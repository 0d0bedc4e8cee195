package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Known answers: scenes of Gaussian blobs rendered analytically at exact sub-pixel offsets
 * ({@link Scenes}), so the true shift is known to rounding. Shifts are drawn uniformly over ±25 %
 * of the field on each axis.
 */
class PhaseCorrelatorTest {

    /** Noise-free accuracy: the brief's bound. Measured ≤ 0.012 px; a single full-window pass is
     * biased by up to 0.15 px at these shifts and a sign or index slip is off by ≥ 1 px. */
    private static final double NOISE_FREE_TOLERANCE = 0.02;

    @Test
    void recoversLargeSubPixelShiftsOfANoiseFreeSceneWithin0_02px() {
        int h = 128;
        int w = 128;
        Scenes.Blob[] blobs = Scenes.blobs(11, h, w, 40, 0.02);
        PhaseCorrelator correlator = new PhaseCorrelator(h, w);
        ReferenceSpectrum reference = correlator.prepare(Scenes.render(blobs, h, w, 0, 0, 100, 10));
        SplittableRandom rng = new SplittableRandom(1);
        double worst = 0;
        for (int t = 0; t < 40; t++) {
            double dx = rng.nextDouble(-0.25, 0.25) * w;
            double dy = rng.nextDouble(-0.25, 0.25) * h;
            Shift s = correlator.estimate(reference, Scenes.render(blobs, h, w, dx, dy, 100, 10));
            worst = Math.max(worst, Math.max(Math.abs(s.dx() - dx), Math.abs(s.dy() - dy)));
        }
        System.out.printf("noise-free 128x128, 40 shifts within ±25%%: max error %.4f px%n", worst);
        assertTrue(worst < NOISE_FREE_TOLERANCE, "max error " + worst + " px");
    }

    /** Rectangular, non-power-of-two frames: 250×300 (mixed radix 2·5³ × 4·3·5²) and 97×131 (primes, Bluestein). */
    @Test
    void registersRectangularNonPowerOfTwoFrames() {
        for (int[] shape : new int[][] {{250, 300}, {97, 131}}) {
            int h = shape[0];
            int w = shape[1];
            Scenes.Blob[] blobs = Scenes.blobs(h + w, h, w, 0.3 * Math.max(h, w), 0.02);
            PhaseCorrelator correlator = new PhaseCorrelator(h, w);
            ReferenceSpectrum reference = correlator.prepare(Scenes.render(blobs, h, w, 0, 0, 100, 10));
            double[][] shifts = {{0.3, -0.7}, {-0.24 * w, 0.21 * h}, {0.25 * w - 0.5, -0.25 * h + 0.5}, {-7.77, 12.13}};
            for (double[] d : shifts) {
                Shift s = correlator.estimate(reference, Scenes.render(blobs, h, w, d[0], d[1], 100, 10));
                assertEquals(d[0], s.dx(), NOISE_FREE_TOLERANCE, h + "x" + w + " dx for " + Arrays.toString(d));
                assertEquals(d[1], s.dy(), NOISE_FREE_TOLERANCE, h + "x" + w + " dy for " + Arrays.toString(d));
            }
        }
    }

    /**
     * Photon noise: peak 20 photons/px over 2 photons background, independent Poisson draws for the
     * reference and every frame. Bound 0.1 px RMS (brief). The Cramér–Rao bound for this scene with
     * both images noisy is 0.044 px; the windows discard about half the information, so ~0.07 px
     * is expected, and an estimator whitened in the fine pass measured 0.12 px.
     */
    @Test
    void photonNoiseAt20PhotonsPeakGivesRmsErrorBelow0_1px() {
        int h = 128;
        int w = 128;
        Scenes.Blob[] blobs = Scenes.blobs(11, h, w, 40, 0.02);
        double scale = 20 / Scenes.max(Scenes.render(blobs, h, w, 0, 0, 1, 0));
        PhaseCorrelator correlator = new PhaseCorrelator(h, w);
        ReferenceSpectrum reference = correlator.prepare(Scenes.poisson(Scenes.render(blobs, h, w, 0, 0, scale, 2), 99));
        SplittableRandom rng = new SplittableRandom(2);
        double sum = 0;
        double minConfidence = 1;
        int trials = 40;
        for (int t = 0; t < trials; t++) {
            double dx = rng.nextDouble(-0.25, 0.25) * w;
            double dy = rng.nextDouble(-0.25, 0.25) * h;
            Image frame = Scenes.poisson(Scenes.render(blobs, h, w, dx, dy, scale, 2), 1000 + t);
            Shift s = correlator.estimate(reference, frame);
            sum += (s.dx() - dx) * (s.dx() - dx) + (s.dy() - dy) * (s.dy() - dy);
            minConfidence = Math.min(minConfidence, s.confidence());
        }
        double rms = Math.sqrt(sum / trials);
        System.out.printf("Poisson, peak 20 photons: RMS error %.4f px, lowest confidence %.3f%n", rms, minConfidence);
        assertTrue(rms < 0.1, "RMS error " + rms + " px");
        assertTrue(minConfidence > 0.5, "a noisy but matching frame scored " + minConfidence);
    }

    /**
     * Confidence separates matches from frames that cannot be registered. Measured: matching
     * frames 0.66–0.95 (noise-free and at 20 photons), unrelated or pure-noise frames ≤ 0.3
     * (1 − second/first for noise peaks is ~Exp/(2·ln N), rarely above 0.3 at N = 128²).
     * Blank frames score exactly 0.
     */
    @Test
    void confidenceIsHighForMatchesAndLowForBlankNoiseOrUnrelatedFrames() {
        int h = 128;
        int w = 128;
        Scenes.Blob[] blobs = Scenes.blobs(11, h, w, 40, 0.02);
        PhaseCorrelator correlator = new PhaseCorrelator(h, w);
        ReferenceSpectrum reference = correlator.prepare(Scenes.render(blobs, h, w, 0, 0, 20, 2));

        Shift match = correlator.estimate(reference, Scenes.render(blobs, h, w, 5.5, -3.25, 20, 2));
        assertTrue(match.confidence() > 0.7, "noise-free match scored " + match.confidence());

        float[] flat = new float[h * w];
        Arrays.fill(flat, 7f);
        Shift blank = correlator.estimate(reference, new Image(1, h, w, flat));
        assertEquals(Shift.NONE, blank);
        ReferenceSpectrum blankReference = correlator.prepare(new Image(1, h, w, flat.clone()));
        assertTrue(blankReference.isFeatureless());
        assertEquals(Shift.NONE, correlator.estimate(blankReference, Scenes.render(blobs, h, w, 1, 1, 20, 2)));
        assertEquals(Shift.NONE, correlator.estimate(reference, new Image(1, h, w)));

        double worst = 0;
        for (int t = 0; t < 10; t++) {
            float[] level = new float[h * w];
            Arrays.fill(level, 10f);
            worst = Math.max(worst, correlator.estimate(reference, Scenes.noise(t, h, w, 30)).confidence());
            worst = Math.max(worst, correlator.estimate(reference,
                    Scenes.poisson(new Image(1, h, w, level), 50 + t)).confidence());
            Scenes.Blob[] other = Scenes.blobs(500 + t, h, w, 40, 0.02);
            worst = Math.max(worst, correlator.estimate(reference, Scenes.render(other, h, w, 0, 0, 20, 2)).confidence());
        }
        System.out.printf("confidence: match %.3f, worst of 30 noise/unrelated frames %.3f%n", match.confidence(), worst);
        assertTrue(worst < 0.35, "a frame with nothing to match scored " + worst);
    }

    @Test
    void identicalFramesHaveZeroShift() {
        int h = 64;
        int w = 80;
        Image scene = Scenes.render(Scenes.blobs(3, h, w, 20, 0.02), h, w, 0, 0, 50, 5);
        Shift s = new PhaseCorrelator(h, w).estimate(scene, scene.copy());
        // Noise-free, identical: only the 1/64 px grid and the parabola's rounding remain.
        assertEquals(0, s.dx(), 1e-3);
        assertEquals(0, s.dy(), 1e-3);
        assertTrue(s.confidence() > 0.9, "confidence " + s.confidence());
    }

    /** Channels are summed: a two-channel frame registers like its one-channel sum. */
    @Test
    void multiChannelFramesAreRegisteredOnTheirChannelSum() {
        int h = 96;
        int w = 96;
        Scenes.Blob[] a = Scenes.blobs(21, h, w, 30, 0.01);
        Scenes.Blob[] b = Scenes.blobs(22, h, w, 30, 0.01);
        Image reference = Images.stack(Scenes.render(a, h, w, 0, 0, 50, 5), Scenes.render(b, h, w, 0, 0, 30, 1));
        Image frame = Images.stack(Scenes.render(a, h, w, -9.3, 4.6, 50, 5), Scenes.render(b, h, w, -9.3, 4.6, 30, 1));
        Shift s = new PhaseCorrelator(h, w).estimate(reference, frame);
        assertEquals(-9.3, s.dx(), NOISE_FREE_TOLERANCE);
        assertEquals(4.6, s.dy(), NOISE_FREE_TOLERANCE);
        // Images.sumChannels adds in float, the correlator in double: equal to float rounding.
        Shift summed = new PhaseCorrelator(h, w).estimate(Images.sumChannels(reference), Images.sumChannels(frame));
        assertEquals(summed.dx(), s.dx(), 1e-6);
        assertEquals(summed.dy(), s.dy(), 1e-6);
    }

    /**
     * A correlator reused over a stream predicts the fine-pass windows from the previous frame and
     * packs two transforms into one; whether the prediction is used or not, the coarse pass (and so
     * the confidence) is a fresh correlator's to rounding, and the sub-pixel answer stays as
     * accurate: measured ≤ 0.0062 px from the truth (a fresh correlator's: up to 0.0124 px, its
     * windows at the whole-pixel shift); bound 0.01 px.
     */
    @Test
    void reusingACorrelatorIsAsAccurateAsFreshOnes() {
        int h = 72;
        int w = 90;
        Scenes.Blob[] blobs = Scenes.blobs(5, h, w, 25, 0.02);
        Image referenceImage = Scenes.render(blobs, h, w, 0, 0, 40, 3);
        PhaseCorrelator reused = new PhaseCorrelator(h, w);
        ReferenceSpectrum reference = reused.prepare(referenceImage);
        double[][] drift = {{0.1, 0.2}, {0.3, 0.25}, {0.45, 0.4}, {1.6, 0.7}, {1.7, 0.8}, {-12.2, 15.1}, {-12.3, 15.0}, {0.2, 0.1}};
        for (double[] d : drift) {
            Image frame = Scenes.render(blobs, h, w, d[0], d[1], 40, 3);
            Shift again = reused.estimate(reference, frame);
            PhaseCorrelator fresh = new PhaseCorrelator(h, w);
            Shift first = fresh.estimate(fresh.prepare(referenceImage), frame);
            assertEquals(d[0], again.dx(), 0.01, "dx at " + Arrays.toString(d));
            assertEquals(d[1], again.dy(), 0.01, "dy at " + Arrays.toString(d));
            assertEquals(first.confidence(), again.confidence(), 1e-9, "confidence at " + Arrays.toString(d));
        }
    }

    /**
     * A drift that crosses whole pixels a little at a time (0.2 px a frame): the reused correlator
     * keeps the reference's fine-pass window and moves the frame's by the previous estimate, so
     * the windows lag the true shift by 0.2 px instead of up to 0.5 px (a fresh correlator's,
     * at the whole-pixel shift). Measured worst error 0.009 px reused, 0.015 px fresh; bound
     * 0.012 px for the reused one.
     */
    @Test
    void predictedFinePassWindowsFollowADrift() {
        int h = 96;
        int w = 96;
        Scenes.Blob[] blobs = Scenes.blobs(6, h, w, 30, 0.02);
        Image referenceImage = Scenes.render(blobs, h, w, 0, 0, 40, 3);
        PhaseCorrelator reused = new PhaseCorrelator(h, w);
        ReferenceSpectrum reference = reused.prepare(referenceImage);
        double worst = 0;
        double worstFresh = 0;
        for (double d = 0.3; d < 3.5; d += 0.2) {
            Image frame = Scenes.render(blobs, h, w, d, -0.8 * d, 40, 3);
            Shift again = reused.estimate(reference, frame);
            PhaseCorrelator fresh = new PhaseCorrelator(h, w);
            Shift first = fresh.estimate(fresh.prepare(referenceImage), frame);
            worst = Math.max(worst, Math.max(Math.abs(again.dx() - d), Math.abs(again.dy() + 0.8 * d)));
            worstFresh = Math.max(worstFresh, Math.max(Math.abs(first.dx() - d), Math.abs(first.dy() + 0.8 * d)));
        }
        System.out.printf("drifting stream: worst error %.4f px with predicted windows, %.4f px fresh%n", worst,
                worstFresh);
        assertTrue(worst < 0.012, "worst error " + worst + " px");
    }

    @Test
    void integerUpsamplingGivesTheNearestWholePixel() {
        int h = 64;
        int w = 64;
        Scenes.Blob[] blobs = Scenes.blobs(8, h, w, 20, 0.02);
        PhaseCorrelator.Settings integerOnly = new PhaseCorrelator.Settings(1, 0.5, 0.125, 1, Double.POSITIVE_INFINITY);
        PhaseCorrelator correlator = new PhaseCorrelator(h, w, integerOnly);
        Shift s = correlator.estimate(Scenes.render(blobs, h, w, 0, 0, 40, 3), Scenes.render(blobs, h, w, 6.2, -3.9, 40, 3));
        assertEquals(6, s.dx());
        assertEquals(-4, s.dy());
    }

    @Test
    void rejectsBadInputWithAMessage() {
        PhaseCorrelator correlator = new PhaseCorrelator(16, 20);
        Image good = Scenes.render(Scenes.blobs(1, 16, 20, 5, 0.05), 16, 20, 0, 0, 10, 1);
        ReferenceSpectrum reference = correlator.prepare(good);

        Image nan = good.copy();
        nan.set(0, 3, 4, Float.NaN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> correlator.estimate(reference, nan));
        assertTrue(e.getMessage().contains("y=3, x=4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> correlator.prepare(nan));
        assertThrows(IllegalArgumentException.class, () -> correlator.estimate(reference, new Image(1, 20, 16)));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator(20, 16).estimate(reference, new Image(1, 20, 16)));
        PhaseCorrelator otherWindow = new PhaseCorrelator(16, 20, new PhaseCorrelator.Settings(64, 0.3, 0.125, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> otherWindow.estimate(reference, good));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator(1, 20));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator.Settings(0, 0.5, 0.125, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator.Settings(64, 1.5, 0.125, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator.Settings(64, 0.5, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator.Settings(64, 0.5, 0.125, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new PhaseCorrelator.Settings(64, 0.5, 0.125, 1, Double.NaN));
    }
}
