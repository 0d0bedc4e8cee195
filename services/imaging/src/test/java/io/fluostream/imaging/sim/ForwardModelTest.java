package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import org.junit.jupiter.api.Test;

class ForwardModelTest {

    /** 128×128 keeps every test well under a second while holding a dozen cells and many puncta. */
    private static final SimulationSettings SMALL = SimulationSettings.defaults().withSize(128, 128);

    @Test
    void aFrameIsAPureFunctionOfSettingsStreamAndTime() {
        ForwardModel model = new ForwardModel(SMALL, 2);
        SimulatedFrame first = model.frame(7);
        model.frame(3);
        SimulatedFrame again = model.frame(7);
        SimulatedFrame fresh = new ForwardModel(SMALL, 2).frame(7);
        for (SimulatedFrame other : new SimulatedFrame[] {again, fresh}) {
            assertArrayEquals(first.raw().data(), other.raw().data());
            assertArrayEquals(first.cleanChannels().data(), other.cleanChannels().data());
            assertArrayEquals(first.abundances().data(), other.abundances().data());
            assertArrayEquals(first.flow().data(), other.flow().data());
            assertEquals(first.driftX(), other.driftX());
            assertEquals(first.driftY(), other.driftY());
        }
    }

    @Test
    void framesMadeConcurrentlyEqualFramesMadeInTurn() {
        ForwardModel model = new ForwardModel(SMALL.withSize(64, 64), 0);
        int[] times = {9, 2, 31, 2, 17, 0, 9, 44};
        float[][] parallel = java.util.Arrays.stream(times).parallel()
                .mapToObj(t -> model.frame(t).raw().data()).toArray(float[][]::new);
        for (int i = 0; i < times.length; i++) {
            assertArrayEquals(model.frame(times[i]).raw().data(), parallel[i], "t=" + times[i]);
        }
    }

    @Test
    void streamsAndSeedsGiveDifferentScenesAndDrifts() {
        SimulatedFrame a = new ForwardModel(SMALL, 0).frame(40);
        SimulatedFrame b = new ForwardModel(SMALL, 1).frame(40);
        SimulatedFrame c = new ForwardModel(SMALL.withSeed(99), 0).frame(40);
        // Unrelated scenes differ by about their own rms; identical ones by 0.
        double rms = Math.sqrt(Images.mean(square(a.abundances())));
        assertTrue(Images.rmse(a.abundances(), b.abundances()) > 0.3 * rms, "streams 0 and 1 look alike");
        assertTrue(Images.rmse(a.abundances(), c.abundances()) > 0.3 * rms, "seeds 1 and 99 look alike");
        assertNotEquals(a.driftX(), b.driftX());
        assertNotEquals(a.driftX(), c.driftX());
    }

    @Test
    void shapesFollowTheSettings() {
        SimulatedFrame f = new ForwardModel(SMALL.withSize(40, 72).withChannelsAndFluorophores(5, 2), 0).frame(1);
        assertEquals("Image[5x40x72]", f.raw().toString());
        assertEquals("Image[5x40x72]", f.cleanChannels().toString());
        assertEquals("Image[2x40x72]", f.abundances().toString());
        assertEquals("Image[2x40x72]", f.flow().toString());
        assertEquals(1, f.t());
    }

    @Test
    void cleanChannelsAreTheMixingMatrixTimesTheAbundances() {
        ForwardModel model = new ForwardModel(SMALL, 0);
        SimulatedFrame f = model.frame(12);
        double[][] m = model.mixingMatrix();
        int n = f.abundances().planeSize();
        double worst = 0;
        for (int c = 0; c < m.length; c++) {
            for (int i = 0; i < n; i++) {
                double expected = 0;
                for (int k = 0; k < m[0].length; k++) {
                    expected += m[c][k] * f.abundances().data()[k * n + i];
                }
                double got = f.cleanChannels().data()[c * n + i];
                worst = Math.max(worst, Math.abs(got - expected) / Math.max(1, expected));
            }
        }
        // Float storage: the identity holds to float rounding (~6e-8 relative).
        assertTrue(worst < 1e-6, "clean != M·abundances, worst relative error " + worst);
    }

