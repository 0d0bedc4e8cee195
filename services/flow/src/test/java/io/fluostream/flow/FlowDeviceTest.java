package io.fluostream.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The flow stage on the device path ({@code fluostream.device=djl-cpu}) against the pure-Java
 * stage ({@code cpu}): the same frames through the whole topology (stream memory, the
 * forward–backward check, the figures). Tolerances: flow vectors within 1e-3 px, confidence within
 * 1e-3, outlier flags different on at most 0.1% of pixels (a vector at the threshold may fall either
 * side), figures within 1e-3. Measured values are printed.
 */
class FlowDeviceTest {

    private static final int SIZE = 96;
    private static final String STREAM = "rig1/cam0/pos0";
    private static final List<Frame> INPUT = new ArrayList<>();

    @BeforeAll
    static void simulate() {
        SimulationSettings s = SimulationSettings.defaults().withSize(SIZE, SIZE).withMaxDriftPx(0).withPhotonLevel(100)
                .withMaxFlowPxPerFrame(2).withSeed(4);
        ForwardModel model = new ForwardModel(s, 0);
        for (int t = 0; t < 3; t++) {
            Image offsetFree = model.frame(t).raw().copy();
            float[] d = offsetFree.data();
            for (int i = 0; i < d.length; i++) {
                d[i] -= (float) s.offsetAdu();
            }
            INPUT.add(FrameImages.withImage(Frame.newBuilder().setStreamId(STREAM).setSequence(t), offsetFree,
                    PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build());
        }
    }

    @Test
    void djlCpuStageMatchesTheCpuStage() throws Exception {
        List<Frame> java = run(new FlowKernel(DeviceChoice.cpu()), Map.of());
        List<Frame> device = run(new FlowKernel(DeviceChoice.djlCpu()), Map.of());
        assertEquals(INPUT.size(), device.size());
        double worstVector = 0;
        double worstConfidence = 0;
        double worstFigure = 0;
        double flagsDiffering = 0;
        for (int t = 1; t < INPUT.size(); t++) {
            Frame a = java.get(t);
            Frame b = device.get(t);
            worstVector = Math.max(worstVector, maxDifference(FrameImages.image(a), FrameImages.image(b)));
            worstConfidence = Math.max(worstConfidence, maxDifference(FrameImages.plane(a, "flow.confidence").orElseThrow(),
                    FrameImages.plane(b, "flow.confidence").orElseThrow()));
            flagsDiffering = Math.max(flagsDiffering, differing(FrameImages.plane(a, "flow.outliers").orElseThrow(),
                    FrameImages.plane(b, "flow.outliers").orElseThrow()));
            for (String figure : List.of("flow.mean_speed_px", "flow.mean_confidence", "flow.outlier_fraction",
                    "flow.mean_divergence")) {
                worstFigure = Math.max(worstFigure, Math.abs(a.getFiguresOrThrow(figure) - b.getFiguresOrThrow(figure)));
            }
            String method = a.getProvenance(a.getProvenanceCount() - 1).getMethod();
            assertEquals(method, b.getProvenance(b.getProvenanceCount() - 1).getMethod());
        }
        System.out.printf("flow stage djl-cpu vs cpu: vectors %.2g px, confidence %.2g, outlier flags differing %.4f,"
                + " figures %.2g%n", worstVector, worstConfidence, flagsDiffering, worstFigure);
        assertTrue(worstVector <= 1e-3, "flow differs by " + worstVector + " px");
        assertTrue(worstConfidence <= 1e-3, "confidence differs by " + worstConfidence);
        assertTrue(flagsDiffering <= 1e-3, "outlier flags differ on " + flagsDiffering + " of pixels");
        assertTrue(worstFigure <= 1e-3, "figures differ by " + worstFigure);
    }

    @Test
    void statusReportsTheDeviceEachKernelUses() {
        FlowKernel device = new FlowKernel(DeviceChoice.djlCpu());
        FlowKernel java = new FlowKernel();
        try {
            assertEquals("djl-cpu", runtime(device, Map.of()).device());
            assertEquals("cpu", runtime(java, Map.of()).device());
        } finally {
            device.close();
            java.close();
        }
    }

    private static StageRuntime runtime(FlowKernel kernel, Map<String, ?> parameters) {
        return new StageRuntime(kernel, new StageIdentity("flow", "test", "t1"), TopicNames.defaults(),
                new SimpleMeterRegistry(), parameters);
    }

    private static List<Frame> run(FlowKernel kernel, Map<String, ?> parameters) throws Exception {
        try {
            return StageTopologyRun.run(runtime(kernel, parameters), INPUT);
        } finally {
            kernel.close();
        }
    }

    private static double maxDifference(Image a, Image b) {
        double worst = 0;
        for (int i = 0; i < a.data().length; i++) {
            worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]));
        }
        return worst;
    }

    private static double differing(Image a, Image b) {
        int count = 0;
        for (int i = 0; i < a.data().length; i++) {
            count += a.data()[i] != b.data()[i] ? 1 : 0;
        }
        return (double) count / a.data().length;
    }
}
