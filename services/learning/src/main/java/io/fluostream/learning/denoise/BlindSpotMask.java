package io.fluostream.learning.denoise;

import java.util.SplittableRandom;

/**
 * Noise2Void's blind spots (Krull et al. 2019): in each channel of a patch, a random set of pixels
 * (one per cell of a grid, so they spread evenly) gets the value of a random neighbour within
 * {@code radius}; the loss is taken only there. A network fed the masked patch cannot see the noise
 * of a masked pixel, so it learns the pixel's expected value from its surroundings — a J-invariant
 * estimator (Batson &amp; Royer 2019) trained on noisy frames alone.
 *
 * <p>Replacement values are taken only from pixels that are not masked themselves, so no masked
 * pixel's value appears anywhere in the masked input (strict J-invariance, which the plain N2V
 * scheme leaks slightly). Channels are masked independently: the noise of one channel is
 * independent of the others, so the network may read the other channels at the same pixel — that
 * is how it pools photons across spectrally overlapping channels.
 *
 * <p>Not thread-safe (owns its random generator and scratch).
 */
public final class BlindSpotMask {

    private final int cell;
    private final int radius;
    private final SplittableRandom random;
    private boolean[] masked = new boolean[0];

    /**
     * @param fraction share of pixels masked per channel, 0 &lt; fraction ≤ 0.25 (one per cell of
     *                 about {@code 1/√fraction} px)
     * @param radius   neighbourhood the replacement is drawn from, px (≥ 1)
     */
    public BlindSpotMask(double fraction, int radius, SplittableRandom random) {
        if (!(fraction > 0 && fraction <= 0.25)) {
            throw new IllegalArgumentException("masked fraction must be in (0, 0.25], got " + fraction);
        }
        if (radius < 1 || radius > 8) {
            throw new IllegalArgumentException("replacement radius must be 1..8 px, got " + radius);
        }
        this.cell = Math.max(2, (int) Math.round(1 / Math.sqrt(fraction)));
        this.radius = radius;
        this.random = random;
    }

    /** Side of the grid cells, one blind spot each. */
    public int cell() {
        return cell;
    }

    /**
     * Masks {@code channels} planes of {@code h × w} at {@code input[offset…]} in place and marks
     * the blind spots with 1 in {@code mask} (same layout; other entries set to 0).
     */
    public void apply(float[] input, int offset, int channels, int h, int w, float[] mask, int maskOffset) {
        int n = h * w;
        if (masked.length < n) {
            masked = new boolean[n];
        }
        for (int c = 0; c < channels; c++) {
            int p0 = offset + c * n;
            int m0 = maskOffset + c * n;
            java.util.Arrays.fill(masked, 0, n, false);
            java.util.Arrays.fill(mask, m0, m0 + n, 0f);
            for (int cy = 0; cy < h; cy += cell) {
                for (int cx = 0; cx < w; cx += cell) {
                    int y = cy + random.nextInt(Math.min(cell, h - cy));
                    int x = cx + random.nextInt(Math.min(cell, w - cx));
                    masked[y * w + x] = true;
                }
            }
            for (int i = 0; i < n; i++) {
                if (!masked[i]) {
                    continue;
                }
                int y = i / w;
                int x = i % w;
                int src = -1;
                for (int attempt = 0; attempt < 32 && src < 0; attempt++) {
                    int yy = reflect(y + random.nextInt(2 * radius + 1) - radius, h);
                    int xx = reflect(x + random.nextInt(2 * radius + 1) - radius, w);
                    int j = yy * w + xx;
                    if (!masked[j]) {
                        src = j;
                    }
                }
                // With at most one blind spot per cell of ≥ 2 px an unmasked neighbour exists; the
                // fallback (the cell's mean of unmasked pixels) is for degenerate 1-px-wide patches.
                input[p0 + i] = src >= 0 ? input[p0 + src] : meanUnmasked(input, p0, n);
                mask[m0 + i] = 1f;
            }
        }
    }

    private float meanUnmasked(float[] input, int p0, int n) {
        double s = 0;
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!masked[i]) {
                s += input[p0 + i];
                k++;
            }
        }
        return k == 0 ? 0f : (float) (s / k);
    }

    private static int reflect(int i, int n) {
        if (n == 1) {
            return 0;
        }
        while (i < 0 || i >= n) {
            i = i < 0 ? -i : 2 * (n - 1) - i;
        }
        return i;
    }
}
