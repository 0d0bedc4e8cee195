package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import org.junit.jupiter.api.Test;

/**
 * The device denoiser (djl-cpu) against the pure-Java {@link ClassicalDenoiser} on simulated raw
 * frames. Tolerance: denoised samples within 1e-4 of the frame's largest denoised value, relative
 * RMS difference below 1e-5 (measured: 6e-7 and 7e-7; float32 on both sides, summed in another
 * order).
 */
class DeviceDenoiserTest {

    @Test
    void matchesPureJavaAtLowLight() {
        ForwardModel model = Simulated.stream(64, 2, 2, 5, 11);
        compare(model.frame(0).raw(), Double.NaN, ClassicalDenoiser.Settings.defaults(), "64x64x2, 5 photons, offset estimated");
    }

    @Test
    void matchesPureJavaOnOddShapesWithKnownOffset() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(40, 72)
                .withChannelsAndFluorophores(1, 1).withPhotonLevel(50).withSeed(5), 0);
        compare(model.frame(3).raw(), 100, new ClassicalDenoiser.Settings(6, 3.0, 1.5, 8), "40x72, 6 levels, offset 100");
    }

    private static void compare(Image raw, double offset, ClassicalDenoiser.Settings settings, String what) {
        ClassicalDenoiser.Result expected = new ClassicalDenoiser(settings).denoise(raw, offset);
        try (DeviceDenoiser device = new DeviceDenoiser(settings, Device.cpu())) {
            ClassicalDenoiser.Result actual = device.denoise(raw, offset);
            double scale = Simulated.maxAbs(expected.denoised());
            double diff = Simulated.maxAbsDifference(expected.denoised(), actual.denoised());
            double rms = Simulated.relativeRms(expected.denoised(), actual.denoised());
            System.out.printf("%s: max|d| %.3g of %.3g (%.2g), relative rms %.2g%n", what, diff, scale, diff / scale, rms);
            assertEquals(expected.noise(), actual.noise(), what + ": same noise fit");
            assertEquals(expected.meanNoiseSigmaAdu(), actual.meanNoiseSigmaAdu(), 1e-12, what);
            assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " ADU of " + scale);
            assertTrue(rms <= 1e-5, what + ": relative RMS difference " + rms);
        }
    }
}
