package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.ReferenceSpectrum;
import io.fluostream.imaging.stabilise.Shift;
import io.fluostream.imaging.stabilise.ShiftResampler;
import org.junit.jupiter.api.Test;

/**
 * The device stabiliser (djl-cpu) against the pure-Java {@link PhaseCorrelator} and
 * {@link ShiftResampler} on drifting simulated streams, clean and at 20 photons. Tolerances: shift
 * within 0.002 px and confidence within 0.002 of the pure-Java estimate (measured: 2e-4 px and
 * 3e-8; float32 FFTs against double); resampled frames within 1e-5 of the frame's largest value
 * (measured: 3e-6).
 */
class DeviceStabiliserTest {

    @Test
    void shiftsMatchPureJavaOnADriftingStream() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(96, 80)
                .withChannelsAndFluorophores(3, 2).withPhotonLevel(20).withMaxDriftPx(12).withSeed(21), 0);
        Image first = Images.sumChannels(model.frame(0).abundances());
        PhaseCorrelator correlator = new PhaseCorrelator(96, 80);
        ReferenceSpectrum javaReference = correlator.prepare(first);
        double worst = 0;
        double worstConfidence = 0;
        try (DeviceStabiliser device = new DeviceStabiliser(96, 80, PhaseCorrelator.Settings.DEFAULT, Device.cpu());
                DeviceStabiliser.Reference reference = device.prepare(first)) {
            for (int t = 1; t <= 8; t++) {
                Image moving = t % 2 == 0 ? model.frame(t).abundances() : Simulated.offsetFree(model, t);
                Shift expected = correlator.estimate(javaReference, moving);
                Shift actual = device.estimate(reference, moving);
                worst = Math.max(worst, Math.max(Math.abs(expected.dx() - actual.dx()), Math.abs(expected.dy() - actual.dy())));
                worstConfidence = Math.max(worstConfidence, Math.abs(expected.confidence() - actual.confidence()));
                assertEquals(expected.dx(), actual.dx(), 0.002, "dx at t=" + t);
                assertEquals(expected.dy(), actual.dy(), 0.002, "dy at t=" + t);
                assertEquals(expected.confidence(), actual.confidence(), 0.002, "confidence at t=" + t);
            }
        }
        System.out.printf("stabilise: worst shift difference %.2g px, confidence %.2g%n", worst, worstConfidence);
    }

    @Test
    void resamplingMatchesPureJava() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(40, 56)
                .withChannelsAndFluorophores(2, 2).withSeed(4), 0);
        Image frame = model.frame(2).abundances();
        double scale = Simulated.maxAbs(frame);
        ShiftResampler resampler = new ShiftResampler();
        double worst = 0;
        try (DeviceStabiliser device = new DeviceStabiliser(40, 56, PhaseCorrelator.Settings.DEFAULT, Device.cpu())) {
            double[][] shifts = {{0, 0}, {0.25, -0.5}, {3.7, 1.2}, {-12.4, 9.9}, {30.5, -45.2}, {-0.5, 0.5}};
            for (double[] d : shifts) {
                Image expected = resampler.resample(frame, d[0], d[1]);
                Image actual = device.resample(frame, d[0], d[1]);
                double diff = Simulated.maxAbsDifference(expected, actual);
                worst = Math.max(worst, diff / scale);
                assertTrue(diff <= 1e-5 * scale, "shift (" + d[0] + ", " + d[1] + "): differs by " + diff + " of " + scale);
            }
        }
        System.out.printf("resample: worst difference %.2g of full scale%n", worst);
    }

    @Test
    void stabilisesWithOneUploadAndPassesLowConfidenceFramesUnchanged() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(64, 64)
                .withChannelsAndFluorophores(2, 2).withMaxDriftPx(6).withSeed(8), 0);
        Image reference = model.frame(0).abundances();
        Image moving = model.frame(5).abundances();
        PhaseCorrelator correlator = new PhaseCorrelator(64, 64);
        Shift expected = correlator.estimate(reference.channel(1), moving.channel(1));
        Image corrected = new ShiftResampler().correct(moving, expected);
        try (DeviceStabiliser device = new DeviceStabiliser(64, 64, PhaseCorrelator.Settings.DEFAULT, Device.cpu());
                DeviceStabiliser.Reference ref = device.prepare(reference.channel(1))) {
            DeviceStabiliser.Result r = device.stabilise(ref, moving, 1, 0.2);
            assertTrue(r.trusted());
            assertEquals(expected.dx(), r.shift().dx(), 0.002);
            assertEquals(expected.dy(), r.shift().dy(), 0.002);
            assertTrue(Simulated.maxAbsDifference(corrected, r.corrected()) <= 1e-3 * Simulated.maxAbs(corrected));

            DeviceStabiliser.Result refused = device.stabilise(ref, moving, 1, 1.01);
            assertFalse(refused.trusted());
            assertSame(moving, refused.corrected());
        }
    }

    @Test
    void blankFramesGiveNoShift() {
        Image blank = new Image(1, 32, 32);
        java.util.Arrays.fill(blank.data(), 7f);
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(32, 32).withSeed(2), 0);
        Image textured = Images.sumChannels(model.frame(0).abundances());
        try (DeviceStabiliser device = new DeviceStabiliser(32, 32, PhaseCorrelator.Settings.DEFAULT, Device.cpu());
                DeviceStabiliser.Reference flat = device.prepare(blank);
                DeviceStabiliser.Reference ref = device.prepare(textured)) {
            assertTrue(flat.isFeatureless());
            assertEquals(Shift.NONE, device.estimate(flat, textured));
            assertEquals(Shift.NONE, device.estimate(ref, blank));
        }
    }
}
