package io.fluostream.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.sim.SimulationSettings;
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
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The flow stage's topology on TopologyTestDriver (frames.stabilised → frames.flow), fed with a
 * simulated drift-free stream standing in for stabilised frames (offset-free raw channels of the
 * forward model, 100 e⁻, tissue moving up to 2 px/frame), so the true flow is known.
 */
class FlowTopologyTest {

    private static final int SIZE = 128;
    private static final String STREAM = "rig1/cam0/pos0";
    private static ForwardModel model;
    private static final List<Frame> INPUT = new ArrayList<>();

    @BeforeAll
    static void simulate() {
        SimulationSettings s = SimulationSettings.defaults().withSize(SIZE, SIZE).withMaxDriftPx(0)
                .withPhotonLevel(100).withMaxFlowPxPerFrame(2);
        model = new ForwardModel(s, 0);
        for (int t = 0; t < 3; t++) {
            SimulatedFrame f = model.frame(t);
            Image offsetFree = f.raw().copy();
            float[] d = offsetFree.data();
            for (int i = 0; i < d.length; i++) {
                d[i] -= (float) s.offsetAdu();
            }
            INPUT.add(FrameImages.withImage(Frame.newBuilder().setStreamId(STREAM).setSequence(t).setAcquiredAtUs(1000L * t),
                    offsetFree, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build());
        }
    }

    /** Runs the frames through a fresh topology with these parameter overrides; returns the flow frames. */
    private static List<Frame> run(Map<String, ?> parameters, List<Frame> frames) throws Exception {
        FlowKernel kernel = new FlowKernel();
        try {
            return StageTopologyRun.run(new StageRuntime(kernel, new StageIdentity("flow", "test", "t1"), TopicNames.defaults(),
                    new SimpleMeterRegistry(), parameters), frames);
        } finally {
            kernel.close();
        }
    }

    private static SignalMask scored() {
        return SignalMask.fromIntensity(Images.sumChannels(model.driftFreeClean(0)), SignalMask.DEFAULT_FRACTION, 12);
    }

    @Test
    void firstFrameIsZeroFlowFlaggedLaterFramesCarryFlowConfidenceAndOutliers() throws Exception {
        List<Frame> out = run(Map.of(), INPUT);
        assertEquals(3, out.size());

        Frame first = out.get(0);
        assertEquals(1.0, first.getFiguresOrThrow("flow.first_frame"));
        for (float v : FrameImages.image(first).data()) {
            assertEquals(0f, v);
        }
        Image firstConfidence = FrameImages.plane(first, "flow.confidence").orElseThrow();
        for (float v : firstConfidence.data()) {
            assertEquals(0f, v, "nothing is measured on the first frame");
        }

        Frame second = out.get(1);
        assertTrue(!second.containsFigures("flow.first_frame"));
        assertEquals(0.0, second.getFiguresOrThrow("flow.from_sequence"));
        FlowField measured = new FlowField(FrameImages.image(second));
        FlowField truth = new FlowField(model.frame(1).flow());
        SignalMask mask = scored();
        double epe = FlowField.endpointError(measured, truth, mask);
        double zero = FlowField.endpointError(new FlowField(SIZE, SIZE), truth, mask);
        // measured 0.174 px against 0.561 px for the zero field (a small frame: 16 px windows reach its edges)
        assertTrue(epe < 0.3 && epe < 0.6 * zero, "EPE " + epe + " px vs zero field " + zero + " px");

        Image confidence = FrameImages.plane(second, "flow.confidence").orElseThrow();
        Image outliers = FrameImages.plane(second, "flow.outliers").orElseThrow();
        assertEquals(SIZE, confidence.height());
        for (float c : confidence.data()) {
            assertTrue(c >= 0f && c <= 1f, "confidence " + c + " outside [0, 1]");
        }
        for (float o : outliers.data()) {
            assertTrue(o == 0f || o == 1f, "outlier flag " + o);
        }
        double meanConfidence = second.getFiguresOrThrow("flow.mean_confidence");
        assertEquals(mask.mean(confidence), meanConfidence, 0.05, "the figure summarises the plane (over the signal mask)");
        // measured 0.973
        assertTrue(meanConfidence > 0.7, "textured, consistent flow is trusted: " + meanConfidence);
        assertTrue(second.getFiguresOrThrow("flow.outlier_fraction") < 0.01);
        assertTrue(second.getProvenance(second.getProvenanceCount() - 1).getMethod().startsWith("pyramidal-lk"));
    }

    @Test
    void theLearnedMethodIsSelectableAndNamesItsModel() throws Exception {
        List<Frame> plain = run(Map.of(), INPUT);
        List<Frame> learned = run(Map.of("method", "learned"), INPUT);
        Frame second = learned.get(1);
        String method = second.getProvenance(second.getProvenanceCount() - 1).getMethod();
        assertTrue(method.startsWith("learned:flow-refiner"), method);
        FlowField truth = new FlowField(model.frame(1).flow());
        SignalMask mask = scored();
        double epeLearned = FlowField.endpointError(new FlowField(FrameImages.image(second)), truth, mask);
        double epePlain = FlowField.endpointError(new FlowField(FrameImages.image(plain.get(1))), truth, mask);
        double zero = FlowField.endpointError(new FlowField(SIZE, SIZE), truth, mask);
        // measured 0.192 px learned, 0.174 px variational, 0.561 px zero field: at 100 e- on a
        // small frame the network gains nothing (it gains at 5-20 e- on 256 px frames, see bench flow)
        assertTrue(epeLearned < 0.3 && epeLearned < 0.6 * zero, "learned " + epeLearned + " px, variational " + epePlain
                + " px, zero field " + zero + " px");
        assertTrue(FrameImages.plane(second, "flow.confidence").isPresent(), "the learned field is checked too");
    }

    @Test
    void temporalSmoothingBlendsEachFieldWithThePreviousOutput() throws Exception {
        List<Frame> plain = run(Map.of(), INPUT);
        List<Frame> smoothed = run(Map.of("temporal_smoothing", 0.25), INPUT);
        float[] f1 = FrameImages.image(plain.get(1)).data();
        float[] f2 = FrameImages.image(plain.get(2)).data();
        float[] s1 = FrameImages.image(smoothed.get(1)).data();
        float[] s2 = FrameImages.image(smoothed.get(2)).data();
        for (int i = 0; i < f1.length; i++) {
            // The first measured field starts the average; the next is 0.25·s1 + 0.75·f2.
            assertEquals(f1[i], s1[i], 1e-6f);
            assertEquals(0.25f * s1[i] + 0.75f * f2[i], s2[i], 1e-5f);
        }
    }

    @Test
    void aFrameAfterAGapOrResizeStartsOverWithoutLosingData() throws Exception {
        Image small = new Image(4, 64, 64);
        Frame resized = FrameImages.withImage(Frame.newBuilder().setStreamId(STREAM).setSequence(5).setAcquiredAtUs(1),
                small, PixelType.FLOAT32, Encoding.SHUFFLE_ZSTD).build();
        List<Frame> out = run(Map.of(), List.of(INPUT.get(0), INPUT.get(1), resized));
        assertEquals(3, out.size());
        assertEquals(1.0, out.get(2).getFiguresOrThrow("flow.first_frame"));
        assertTrue(out.get(2).getProvenance(out.get(2).getProvenanceCount() - 1).getNote().contains("size changed"));
    }
}
