package io.fluostream.imaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ImagesTest {

    @Test
    void stackThenChannelGivesThePlanesBack() {
        Image a = new Image(1, 2, 3, new float[] {1, 2, 3, 4, 5, 6});
        Image b = new Image(1, 2, 3, new float[] {7, 8, 9, 10, 11, 12});
        Image s = Images.stack(a, b);
        assertEquals(2, s.channels());
        assertEquals(9f, s.get(1, 0, 2));
        assertArrayEquals(b.data(), s.channel(1).data());
        assertArrayEquals(new float[] {8, 10, 12, 14, 16, 18}, Images.sumChannels(s).data());
    }

    @Test
    void psnrOfAKnownError() {
        Image truth = new Image(1, 1, 4, new float[] {0, 10, 0, 10});
        Image est = new Image(1, 1, 4, new float[] {1, 9, 1, 9});
        // rmse 1, peak 10 -> 20 dB
        assertEquals(20.0, Images.psnr(truth, est), 1e-9);
    }

    @Test
    void rejectsAShapeThatDoesNotMatchTheData() {
        assertThrows(IllegalArgumentException.class, () -> new Image(2, 2, 2, new float[7]));
        assertThrows(IllegalArgumentException.class, () -> new Image(0, 2, 2));
    }
}
