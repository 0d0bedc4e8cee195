package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** {@link SignalMask}: the threshold rule on a known image, the border margin and bad input. */
class SignalMaskTest {

    /** A 60×60 frame: background 1, a 20×20 square of 100 at rows/columns 20..39, one hot pixel. */
    private static Image squareOnBackground() {
        Image im = new Image(1, 60, 60);
        Arrays.fill(im.data(), 1f);
        for (int y = 20; y < 40; y++) {
            for (int x = 20; x < 40; x++) {
                im.set(0, y, x, 100f);
            }
        }
        im.set(0, 5, 5, 5000f); // a hot pixel must not set the robust maximum
        return im;
    }

    @Test
    void pixelsAboveAFractionOfTheRobustMaximumHaveSignal() {
        SignalMask mask = SignalMask.fromIntensity(squareOnBackground(), 0.1, 0);
        // The 99th percentile is the square's 100 (it covers 11% of the frame): threshold 10.
        // After the σ = 1 px smoothing the square's edge pixels stay far above 10 and the
        // background 2 px out falls far below, so the mask is the square, one pixel wider at most.
        assertTrue(mask.contains(20, 20));
        assertTrue(mask.contains(30, 30));
        assertTrue(mask.contains(39, 39));
        assertFalse(mask.contains(17, 30));
        assertFalse(mask.contains(50, 50));
        // The hot pixel, smoothed, stays above 10 over its 5×5 neighbourhood (5000 × the σ = 1
        // kernel): it has signal, but did not raise the threshold (the square would have gone).
        assertTrue(mask.contains(5, 5));
        assertFalse(mask.contains(5, 8));
        // measured 505 = the square with a 1 px ring (corners rounded off) + the hot 5×5
        assertTrue(mask.count() >= 400 + 25 && mask.count() <= 22 * 22 + 25, "count " + mask.count());
    }

    @Test
    void borderMarginIsExcluded() {
        SignalMask all = SignalMask.fromIntensity(squareOnBackground(), 0.0, 25);
        assertFalse(all.contains(24, 30));
        assertTrue(all.contains(25, 25));
        assertEquals(10 * 10, all.count());
        assertEquals(36, SignalMask.interior(10, 10, 2).count());
        assertEquals(0, SignalMask.interior(10, 10, 5).count());
    }

    @Test
    void percentileFromTheHistogramIsCloseToTheExactOne() {
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        // Exact 99th percentile is 989; the histogram is good to one bin, (999 − 0)/4096.
        assertEquals(989.0, SignalMask.percentile(values, 99.0), 1.0);
    }

    @Test
    void aDarkFrameHasNoSignal() {
        assertEquals(0, SignalMask.fromIntensity(new Image(1, 8, 8)).count());
    }

    @Test
    void badInputIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> SignalMask.fromIntensity(new Image(2, 8, 8)));
        assertThrows(IllegalArgumentException.class, () -> SignalMask.fromIntensity(new Image(1, 8, 8), 1.5, 0));
        assertThrows(IllegalArgumentException.class, () -> SignalMask.interior(8, 8, -1));
        Image nan = new Image(1, 8, 8);
        nan.set(0, 1, 1, Float.NaN);
        assertThrows(IllegalArgumentException.class, () -> SignalMask.fromIntensity(nan));
        assertThrows(IllegalArgumentException.class, () -> SignalMask.all(4, 4).and(SignalMask.all(4, 5)));
    }
}
