package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import org.junit.jupiter.api.Test;

/**
 * The device flow (djl-cpu) against the pure-Java {@link PyramidalFlow} on simulated deforming
 * tissue. Tolerance: the two fields' endpoint difference below 1e-4 px on average and 1e-3 px at
 * worst (measured: up to 3e-7 and 5e-6 px; float32 on both sides, blurs summed in another order).
 */
class DeviceFlowTest {

    @Test
    void matchesPureJavaWithDefaultSettings() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(64, 64)
                .withChannelsAndFluorophores(2, 2).withMaxFlowPxPerFrame(1.5).withSeed(31), 0);
        compare(Images.sumChannels(model.driftFreeAbundances(1)), Images.sumChannels(model.driftFreeAbundances(2)),
                PyramidalFlow.Settings.defaults(), "64x64 clean, defaults");
    }

    @Test
    void matchesPureJavaOnNoisyOddFramesWithTheStageSettings() {
        ForwardModel model = new ForwardModel(SimulationSettings.defaults().withSize(48, 70)
                .withChannelsAndFluorophores(1, 1).withPhotonLevel(20).withMaxDriftPx(0).withSeed(3), 0);
        PyramidalFlow.Settings stage = PyramidalFlow.Settings.defaults().withWindowSigma(10).withSmoothingSigma(16);
        compare(Simulated.offsetFree(model, 3), Simulated.offsetFree(model, 4), stage, "48x70 noisy, stage settings");
        compare(Simulated.offsetFree(model, 3), Simulated.offsetFree(model, 4), stage.withSmoothingSigma(0).withLevels(1),
                "48x70 noisy, one level, no smoothing");
    }

    private static void compare(Image previous, Image next, PyramidalFlow.Settings settings, String what) {
        FlowField expected = new PyramidalFlow(settings).estimate(previous, next);
        FlowField actual;
        try (DeviceFlow device = new DeviceFlow(settings, Device.cpu())) {
            actual = device.estimate(previous, next);
        }
        double sum = 0;
        double worst = 0;
        double speed = 0;
        int n = expected.height() * expected.width();
        for (int y = 0; y < expected.height(); y++) {
            for (int x = 0; x < expected.width(); x++) {
                double d = Math.hypot(expected.u(y, x) - actual.u(y, x), expected.v(y, x) - actual.v(y, x));
                sum += d;
                worst = Math.max(worst, d);
                speed += Math.hypot(expected.u(y, x), expected.v(y, x));
            }
        }
        System.out.printf("%s: mean endpoint difference %.2g px, worst %.2g px (mean speed %.3f px)%n", what, sum / n,
                worst, speed / n);
        assertTrue(sum / n <= 1e-4, what + ": mean endpoint difference " + sum / n + " px");
        assertTrue(worst <= 1e-3, what + ": worst endpoint difference " + worst + " px");
    }
}
