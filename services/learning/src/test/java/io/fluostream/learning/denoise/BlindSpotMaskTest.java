package io.fluostream.learning.denoise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The blind spots make the loss J-invariant: it cannot see the masked pixels' own values. */
class BlindSpotMaskTest {

    private static final int C = 2;
    private static final int H = 24;
    private static final int W = 20;

    private static float[] noise(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[C * H * W];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void maskedInputDoesNotDependOnTheMaskedPixelsValues() {
        float[] original = noise(1);
        float[] input = original.clone();
        float[] mask = new float[original.length];
        new BlindSpotMask(0.05, 2, new SplittableRandom(7)).apply(input, 0, C, H, W, mask, 0);

        // Change every masked pixel's value (what the loss compares against) and mask again with the
        // same random draws: the network's input must come out identical.
        float[] changed = original.clone();
        int masked = 0;
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] == 1f) {
                changed[i] += 100f;
                masked++;
            }
        }
        float[] input2 = changed.clone();
        float[] mask2 = new float[original.length];
        new BlindSpotMask(0.05, 2, new SplittableRandom(7)).apply(input2, 0, C, H, W, mask2, 0);
        assertArrayEquals(mask, mask2, 0f);
        assertArrayEquals(input, input2, 0f, "a masked pixel's value leaked into the masked input");

        // One blind spot per 4×4 cell (fraction 0.05 → cell 4): 6×5 cells per channel.
        assertEquals(C * (H / 4) * (W / 4), masked);
        // The unmasked pixels are untouched, the masked ones replaced.
        for (int i = 0; i < mask.length; i++) {
            if (mask[i] == 0f) {
                assertEquals(original[i], input[i], 0f);
            }
        }
    }

    @Test
    void lossOnlyCountsBlindSpots() {
        Torch.init();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray pred = m.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 2, 2));
            NDArray target = m.create(new float[] {1, 0, 3, 10}, new Shape(1, 1, 2, 2));
            NDArray mask = m.create(new float[] {0, 1, 0, 0}, new Shape(1, 1, 2, 2));
            // Only the pixel with error 2 counts: (2)² / 1.
            assertEquals(4f, BlindSpotTrainer.maskedLoss(pred, target, mask).getFloat(), 1e-6f);
            NDArray mask2 = m.create(new float[] {0, 1, 0, 1}, new Shape(1, 1, 2, 2));
            assertEquals((4f + 36f) / 2, BlindSpotTrainer.maskedLoss(pred, target, mask2).getFloat(), 1e-5f);
            assertNotEquals(0f, BlindSpotTrainer.maskedLoss(pred, target, mask2).getFloat());
        }
    }
}
