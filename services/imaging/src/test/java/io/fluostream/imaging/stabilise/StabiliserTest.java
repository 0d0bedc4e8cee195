package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The stage's algorithm end to end on known answers: simulator streams (deformation off, so the
 * truth drift is unambiguous) and analytic blob scenes ({@link Scenes}) at exact offsets.
 */
class StabiliserTest {

    private final Stabiliser stabiliser = new Stabiliser(2);

    @AfterEach
    void close() {
        stabiliser.close();
    }

    private static Image offsetFree(SimulatedFrame f, double offset) {
        Image out = f.raw().copy();
        for (int i = 0; i < out.data().length; i++) {
            out.data()[i] -= (float) offset;
        }
        return out;
    }

    /**
     * Drift of 25 % of the field on both axes at once, on the stage's defaults. Clean (noise-free)
     * abundances, so only the method's error remains: measured ≤ 0.01 px; 0.03 px bound.
     */
    @Test
    void registersDriftOfAQuarterOfTheFieldOnEachAxis() {
        int h = 128;
        int w = 160;
        Scenes.Blob[] blobs = Scenes.blobs(4, h, w, 60, 0.02);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, Scenes.render(blobs, h, w, 0, 0, 50, 5), 0, StabiliseSettings.DEFAULT);
        double[][] drifts = {{0.25 * w, 0.25 * h}, {-0.25 * w, 0.25 * h}, {-0.25 * w + 0.3, -0.25 * h + 0.7},
            {0.25 * w - 0.45, -0.25 * h}};
        for (int i = 0; i < drifts.length; i++) {
            double[] d = drifts[i];
            Registration r = stabiliser.register(stream, Scenes.render(blobs, h, w, d[0], d[1], 50, 5), i + 1,
                    StabiliseSettings.DEFAULT.withTemplate(StabiliseSettings.TemplatePolicy.FIRST));
            assertEquals(d[0], r.measured().dx(), 0.03, "dx for " + Arrays.toString(d));
            assertEquals(d[1], r.measured().dy(), 0.03, "dy for " + Arrays.toString(d));
            assertFalse(r.lowConfidence(), "confidence " + r.measured().confidence());
            assertEquals(Registration.Correction.MEASURED, r.correction());
        }
    }

    /**
     * A simulated stream with drift up to 25 % of the field, registered on the raw channel sum
     * minus offset at 20 and at 5 photons (low light). Measured RMS error (running-mean template,
     * 256 × 256, 12 frames; frame 0's own noise, which fixes the template's grid, counts): 0.04 px
     * at 20 photons, 0.19 px at 5; bounds 0.1 and 0.3 px. A whole-pixel slip costs ≥ 1 px.
     */
    @Test
    void followsASimulatedDriftAtTwentyAndAtFivePhotons() {
        for (double photons : new double[] {20, 5}) {
            SimulationSettings sim = SimulationSettings.defaults().toBuilder().height(256).width(256)
                    .photonLevel(photons).maxFlowPxPerFrame(0).maxDriftPx(64).seed(5).build();
            ForwardModel model = new ForwardModel(sim, 0);
            StreamTemplate stream = new StreamTemplate();
            double sq = 0;
            int n = 0;
            for (int k = 0; k < 12; k++) {
                SimulatedFrame f = model.frame(25 * k);
                Registration r = stabiliser.register(stream, offsetFree(f, sim.offsetAdu()), k, StabiliseSettings.DEFAULT);
                if (k > 0) {
                    sq += Math.pow(r.measured().dx() - f.driftX(), 2) + Math.pow(r.measured().dy() - f.driftY(), 2);
                    n++;
                    assertFalse(r.lowConfidence(), photons + " photons, frame " + k + ": " + r.measured());
                }
            }
            double rms = Math.sqrt(sq / n);
            System.out.printf("simulated stream, %.0f photons: RMS error %.4f px%n", photons, rms);
            assertTrue(rms < (photons >= 20 ? 0.1 : 0.3), photons + " photons: RMS error " + rms + " px");
        }
    }

    /**
     * Blank frames (constant, zero, or pure noise with nothing to match) are flagged and never
     * corrected with their own estimate: passed as acquired with {@code pass}, corrected with the
     * last trusted shift with {@code hold}. They are not folded into a running-mean template.
     */
    @Test
    void blankFramesAreFlaggedAndNotMisRegistered() {
        int h = 96;
        int w = 96;
        Scenes.Blob[] blobs = Scenes.blobs(7, h, w, 30, 0.02);
        StreamTemplate stream = new StreamTemplate();
        StabiliseSettings pass = StabiliseSettings.DEFAULT.withMinConfidence(0.4);
        stabiliser.register(stream, Scenes.render(blobs, h, w, 0, 0, 50, 5), 0, pass);
        Registration good = stabiliser.register(stream, Scenes.render(blobs, h, w, 3.4, -2.2, 50, 5), 1, pass);
        assertFalse(good.lowConfidence());
        Image templateBefore = stream.image().copy();

        float[] flat = new float[h * w];
        Arrays.fill(flat, 12f);
        Image[] blanks = {new Image(1, h, w, flat), new Image(1, h, w), Scenes.noise(3, h, w, 30),
            Scenes.poisson(new Image(1, h, w, flat.clone()), 9)};
        for (Image blank : blanks) {
            Registration r = stabiliser.register(stream, blank, 2, pass);
            assertTrue(r.lowConfidence(), "blank frame scored " + r.measured().confidence());
            assertEquals(Registration.Correction.NONE, r.correction());
            assertSame(blank, r.corrected(), "passed as acquired");
            assertFalse(r.registered());

            Registration held = stabiliser.register(stream, blank, 3,
                    pass.withLowConfidence(StabiliseSettings.LowConfidencePolicy.HOLD));
            assertTrue(held.lowConfidence());
            assertEquals(Registration.Correction.HELD, held.correction());
            assertEquals(good.measured().dx(), held.appliedDx(), 1e-12);
            assertEquals(good.measured().dy(), held.appliedDy(), 1e-12);
        }
        assertEquals(0, Images.rmse(templateBefore, stream.image()), 1e-6, "blank frames are not averaged in");
    }

    /** Hold with no trusted frame yet has nothing to hold: the frame passes unregistered, flagged. */
    @Test
    void holdBeforeAnyTrustedFramePassesTheFrame() {
        int h = 64;
        int w = 64;
        StreamTemplate stream = new StreamTemplate();
        StabiliseSettings hold = StabiliseSettings.DEFAULT.withLowConfidence(StabiliseSettings.LowConfidencePolicy.HOLD);
        stabiliser.register(stream, Scenes.render(Scenes.blobs(2, h, w, 20, 0.02), h, w, 0, 0, 50, 5), 0, hold);
        Image blank = new Image(1, h, w);
        Registration r = stabiliser.register(stream, blank, 1, hold);
        assertTrue(r.lowConfidence());
        assertEquals(Registration.Correction.NONE, r.correction());
        assertSame(blank, r.corrected());
    }

    /**
     * Running mean: frames of one scene at known shifts, each with its own noise, are registered
     * and averaged, so the template's noise falls as 1/√k while staying on the first frame's grid:
     * after 16 frames its RMS difference from the clean scene is measured at 0.22 of one frame's;
     * bound 0.4 (a template that does not average stays at 1, one that is mis-registered blurs).
     * The first-frame policy keeps the first frame.
     */
    @Test
    void runningMeanTemplateAveragesRegisteredFrames() {
        int h = 96;
        int w = 96;
        Scenes.Blob[] blobs = Scenes.blobs(8, h, w, 30, 0.02);
        Image clean = Scenes.render(blobs, h, w, 0, 0, 200, 20);
        StabiliseSettings running = StabiliseSettings.DEFAULT.withTemplateFrames(32, 4);
        StreamTemplate stream = new StreamTemplate();
        StreamTemplate first = new StreamTemplate();
        Image frame0 = Scenes.poisson(clean, 100);
        double firstError = interiorRmse(frame0, clean, 8);
        for (int k = 0; k < 16; k++) {
            double dx = k == 0 ? 0 : 1.3 * Math.sin(k);
            double dy = k == 0 ? 0 : 0.9 * Math.cos(2 * k);
            Image frame = k == 0 ? frame0 : Scenes.poisson(Scenes.render(blobs, h, w, dx, dy, 200, 20), 100 + k);
            stabiliser.register(stream, frame, k, running);
            stabiliser.register(first, frame, k, running.withTemplate(StabiliseSettings.TemplatePolicy.FIRST));
        }
        assertEquals(16, stream.averaged());
        double ratio = interiorRmse(stream.image(), clean, 8) / firstError;
        System.out.printf("running-mean template after 16 frames: noise %.3f of one frame's%n", ratio);
        assertTrue(ratio < 0.4, "template noise ratio " + ratio);
        assertEquals(0, Images.rmse(first.image(), frame0), 1e-6, "first-frame template unchanged");
        assertEquals(1, first.averaged());
    }

    /** A reference installed by the user becomes the template; frames register against it. */
    @Test
    void userReferenceIsTheTemplate() {
        int h = 80;
        int w = 96;
        Scenes.Blob[] blobs = Scenes.blobs(9, h, w, 30, 0.02);
        StreamTemplate stream = new StreamTemplate();
        stream.install(Scenes.render(blobs, h, w, -4.5, 2.25, 50, 5), 0, true);
        StabiliseSettings reference = StabiliseSettings.DEFAULT.withTemplate(StabiliseSettings.TemplatePolicy.REFERENCE);
        Registration r = stabiliser.register(stream, Scenes.render(blobs, h, w, 1.0, -1.0, 50, 5), 1, reference);
        assertFalse(r.templateStarted());
        assertEquals(5.5, r.measured().dx(), 0.02);
        assertEquals(-3.25, r.measured().dy(), 0.02);
        assertTrue(stream.fromUser());
        assertEquals(1, stream.averaged(), "a reference is never averaged");
    }

    /** Every channel gets exactly the same correction: each equals the resampled channel on its own. */
    @Test
    void everyChannelGetsTheSameShift() {
        int h = 72;
        int w = 88;
        Scenes.Blob[] a = Scenes.blobs(10, h, w, 30, 0.02);
        Scenes.Blob[] b = Scenes.blobs(11, h, w, 30, 0.02);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, Images.stack(Scenes.render(a, h, w, 0, 0, 50, 5), Scenes.render(b, h, w, 0, 0, 20, 1),
                Scenes.render(b, h, w, 0, 0, 30, 2)), 0, StabiliseSettings.DEFAULT);
        Image frame = Images.stack(Scenes.render(a, h, w, 2.6, -1.3, 50, 5), Scenes.render(b, h, w, 2.6, -1.3, 20, 1),
                Scenes.render(b, h, w, 2.6, -1.3, 30, 2));
        Registration r = stabiliser.register(stream, frame, 1, StabiliseSettings.DEFAULT.withRegistrationChannel(0));
        assertEquals(2.6, r.measured().dx(), 0.02);
        assertEquals(-1.3, r.measured().dy(), 0.02);
        ShiftResampler alone = new ShiftResampler();
        for (int c = 0; c < 3; c++) {
            Image expected = alone.resample(frame.channel(c), r.appliedDx(), r.appliedDy());
            assertEquals(0, Images.rmse(expected, r.corrected().channel(c)), 1e-5, "channel " + c);
        }
    }

    /** Registration channel 1 of a frame whose channel 0 holds an unrelated scene still finds the shift. */
    @Test
    void registersOnTheSelectedChannel() {
        int h = 96;
        int w = 96;
        Scenes.Blob[] moving = Scenes.blobs(12, h, w, 20, 0.02);
        StreamTemplate stream = new StreamTemplate();
        StabiliseSettings channel1 = StabiliseSettings.DEFAULT.withRegistrationChannel(1);
        stabiliser.register(stream, Images.stack(Scenes.noise(1, h, w, 40), Scenes.render(moving, h, w, 0, 0, 50, 5)), 0,
                channel1);
        Registration r = stabiliser.register(stream, Images.stack(Scenes.noise(2, h, w, 40),
                Scenes.render(moving, h, w, -3.7, 1.6, 50, 5)), 1, channel1);
        assertEquals(-3.7, r.measured().dx(), 0.03);
        assertEquals(1.6, r.measured().dy(), 0.03);
        assertThrows(IllegalArgumentException.class, () -> stabiliser.register(stream,
                Scenes.render(moving, h, w, 0, 0, 50, 5), 2, StabiliseSettings.DEFAULT.withRegistrationChannel(3)));
    }

    /**
     * Binned estimation gives the same answer as full resolution on a diffraction-limited scene
     * (σ ≥ 1.2 px), within 0.03 px, and a frame of another shape restarts the template.
     */
    @Test
    void binnedEstimationAgreesAndANewShapeRestartsTheTemplate() {
        int h = 256;
        int w = 256;
        Scenes.Blob[] blobs = Scenes.blobs(13, h, w, 40, 0.01);
        for (int bin : new int[] {1, 2, 4}) {
            StreamTemplate stream = new StreamTemplate();
            StabiliseSettings binned = StabiliseSettings.DEFAULT.withBinning(bin);
            stabiliser.register(stream, Scenes.render(blobs, h, w, 0, 0, 50, 5), 0, binned);
            Registration r = stabiliser.register(stream, Scenes.render(blobs, h, w, 9.35, -17.6, 50, 5), 1, binned);
            assertEquals(9.35, r.measured().dx(), 0.03, "bin " + bin);
            assertEquals(-17.6, r.measured().dy(), 0.03, "bin " + bin);
        }
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, Scenes.render(blobs, h, w, 0, 0, 50, 5), 0, StabiliseSettings.DEFAULT);
        Registration restarted = stabiliser.register(stream, new Image(1, 64, 64), 1, StabiliseSettings.DEFAULT);
        assertTrue(restarted.templateStarted());
        assertEquals(64, stream.image().height());
    }

    private static double interiorRmse(Image a, Image b, int margin) {
        double sq = 0;
        int n = 0;
        for (int y = margin; y < a.height() - margin; y++) {
            for (int x = margin; x < a.width() - margin; x++) {
                double d = a.get(0, y, x) - b.get(0, y, x);
                sq += d * d;
                n++;
            }
        }
        return Math.sqrt(sq / n);
    }

    @Test
    void rejectsAnOutputOfTheWrongShape() {
        StreamTemplate stream = new StreamTemplate();
        Image frame = new Image(1, 32, 32);
        assertThrows(IllegalArgumentException.class,
                () -> stabiliser.register(stream, frame, 0, StabiliseSettings.DEFAULT, new Image(1, 16, 32)));
        assertThrows(IllegalArgumentException.class,
                () -> stabiliser.register(stream, frame, 0, StabiliseSettings.DEFAULT, frame));
        assertNull(stream.image(), "nothing was registered");
    }
}
