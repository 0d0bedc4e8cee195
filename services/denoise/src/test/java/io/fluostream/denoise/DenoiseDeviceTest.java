package io.fluostream.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.proto.Frame;
import io.fluostream.rig.SimulatedFrames;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.StageTopologyRun;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The denoise stage with {@code fluostream.device=djl-cpu} against {@code cpu}: the classical
 * method (serving until a model is in force) runs on the device path and gives the same frames.
 * Tolerance: samples within 1e-4 of the frame's largest value (float32 on both paths, summed in a
 * different order), noise figures within 1e-4 relative; the status names the device.
 */
class DenoiseDeviceTest {

    @Test
    void theDeviceClassicalPathGivesTheSameFramesAsThePureJavaOne() throws Exception {
        List<Frame> java = run(new DenoiseKernel(DeviceChoice.cpu()), "cpu");
        List<Frame> device = run(new DenoiseKernel(DeviceChoice.djlCpu()), "djl-cpu");
        assertEquals(3, device.size());
        double worst = 0;
        double worstFigure = 0;
        for (int t = 0; t < java.size(); t++) {
            Image a = FrameImages.image(java.get(t));
            Image b = FrameImages.image(device.get(t));
            double scale = 0;
            for (float v : a.data()) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < a.data().length; i++) {
                worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]) / scale);
            }
            double sa = java.get(t).getFiguresOrThrow("denoise.noise_sigma_adu");
            double sb = device.get(t).getFiguresOrThrow("denoise.noise_sigma_adu");
            worstFigure = Math.max(worstFigure, Math.abs(sa - sb) / sa);
            assertEquals(java.get(t).getProvenance(0).getMethod(), device.get(t).getProvenance(0).getMethod());
        }
        System.out.printf("denoise stage djl-cpu vs cpu: samples %.2g of full scale, noise sigma %.2g relative%n", worst, worstFigure);
        assertTrue(worst <= 1e-4, "denoised samples differ by " + worst + " of full scale");
        assertTrue(worstFigure <= 1e-4, "noise sigma differs by " + worstFigure + " (relative)");
    }

    private static List<Frame> run(DenoiseKernel kernel, String expectedDevice) throws Exception {
        SimulationSettings settings = SimulationSettings.defaults().withSize(64, 64).withPhotonLevel(10).withSeed(5);
        ForwardModel model = new ForwardModel(settings, 0);
        StageRuntime runtime = new StageRuntime(kernel, new StageIdentity("denoise", "test", "t"),
                TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
        assertEquals(expectedDevice, runtime.device(), "what GetStatus reports");
        List<Frame> in = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            in.add(SimulatedFrames.toFrame(model, model.frame(t), "sim/pos0", 1, 0));
        }
        try {
            return StageTopologyRun.run(runtime, in);
        } finally {
            kernel.close();
        }
    }
}
