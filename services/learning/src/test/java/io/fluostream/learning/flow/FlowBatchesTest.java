package io.fluostream.learning.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.fluostream.imaging.Image;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link FlowBatches}: mirrors and transposes move the flow components with the image. */
class FlowBatchesTest {

    /** Every pixel: estimate (1, 2), smoothing changes (0.1, 0.2), (0.3, 0.4), (0.7, 0.8), residual (0.5, −0.25). */
    private static FlowTrainingSet.Example uniform(int size) {
        int m = size * size;
        Image in = new Image(RefinerInputs.CHANNELS, size, size);
        float[] pairs = {1, 2, 0.1f, 0.2f, 0.3f, 0.4f, 0.7f, 0.8f};
        for (int c = 3; c < RefinerInputs.CHANNELS; c++) {
            Arrays.fill(in.data(), c * m, (c + 1) * m, pairs[c - 3]);
        }
        Image residual = new Image(2, size, size);
        Arrays.fill(residual.data(), 0, m, 0.5f);
        Arrays.fill(residual.data(), m, 2 * m, -0.25f);
        Image weight = new Image(1, size, size);
        Arrays.fill(weight.data(), 1f);
        return new FlowTrainingSet.Example(in, residual, weight);
    }

    @Test
    void everyFlowPairFollowsTheSameMirrorAndTranspose() {
        FlowBatches batches = new FlowBatches(List.of(uniform(24)), 16, 5);
        try (NDManager manager = NDManager.newBaseManager()) {
            int seen = 0;
            boolean sawTranspose = false;
            boolean sawMirror = false;
            for (int k = 0; k < 4; k++) {
                NDList[] batch = batches.next(manager, 8);
                float[] x = batch[0].singletonOrThrow().toFloatArray();
                float[] y = batch[1].get(0).toFloatArray();
                int plane = 16 * 16;
                for (int b = 0; b < 8; b++) {
                    int xb = b * RefinerInputs.CHANNELS * plane;
                    float u = x[xb + 3 * plane];
                    float v = x[xb + 4 * plane];
                    boolean transposed = Math.abs(u) == 2f;
                    // Undo the transpose, then read the mirrors' signs off the estimate (1, 2).
                    float sx = transposed ? v : u;
                    float sy = (transposed ? u : v) / 2;
                    sawTranspose |= transposed;
                    sawMirror |= sx < 0 || sy < 0;
                    float[][] expected = {{0.1f * sx, 0.2f * sy}, {0.3f * sx, 0.4f * sy}, {0.7f * sx, 0.8f * sy},
                        {0.5f * sx, -0.25f * sy}};
                    float[][] actual = {
                        {x[xb + 5 * plane], x[xb + 6 * plane]},
                        {x[xb + 7 * plane], x[xb + 8 * plane]},
                        {x[xb + 9 * plane], x[xb + 10 * plane]},
                        {y[b * 2 * plane], y[b * 2 * plane + plane]}};
                    for (int p = 0; p < expected.length; p++) {
                        float eu = transposed ? expected[p][1] : expected[p][0];
                        float ev = transposed ? expected[p][0] : expected[p][1];
                        assertEquals(eu, actual[p][0], 1e-7f, "pair " + p + " u, sample " + seen);
                        assertEquals(ev, actual[p][1], 1e-7f, "pair " + p + " v, sample " + seen);
                    }
                    seen++;
                }
            }
            assertTrue(sawTranspose && sawMirror, "test premise: 32 draws include mirrors and transposes");
        }
    }

    @Test
    void cropsLargerThanTheExamplesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FlowBatches(List.of(uniform(8)), 16, 1));
        assertTrue(e.getMessage().contains("crop"), e.getMessage());
    }
}
