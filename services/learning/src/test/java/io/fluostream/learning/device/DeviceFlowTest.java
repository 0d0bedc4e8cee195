package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.ConsistentFlow;
import io.fluostream.imaging.flow.FlowEstimate;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import org.junit.jupiter.api.Test;

/**
 * The device flow (djl-cpu) against the pure-Java {@link PyramidalFlow} and {@link ConsistentFlow}
 * on simulated deforming tissue. Tolerance: endpoint difference below 1e-4 px on average and 1e-3
 * px at worst (float32 on both sides, blurs summed in another order; measured values printed);
 * confidence within 1e-3; outlier flags on at most 0.1% of pixels differently (a vector at the
 * test's threshold can fall either side).
 */
class DeviceFlowTest {

    private final ForwardModel clean = new ForwardModel(SimulationSettings.defaults().withSize(64, 64)
            .withChannelsAndFluorophores(2, 2).withMaxFlowPxPerFrame(1.5).withSeed(31), 0);
    private final ForwardModel noisy = new ForwardModel(SimulationSettings.defaults().withSize(72, 90)
            .withChannelsAndFluorophores(1, 1).withPhotonLevel(20).withMaxDriftPx(0).withSeed(3), 0);

    @Test
    void matchesPureJavaWithDefaultSettings() {
        compare(Images.sumChannels(clean.driftFreeAbundances(1)), Images.sumChannels(clean.driftFreeAbundances(2)),
                PyramidalFlow.Settings.defaults(), "64x64 clean, defaults");
    }

    @Test
    void matchesPureJavaAtHalfResolutionWithTheStageSettings() {
        PyramidalFlow.Settings stage = PyramidalFlow.Settings.lowLight().withSmoothingSigma(16);
        compare(Simulated.offsetFree(noisy, 3), Simulated.offsetFree(noisy, 4), stage, "72x90 noisy, stage settings");
        compare(Simulated.offsetFree(noisy, 3), Simulated.offsetFree(noisy, 4), stage.withSmoothingSigma(0).withLevels(1),
                "72x90 noisy, one level, no smoothing");
    }

    @Test
    void consistentFlowMatchesPureJava() {
        ConsistentFlow.Settings settings = ConsistentFlow.Settings.defaults()
                .withFlow(PyramidalFlow.Settings.lowLight().withSmoothingSigma(16));
        Image previous = Simulated.offsetFree(noisy, 5);
        Image next = Simulated.offsetFree(noisy, 6);
        FlowEstimate expected;
        try (ConsistentFlow java = new ConsistentFlow(settings, 1)) {
            expected = java.estimate(previous, next);
        }
        FlowEstimate actual;
        try (DeviceConsistentFlow device = new DeviceConsistentFlow(settings, Device.cpu())) {
            actual = device.estimate(previous, next);
        }
        check(expected.field(), actual.field(), "consistent flow: forward");
        check(expected.backward(), actual.backward(), "consistent flow: backward");
        double confidence = Simulated.maxAbsDifference(expected.confidence(), actual.confidence());
        double flags = Simulated.maxAbsDifference(expected.outliers(), actual.outliers()) == 0 ? 0
                : differing(expected.outliers(), actual.outliers());
        System.out.printf("consistent flow: confidence max difference %.2g, outlier flags differing %.4f%n", confidence, flags);
        assertTrue(confidence <= 1e-3, "confidence differs by " + confidence);
        assertTrue(flags <= 1e-3, "outlier flags differ on " + flags + " of pixels");
    }

    private static double differing(Image a, Image b) {
        int count = 0;
        for (int i = 0; i < a.data().length; i++) {
            count += a.data()[i] != b.data()[i] ? 1 : 0;
        }
        return (double) count / a.data().length;
    }

    private static void compare(Image previous, Image next, PyramidalFlow.Settings settings, String what) {
        FlowField expected = new PyramidalFlow(settings).estimate(previous, next);
        FlowField actual;
        try (DeviceFlow device = new DeviceFlow(settings, Device.cpu())) {
            actual = device.estimate(previous, next);
        }
        check(expected, actual, what);
    }

    private static void check(FlowField expected, FlowField actual, String what) {
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
