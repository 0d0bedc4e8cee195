package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A bounded sample of one stream's recent camera frames for blind spectra estimation
 * ({@link SpectraEstimator}): each frame contributes one tile (a random {@code side × side} crop,
 * all channels, the whole frame where it is smaller), and the oldest tile is dropped once
 * {@code capacity} are kept. Tiles rather than single pixels because the estimator needs
 * neighbourhoods: it smooths, splits pixels into two independent halves and reads edges. A frame
 * with another channel count starts the sample afresh.
 *
 * <p>Memory: {@code capacity × channels × side² × 4} bytes (16 tiles of 128² × 4 channels: 4 MiB).
 *
 * <p>Thread-safe: frames arrive on a stream thread while an estimate may be asked for from a
 * control thread.
 */
public final class RawTiles {

    private final int capacity;
    private final int side;
    private final SplittableRandom rng;
    private final Image[] tiles;
    private int channels;
    private int size;
    private int next;
    private long frames;

    /**
     * @param capacity tiles kept (1..4096)
     * @param side     side of a tile, px (16..4096)
     * @param seed     seed of the crop positions
     */
    public RawTiles(int capacity, int side, long seed) {
        if (capacity < 1 || capacity > 4096) {
            throw new IllegalArgumentException("tiles kept must be 1..4096, got " + capacity);
        }
        if (side < 16 || side > 4096) {
            throw new IllegalArgumentException("tile side must be 16..4096 px, got " + side);
        }
        this.capacity = capacity;
        this.side = side;
        this.rng = new SplittableRandom(seed);
        this.tiles = new Image[capacity];
    }

    /** Keeps one random tile of {@code frame} (C × H × W, camera ADU or offset-free). */
    public synchronized void add(Image frame) {
        if (frame.channels() != channels) {
            java.util.Arrays.fill(tiles, null);
            channels = frame.channels();
            size = 0;
            next = 0;
            frames = 0;
        }
        int h = Math.min(side, frame.height());
        int w = Math.min(side, frame.width());
        int y0 = rng.nextInt(frame.height() - h + 1);
        int x0 = rng.nextInt(frame.width() - w + 1);
        Image tile = new Image(channels, h, w);
        float[] src = frame.data();
        float[] dst = tile.data();
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(src, frame.planeOffset(c) + (y0 + y) * frame.width() + x0, dst, tile.planeOffset(c) + y * w, w);
            }
        }
        tiles[next] = tile;
        next = (next + 1) % capacity;
        size = Math.min(size + 1, capacity);
        frames++;
    }

    /** The newest {@code count} tiles (all kept if fewer), oldest first; copies. */
    public synchronized List<Image> newest(int count) {
        int n = Math.min(Math.max(count, 0), size);
        List<Image> out = new ArrayList<>(n);
        for (int k = n; k >= 1; k--) {
            out.add(tiles[Math.floorMod(next - k, capacity)].copy());
        }
        return out;
    }

    public synchronized int size() {
        return size;
    }

    /** Channels of the sampled frames (0 before the first). */
    public synchronized int channels() {
        return channels;
    }

    /** Frames seen since the sample was last started. */
    public synchronized long frames() {
        return frames;
    }

    public int side() {
        return side;
    }

    /** Tiles kept at most. */
    public int capacity() {
        return capacity;
    }
}