    @Test
    void abundancesAreInAduWithTheBackgroundFloor() {
        ForwardModel model = new ForwardModel(SMALL, 0);
        Image a = model.frame(0).abundances();
        double scale = SMALL.gainAduPerElectron() * SMALL.photonLevel();
        double floor = scale * SMALL.backgroundAbundance();
        int n = a.planeSize();
        for (int f = 0; f < a.channels(); f++) {
            double min = Double.POSITIVE_INFINITY;
            double max = 0;
            for (int i = 0; i < n; i++) {
                min = Math.min(min, a.data()[f * n + i]);
                max = Math.max(max, a.data()[f * n + i]);
            }
            // Nothing below the floor; every label shows structures of abundance >= 0.3 somewhere,
            // and overlapping structures of abundance <= 1 stay well below 10 units.
            assertEquals(floor, min, 1e-4 * floor, "floor of plane " + f);
            assertTrue(max > floor + 0.3 * scale, "plane " + f + " has no structure: max " + max);
            assertTrue(max < floor + 10 * scale, "plane " + f + " implausibly bright: max " + max);
        }
    }

    @Test
    void everyFluorophoreLabelsStructuresThatFillTheField() {
        SimulationSettings settings = SMALL.withChannelsAndFluorophores(6, 5);
        Image a = new ForwardModel(settings, 4).frame(0).abundances();
        double scale = settings.gainAduPerElectron() * settings.photonLevel();
        double floor = scale * settings.backgroundAbundance();
        int n = a.planeSize();
        int w = a.width();
        double[] structure = new double[n];
        int covered = 0;
        for (int i = 0; i < n; i++) {
            for (int f = 0; f < a.channels(); f++) {
                structure[i] += a.data()[f * n + i] - floor;
            }
            covered += structure[i] > 0.05 * scale ? 1 : 0;
        }
        for (int f = 0; f < a.channels(); f++) {
            double max = 0;
            for (int i = 0; i < n; i++) {
                max = Math.max(max, a.data()[f * n + i] - floor);
            }
            assertTrue(max > 0.3 * scale, "fluorophore " + f + " labels nothing in view");
        }
        // Texture everywhere for registration and flow: with a punctum per 20×20 px besides cells and
        // filaments, a 32×32 tile is empty with probability well below 5 %.
        int tiles = 0;
        int textured = 0;
        for (int ty = 0; ty + 32 <= a.height(); ty += 32) {
            for (int tx = 0; tx + 32 <= w; tx += 32) {
                double max = 0;
                for (int y = ty; y < ty + 32; y++) {
                    for (int x = tx; x < tx + 32; x++) {
                        max = Math.max(max, structure[y * w + x]);
                    }
                }
                tiles++;
                textured += max > 0.1 * scale ? 1 : 0;
            }
        }
        assertTrue(textured >= tiles - 2, "only " + textured + " of " + tiles + " 32x32 tiles show structure");
        // Cells (one per 60×60 px, a fifth of the area), filaments and puncta: about a quarter of the
        // pixels are on a structure.
        assertTrue(covered > n / 6, "only " + covered + " of " + n + " pixels show structure");
    }

    @Test
    void rawFollowsThePoissonGaussianCameraModel() {
        // A still scene: every frame has the same clean image, so per-pixel statistics over frames
        // measure the noise alone.
        SimulationSettings settings = SMALL.withSize(40, 40).withChannelsAndFluorophores(2, 2)
                .withMaxDriftPx(0).withMaxFlowPxPerFrame(0);
        ForwardModel model = new ForwardModel(settings, 0);
        Image clean = model.frame(0).cleanChannels();
        int frames = 300;
        int n = clean.data().length;
        double[] sum = new double[n];
        double[] sumSq = new double[n];
        for (int t = 0; t < frames; t++) {
            float[] raw = model.frame(t).raw().data();
            for (int i = 0; i < n; i++) {
                assertEquals(Math.rint(raw[i]), raw[i], "raw must hold integer ADU");
                sum[i] += raw[i];
                sumSq[i] += (double) raw[i] * raw[i];
            }
        }
        double gain = settings.gainAduPerElectron();
        double read = gain * settings.readNoiseElectrons();
        double meanBias = 0;
        double measuredVar = 0;
        double modelVar = 0;
        for (int i = 0; i < n; i++) {
            double mean = sum[i] / frames;
            double var = (sumSq[i] - frames * mean * mean) / (frames - 1);
            meanBias += mean - settings.offsetAdu() - clean.data()[i];
            measuredVar += var;
            // Poisson × gain, read noise, and rounding to integers (uniform, variance 1/12).
            modelVar += gain * clean.data()[i] + read * read + 1.0 / 12;
        }
        meanBias /= n;
        // Standard error of the bias ~ sqrt(var / (frames·n)) ≈ 0.006 ADU here; 0.05 is > 8 of them.
        assertEquals(0, meanBias, 0.05, "E[raw] != clean + offset");
        // Relative standard error of the summed variance ~ sqrt(2/frames/n) ≈ 0.2 %; allow 2 %.
        assertEquals(1, measuredVar / modelVar, 0.02, "Var[raw] != gain·clean + (gain·σ_read)² + 1/12");
    }

