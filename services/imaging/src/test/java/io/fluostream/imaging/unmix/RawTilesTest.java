package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fluostream.imaging.Image;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tiles are true crops of the frames they came from, the newest kept, in arrival order. */
class RawTilesTest {

    /** Frame t: channel c at (y, x) holds t·10⁶ + c·10⁴ + y·100 + x, so a value says where it came from. */
    private static Image frame(int t, int channels, int h, int w) {
        Image img = new Image(channels, h, w);
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    img.data()[img.planeOffset(c) + y * w + x] = t * 1_000_000f + c * 10_000f + y * 100f + x;
                }
            }
        }
        return img;
    }

    @Test
    void keepsTheNewestTilesAsContiguousCropsInArrivalOrder() {
        RawTiles tiles = new RawTiles(3, 16, 7);
        for (int t = 1; t <= 5; t++) {
            tiles.add(frame(t, 2, 40, 50));
        }
        assertEquals(3, tiles.size());
        assertEquals(5, tiles.frames());
        List<Image> newest = tiles.newest(10);
        assertEquals(3, newest.size());
        for (int k = 0; k < 3; k++) {
            Image tile = newest.get(k);
            assertEquals(16, tile.height());
            assertEquals(16, tile.width());
            float first = tile.get(0, 0, 0);
            int t = (int) (first / 1_000_000);
            assertEquals(3 + k, t, "tile " + k + " comes from frame " + (3 + k));
            int y0 = (int) ((first - t * 1_000_000f) / 100);
            int x0 = (int) (first - t * 1_000_000f - y0 * 100);
            for (int c = 0; c < 2; c++) {
                for (int y = 0; y < 16; y++) {
                    for (int x = 0; x < 16; x++) {
                        assertEquals(t * 1_000_000f + c * 10_000f + (y0 + y) * 100f + (x0 + x), tile.get(c, y, x));
                    }
                }
            }
        }
        assertEquals(2, tiles.newest(2).size());
        assertEquals(4.0f, tiles.newest(2).get(0).get(0, 0, 0) / 1_000_000f, 0.01f);
    }

    @Test
    void smallFramesAreKeptWholeAndAChannelChangeStartsAfresh() {
        RawTiles tiles = new RawTiles(4, 64, 1);
        tiles.add(frame(1, 3, 20, 30));
        assertEquals(20, tiles.newest(1).get(0).height());
        assertEquals(30, tiles.newest(1).get(0).width());
        tiles.add(frame(2, 4, 20, 30));
        assertEquals(1, tiles.size());
        assertEquals(4, tiles.channels());
        assertThrows(IllegalArgumentException.class, () -> new RawTiles(0, 64, 1));
        assertThrows(IllegalArgumentException.class, () -> new RawTiles(4, 8, 1));
    }
}
