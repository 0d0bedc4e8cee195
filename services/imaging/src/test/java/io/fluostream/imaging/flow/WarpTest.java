package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import org.junit.jupiter.api.Test;

/** {@link Warp}: exact where bilinear interpolation is exact, and the flow sign convention. */
class WarpTest {

    @Test
    void integerShiftMovesPixelsExactly() {
        Image src = new Image(1, 4, 5);
        for (int i = 0; i < 20; i++) {
            src.data()[i] = i;
        }
        // out(p) = src(p + (1, 2)): row y of out is row y+2 of src, shifted one column.
        Image out = Warp.bilinear(src, FlowField.uniform(4, 5, 1, 2));
        assertEquals(src.get(0, 2, 1), out.get(0, 0, 0));
        assertEquals(src.get(0, 3, 4), out.get(0, 1, 3));
        // Beyond the edge the nearest edge sample is taken.
        assertEquals(src.get(0, 3, 4), out.get(0, 3, 4));
    }

    @Test
    void linearRampIsReproducedExactlyAtAnySubPixelOffset() {
        int h = 16;
        int w = 16;
        Image ramp = new Image(1, h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                ramp.set(0, y, x, 2f * x + 3f * y);
            }
        }
        Image out = Warp.bilinear(ramp, FlowField.uniform(h, w, 0.37, -0.61));
        for (int y = 1; y < h - 1; y++) {
            for (int x = 0; x < w - 1; x++) {
                assertEquals(2 * (x + 0.37) + 3 * (y - 0.61), out.get(0, y, x), 1e-4);
            }
        }
    }

    @Test
    void warpingTheNextFrameByTheTrueFlowGivesThePreviousFrame() {
        FlowScenes.Scene s = FlowScenes.render(FlowScenes.randomBlobs(2, 64, 64, 40),
                FlowScenes.vortex(1.5, 15, 32, 32), 64, 64);
        Image back = Warp.bilinear(s.next(), s.truth());
        // Compare away from the border, where content entered from outside the frame.
        Image inner = crop(back, 6);
        Image reference = crop(s.previous(), 6);
        double before = Images.rmse(crop(s.next(), 6), reference);
        double after = Images.rmse(inner, reference);
        // measured: 0.153 before, 0.011 after (bilinear interpolation error on σ ≥ 1.5 px blobs)
        assertTrue(after < 0.1 * before, "rmse after " + after + " vs before " + before);
    }

    @Test
    void everyChannelIsWarpedAndShapesAreChecked() {
        Image two = new Image(2, 3, 3);
        two.set(1, 1, 2, 7f);
        Image out = Warp.bilinear(two, FlowField.uniform(3, 3, 1, 0));
        assertEquals(7f, out.get(1, 1, 1));
        assertArrayEquals(new float[9], out.channel(0).data());
        assertThrows(IllegalArgumentException.class, () -> Warp.bilinear(two, new FlowField(3, 4)));
        assertThrows(IllegalArgumentException.class, () -> Warp.bilinear(two, new FlowField(3, 3), two));
    }

    private static Image crop(Image in, int margin) {
        int h = in.height() - 2 * margin;
        int w = in.width() - 2 * margin;
        Image out = new Image(1, h, w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                out.set(0, y, x, in.get(0, y + margin, x + margin));
            }
        }
        return out;
    }
}
