package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;

/**
 * A bounded sample of one stream's recent pixels for blind spectra estimation
 * ({@link SpectraEstimator}): each frame contributes a few random pixels (all channels), and the
 * oldest are overwritten once the sample is full, so it always describes the last
 * {@code capacity / perFrame} frames. A frame with another channel count starts it afresh.
 *
 * <p>Thread-safe: frames arrive on the stream thread while an estimate may be asked for from a
 * control thread.
 */
public final class PixelSamples {

    private final int capacity;
    private final int perFrame;
    private final SplittableRandom rng;
    private float[][] samples = new float[0][];
    private int size;
    private int next;
    private long frames;

    /**
     * @param capacity pixels kept (≥ 1)
     * @param perFrame pixels taken from each frame (1..capacity)
     * @param seed     seed of the pixel choice
     */
    public PixelSamples(int capacity, int perFrame, long seed) {
        if (capacity < 1 || perFrame < 1 || perFrame > capacity) {
            throw new IllegalArgumentException("need 1 <= pixels per frame (" + perFrame + ") <= capacity (" + capacity + ")");
        }
        this.capacity = capacity;
        this.perFrame = perFrame;
        this.rng = new SplittableRandom(seed);
    }

    /** Takes {@code perFrame} random pixels of {@code frame} (offset-free ADU, C × H × W). */
    public synchronized void add(Image frame) {
        int nc = frame.channels();
        if (samples.length != nc) {
            samples = new float[nc][capacity];
            size = 0;
            next = 0;
            frames = 0;
        }
        int n = frame.planeSize();
        float[] d = frame.data();
        int take = Math.min(perFrame, n);
        for (int k = 0; k < take; k++) {
            int p = rng.nextInt(n);
            for (int c = 0; c < nc; c++) {
                samples[c][next] = d[c * n + p];
            }
            next = (next + 1) % capacity;
            size = Math.min(size + 1, capacity);
        }
        frames++;
    }

    /** The sampled pixels, {@code [c][i]} (a copy). */
    public synchronized float[][] snapshot() {
        float[][] copy = new float[samples.length][];
        for (int c = 0; c < samples.length; c++) {
            copy[c] = java.util.Arrays.copyOf(samples[c], size);
        }
        return copy;
    }

    /**
     * The newest {@code frames} frames' sampled pixels, {@code [c][i]} (a copy; all of them if
     * fewer were kept).
     */
    public synchronized float[][] newest(int frames) {
        long wanted = Math.min((long) frames * perFrame, size);
        int n = (int) wanted;
        float[][] copy = new float[samples.length][n];
        // The newest pixel sits just before `next` (mod capacity); take the n before it.
        int start = Math.floorMod(next - n, capacity);
        for (int c = 0; c < samples.length; c++) {
            int first = Math.min(n, capacity - start);
            System.arraycopy(samples[c], start, copy[c], 0, first);
            System.arraycopy(samples[c], 0, copy[c], first, n - first);
        }
        return copy;
    }

    /** Pixels taken from each frame. */
    public int perFrame() {
        return perFrame;
    }

    public synchronized int size() {
        return size;
    }

    /** Channels of the sampled frames (0 before the first). */
    public synchronized int channels() {
        return samples.length;
    }

    /** Frames seen since the sample was last started. */
    public synchronized long frames() {
        return frames;
    }
}