    @Test
    void driftStartsAtZeroAndStaysWithinItsBound() {
        ForwardModel model = new ForwardModel(SMALL, 5);
        assertEquals(0, model.driftX(0));
        assertEquals(0, model.driftY(0));
        SimulatedFrame first = model.frame(0);
        assertEquals(0, first.driftX());
        assertEquals(0, first.driftY());
        double max = 0;
        double maxStep = 0;
        for (int t = 1; t < 20_000; t++) {
            max = Math.max(max, Math.hypot(model.driftX(t), model.driftY(t)));
            maxStep = Math.max(maxStep, Math.hypot(model.driftX(t) - model.driftX(t - 1),
                    model.driftY(t) - model.driftY(t - 1)));
        }
        assertTrue(max <= SMALL.maxDriftPx(), "drift " + max + " beyond " + SMALL.maxDriftPx());
        assertTrue(max > 0.2 * SMALL.maxDriftPx(), "drift hardly moves: " + max);
        assertTrue(maxStep < 1, "drift must be sub-pixel per frame, got " + maxStep);
        assertEquals(first.driftX(), model.driftX(0));
        assertEquals(model.frame(33).driftY(), model.driftY(33));
    }

    @Test
    void withoutDeformationAFrameIsFrameZeroShiftedByTheDrift() {
        ForwardModel model = new ForwardModel(SMALL.withMaxFlowPxPerFrame(0), 3);
        Image reference = model.frame(0).cleanChannels();
        for (int t : new int[] {30, 137, 400}) {
            SimulatedFrame f = model.frame(t);
            // Content of frame 0 at q appears at q + d: frame t at p is frame 0 at p − d.
            double relative = shiftResidual(reference, f.cleanChannels(), f.driftX(), f.driftY());
            // Lanczos-4 resampling of a σ ≥ 1.2 px image errs by ~1e-3 of the signal; a drift wrong by
            // 0.05 px would already give ~2e-2.
            assertTrue(relative < 5e-3, "t=" + t + ": frame is not frame 0 shifted by d(t); rel. error " + relative);
        }
    }

    @Test
    void theDriftFreeFrameIsTheFrameWithItsDriftRemoved() {
        ForwardModel model = new ForwardModel(SMALL, 1);
        for (int t : new int[] {77, 230}) {
            SimulatedFrame f = model.frame(t);
            double relative = shiftResidual(model.driftFreeClean(t), f.cleanChannels(), f.driftX(), f.driftY());
            assertTrue(relative < 5e-3, "t=" + t + ": rel. error " + relative);
            Image mixed = SpectralMixing.mix(model.mixingMatrix(), model.driftFreeAbundances(t));
            assertArrayEquals(mixed.data(), model.driftFreeClean(t).data());
        }
        assertArrayEquals(model.frame(0).cleanChannels().data(), model.driftFreeClean(0).data());
    }

    @Test
    void truthFlowCarriesEachDriftFreeFrameOntoTheNext() {
        for (double maxFlow : new double[] {0.5, 1.5}) {
            ForwardModel model = new ForwardModel(SMALL.withMaxFlowPxPerFrame(maxFlow), 3);
            // Frames of fastest motion (s(t) = sin(2πt/100) is steepest at t ≈ 0, 50, 100) and one between.
            for (int t : new int[] {1, 50, 133}) {
                Image previous = model.driftFreeClean(t - 1);
                Image current = model.driftFreeClean(t);
                Image flow = model.frame(t).flow();
                double warped = 0;
                double unwarped = 0;
                int margin = 8;
                for (int c = 0; c < previous.channels(); c++) {
                    for (int y = margin; y < previous.height() - margin; y++) {
                        for (int x = margin; x < previous.width() - margin; x++) {
                            double p = previous.get(c, y, x);
                            // Forward flow: content at p in frame t−1 is at p + w(p) in frame t.
                            double q = LanczosSampler.sample(current, c, x + flow.get(0, y, x), y + flow.get(1, y, x));
                            warped += (q - p) * (q - p);
                            unwarped += (current.get(c, y, x) - p) * (current.get(c, y, x) - p);
                        }
                    }
                }
                double ratio = Math.sqrt(warped / unwarped);
                // The brief asks < 20 %; the residual is mostly resampling error (measured 3–7 %), and a
                // flow 20 % off on the puncta and filaments alone already gives 12 %.
                assertTrue(ratio < 0.1, "maxFlow " + maxFlow + ", t=" + t + ": warped/unwarped residual " + ratio);
            }
        }
    }

