package io.fluostream.unmix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.proto.Encoding;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.StageTopologyRun;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The unmix stage with {@code fluostream.device=djl-cpu} against {@code cpu}, for the methods the
 * device path serves (nnls, ls): the same abundances and residual planes within 1e-4 of the largest
 * abundance (float32 on both paths; the device solves by a batched matrix product, the CPU path
 * pixel by pixel), the same method in provenance; the status names the device.
 */
class UnmixDeviceTest {

    @ParameterizedTest
    @ValueSource(strings = {"nnls", "ls"})
    void theDevicePathGivesTheSameAbundancesAsThePureJavaOne(String method) throws Exception {
        List<Frame> java = run(new UnmixKernel(DeviceChoice.cpu()), "cpu", method);
        List<Frame> device = run(new UnmixKernel(DeviceChoice.djlCpu()), "djl-cpu", method);
        assertEquals(2, device.size());
        double worst = 0;
        for (int t = 0; t < java.size(); t++) {
            Image a = FrameImages.image(java.get(t));
            Image b = FrameImages.image(device.get(t));
            Image ra = FrameImages.plane(java.get(t), "unmix.residual").orElseThrow();
            Image rb = FrameImages.plane(device.get(t), "unmix.residual").orElseThrow();
            double scale = 0;
            for (float v : a.data()) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < a.data().length; i++) {
                worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]) / scale);
            }
            for (int i = 0; i < ra.data().length; i++) {
                worst = Math.max(worst, Math.abs(ra.data()[i] - rb.data()[i]) / scale);
            }
            assertEquals(method, device.get(t).getProvenance(0).getMethod());
        }
        System.out.printf("unmix stage %s djl-cpu vs cpu: %.2g of the largest abundance%n", method, worst);
        assertTrue(worst <= 1e-4, method + ": abundances or residuals differ by " + worst + " of the largest abundance");
    }

    private static List<Frame> run(UnmixKernel kernel, String expectedDevice, String method) throws Exception {
        SimulationSettings settings = SimulationSettings.defaults().withSize(48, 48).withPhotonLevel(20).withSeed(8);
        ForwardModel model = new ForwardModel(settings, 0);
        StageRuntime runtime = new StageRuntime(kernel, new StageIdentity("unmix", "test", "t"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of("method", method, "threads", 1,
                "spectra", ReferenceSpectra.of(model.mixingMatrix()).toText()));
        assertEquals(expectedDevice, runtime.device(), "what GetStatus reports");
        List<Frame> in = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Image offsetFree = model.frame(t).raw().copy();
            for (int i = 0; i < offsetFree.data().length; i++) {
                offsetFree.data()[i] -= (float) settings.offsetAdu();
            }
            Frame.Builder b = Frame.newBuilder().setStreamId("sim/pos0").setSequence(t).setAcquiredAtUs(1 + t);
            in.add(FrameImages.withImage(b, offsetFree, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build());
        }
        try {
            return StageTopologyRun.run(runtime, in);
        } finally {
            kernel.close();
        }
    }
}
