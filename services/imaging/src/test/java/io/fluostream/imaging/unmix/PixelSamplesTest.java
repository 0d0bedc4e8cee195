package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The sample keeps the newest pixels; {@code newest(n)} returns the last n frames' in arrival order. */
class PixelSamplesTest {

    /** A 2-channel frame whose every pixel is (t, 10 t): the value says which frame a sample came from. */
    private static Image frame(int t) {
        Image img = new Image(2, 4, 4);
        Arrays.fill(img.data(), 0, 16, t);
        Arrays.fill(img.data(), 16, 32, 10 * t);
        return img;
    }

    @Test
    void newestFramesComeInArrivalOrderAcrossTheWrap() {
        PixelSamples s = new PixelSamples(5, 2, 1);
        for (int t = 1; t <= 4; t++) {
            s.add(frame(t)); // 8 pixels into a ring of 5: the write position has wrapped
        }
        assertEquals(5, s.size());
        float[][] two = s.newest(2);
        assertArrayEquals(new float[] {3, 3, 4, 4}, two[0]);
        assertArrayEquals(new float[] {30, 30, 40, 40}, two[1]);
        // More frames than kept: everything kept, oldest first.
        assertArrayEquals(new float[] {2, 3, 3, 4, 4}, s.newest(100)[0]);
    }
}