    @Test
    void flowIsZeroAtFrameZeroAndNeverExceedsItsBound() {
        SimulationSettings settings = SMALL.withSize(64, 64).withFlowPeriodFrames(40).withMaxFlowPxPerFrame(0.4);
        ForwardModel model = new ForwardModel(settings, 0);
        for (float v : model.frame(0).flow().data()) {
            assertEquals(0f, v);
        }
        double max = 0;
        for (int t = 1; t <= 40; t++) {
            Image flow = model.frame(t).flow();
            int n = flow.planeSize();
            for (int i = 0; i < n; i++) {
                max = Math.max(max, Math.hypot(flow.data()[i], flow.data()[n + i]));
            }
        }
        // Bounded by construction (float rounding aside); over a period it comes within reach of the
        // bound (the bound holds over the field plus a margin, so the field alone may stay below it).
        assertTrue(max <= 0.4 * (1 + 1e-5), "flow " + max + " beyond its bound 0.4");
        assertTrue(max > 0.5 * 0.4, "flow " + max + " far below its bound 0.4");
    }

    @Test
    void deformationCarriesNoApparentTranslation() {
        // At t = 1 the material points are the pixels themselves (s(0) = 0), so the flow is D·s(1);
        // as a windowed registration of the scene at rest reads it, it must not move.
        ForwardModel model = new ForwardModel(SMALL, 6);
        Image rest = io.fluostream.imaging.Images.sumChannels(model.driftFreeAbundances(0));
        Image flow = model.frame(1).flow();
        int n = flow.planeSize();
        double maxFlow = 0;
        for (int i = 0; i < n; i++) {
            maxFlow = Math.max(maxFlow, Math.hypot(flow.data()[i], flow.data()[n + i]));
        }
        float[] u = java.util.Arrays.copyOfRange(flow.data(), 0, n);
        float[] v = java.util.Arrays.copyOfRange(flow.data(), n, 2 * n);
        double[] t = DeformationField.apparentTranslation(rest.data(), rest.width(), rest.height(), u, v);
        // The field is sampled on a float grid and inverted by Newton's method: ~1e-3 of the flow.
        assertEquals(0, t[0], 2e-3 * maxFlow);
        assertEquals(0, t[1], 2e-3 * maxFlow);
    }

    @Test
    void oneChannelOneFluorophoreWorks() {
        SimulationSettings settings = SMALL.withSize(48, 48).withChannelsAndFluorophores(1, 1);
        ForwardModel model = new ForwardModel(settings, 0);
        assertArrayEquals(new double[][] {{1.0}}, model.mixingMatrix());
        assertEquals(1, model.channelWavelengthsNm().length);
        SimulatedFrame f = model.frame(3);
        assertEquals(1, f.raw().channels());
        assertArrayEquals(f.abundances().data(), f.cleanChannels().data());
    }

    @Test
    void exposesTheDefaultSpectraAndWavelengths() {
        ForwardModel model = new ForwardModel(SMALL, 0);
        assertArrayEquals(SpectralMixing.defaultSpectra(4, 3), model.mixingMatrix());
        assertArrayEquals(SpectralMixing.channelWavelengthsNm(4, 3), model.channelWavelengthsNm());
        model.mixingMatrix()[0][0] = 42; // a copy: the model is unaffected
        assertNotEquals(42, model.mixingMatrix()[0][0]);
        assertEquals(SMALL, model.settings());
        assertEquals(0, model.streamIndex());
    }

    @Test
    void rejectsANegativeFrameIndex() {
        ForwardModel model = new ForwardModel(SMALL.withSize(32, 32), 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.frame(-1));
        assertTrue(e.getMessage().contains("frame index"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> model.driftX(-3));
        assertThrows(IllegalArgumentException.class, () -> model.driftFreeClean(-3));
    }

    /** rms of (b − a shifted by d) over the interior, relative to the rms of b. */
    private static double shiftResidual(Image a, Image b, double dx, double dy) {
        int margin = (int) Math.ceil(Math.max(Math.abs(dx), Math.abs(dy))) + 6;
        double err = 0;
        double sig = 0;
        for (int c = 0; c < a.channels(); c++) {
            for (int y = margin; y < a.height() - margin; y++) {
                for (int x = margin; x < a.width() - margin; x++) {
                    double v = b.get(c, y, x);
                    double predicted = LanczosSampler.sample(a, c, x - dx, y - dy);
                    err += (predicted - v) * (predicted - v);
                    sig += v * v;
                }
            }
        }
        return Math.sqrt(err / sig);
    }

    private static Image square(Image a) {
        Image out = a.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) {
            d[i] *= d[i];
        }
        return out;
    }
}
