package io.fluostream.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.proto.Frame;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.StageIdentity;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StageParameters;
import io.fluostream.stage.StageRuntime;
import io.fluostream.stage.StreamMemory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The stage on the device path ({@code fluostream.device=djl-cpu}) against the pure-Java stage
 * ({@code cpu}) on one drifting stream, frame by frame, through the whole kernel (templates,
 * running mean, binning, piecewise patches). Tolerances: measured shifts within 0.002 px and
 * confidence within 0.002 (float32 FFTs on the device against double); corrected frames within
 * 1e-4 of the frame's largest value (the running-mean template carries each frame's rounding
 * into the next estimate); piecewise patch deviations within 0.01 px. Measured values are printed.
 */
class StabiliseDeviceTest {

    private static final String STREAM = "rig-1/cam-0/pos-0";
    private static final int FRAMES = 6;

    private final ForwardModel model = new ForwardModel(SimulationSettings.defaults().toBuilder().height(96).width(96)
            .channels(2).fluorophores(2).maxFlowPxPerFrame(0).maxDriftPx(12).seed(5).build(), 0);

    @Test
    void djlCpuStageMatchesTheCpuStageFrameByFrame() throws Exception {
        compare(Map.of(), "rigid, running mean");
    }

    @Test
    void djlCpuStageMatchesWithBinningAndPiecewisePatches() throws Exception {
        compare(Map.of("binning", 2, "template", "first"), "rigid, binned 2x2");
        compare(Map.of("mode", "piecewise", "patch_px", 48, "patch_overlap_px", 16), "piecewise");
    }

    @Test
    void statusReportsTheDeviceEachKernelUses() {
        StabiliseKernel device = new StabiliseKernel(DeviceChoice.djlCpu());
        StabiliseKernel java = new StabiliseKernel(DeviceChoice.cpu());
        try {
            assertEquals("djl-cpu", runtime(device).device());
            assertEquals("cpu", runtime(java).device());
        } finally {
            device.close();
            java.close();
        }
    }

    private static StageRuntime runtime(StabiliseKernel kernel) {
        return new StageRuntime(kernel, new StageIdentity("stabilise", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), Map.of());
    }

    private void compare(Map<String, ?> overrides, String what) throws FrameRejected {
        StabiliseKernel java = new StabiliseKernel(DeviceChoice.cpu());
        StabiliseKernel device = new StabiliseKernel(DeviceChoice.djlCpu());
        try {
            StageParameters parameters = new StageParameters(java.parameters());
            parameters.set(overrides);
            double worstShift = 0;
            double worstConfidence = 0;
            double worstPixel = 0;
            double worstPatch = 0;
            for (int t = 0; t < FRAMES; t++) {
                Image pixels = model.frame(t).abundances();
                StageOutput a = process(java, t, pixels, parameters);
                StageOutput b = process(device, t, pixels, parameters);
                worstShift = Math.max(worstShift, Math.max(difference(a, b, "shift_x_px"), difference(a, b, "shift_y_px")));
                worstConfidence = Math.max(worstConfidence, difference(a, b, "confidence"));
                if (a.figures().containsKey("patch_shift_max_px")) {
                    worstPatch = Math.max(worstPatch, difference(a, b, "patch_shift_max_px"));
                }
                assertEquals(a.figures().get("registered"), b.figures().get("registered"), what + ", frame " + t);
                assertEquals(a.method(), b.method());
                worstPixel = Math.max(worstPixel, relativeDifference(a.pixels(), b.pixels()));
            }
            System.out.printf("stabilise stage djl-cpu vs cpu, %s: shift %.2g px, confidence %.2g, pixels %.2g of full scale,"
                    + " patch deviation %.2g px%n", what, worstShift, worstConfidence, worstPixel, worstPatch);
            assertTrue(worstShift <= 2e-3, what + ": shifts differ by " + worstShift + " px");
            assertTrue(worstConfidence <= 2e-3, what + ": confidence differs by " + worstConfidence);
            assertTrue(worstPixel <= 1e-4, what + ": corrected frames differ by " + worstPixel + " of full scale");
            assertTrue(worstPatch <= 1e-2, what + ": patch deviations differ by " + worstPatch + " px");
        } finally {
            java.close();
            device.close();
        }
    }

    private static StageOutput process(StabiliseKernel kernel, long sequence, Image pixels, StageParameters parameters)
            throws FrameRejected {
        Frame header = Frame.newBuilder().setStreamId(STREAM).setSequence(sequence).build();
        return kernel.process(new FrameInput(header, pixels, StreamMemory.none(STREAM), parameters.current()));
    }

    private static double difference(StageOutput a, StageOutput b, String figure) {
        return Math.abs(a.figures().get(figure) - b.figures().get(figure));
    }

    private static double relativeDifference(Image a, Image b) {
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < a.data().length; i++) {
            worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]));
            scale = Math.max(scale, Math.abs(a.data()[i]));
        }
        return worst / scale;
    }
}
