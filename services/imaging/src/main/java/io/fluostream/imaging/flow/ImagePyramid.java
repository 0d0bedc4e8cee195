package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * One frame's Gaussian pyramid as the flow estimator uses it: the frame reduced by factors of 2,
 * and at every level the flow is computed on, its central-difference gradients and a copy with a
 * replicated border for warping. Built once per frame, it serves both directions of a
 * forward–backward pair and, in a stream, the next pair too.
 *
 * <p>Level {@code k} pixel {@code (i, j)} is full-resolution pixel {@code (2^k i, 2^k j)}. Level 0
 * (when the flow is computed there) is the frame pre-smoothed; coarser levels are reduced with an
 * anti-alias blur, the pre-smoothing folded into the first reduction when level 0 is not needed.
 *
 * <p>Mutable scratch, reused for frames of one shape: not thread-safe.
 */
final class ImagePyramid {

    /** Border (px) of the padded copy that the warp samples: enough for a 4×4 bicubic stencil. */
    static final int PAD = 2;

    final int levels;
    final int finest;
    final int[] h;
    final int[] w;
    /** The frame at each level (level 0 only when {@code finest == 0}; otherwise null). */
    final float[][][] image;
    /** Gradients at levels {@code >= finest}. */
    final float[][][] ix;
    final float[][][] iy;
    /** Flat copies with a {@value #PAD} px replicated border, at levels {@code >= finest}. */
    final float[][] padded;
    /** Full-resolution rows of the input (the reduction source when level 0 is skipped). */
    private final float[][] input;

    ImagePyramid(int height, int width, int levels, int finest) {
        this.levels = levels;
        this.finest = finest;
        h = new int[levels];
        w = new int[levels];
        image = new float[levels][][];
        ix = new float[levels][][];
        iy = new float[levels][][];
        padded = new float[levels][];
        int lh = height;
        int lw = width;
        for (int k = 0; k < levels; k++) {
            h[k] = lh;
            w[k] = lw;
            if (k > 0 || finest == 0) {
                image[k] = RowPlanes.allocate(lh, lw);
            }
            if (k >= finest) {
                ix[k] = RowPlanes.allocate(lh, lw);
                iy[k] = RowPlanes.allocate(lh, lw);
                padded[k] = new float[(lh + 2 * PAD) * (lw + 2 * PAD)];
            }
            lh = (lh + 1) / 2;
            lw = (lw + 1) / 2;
        }
        input = RowPlanes.allocate(height, width);
    }

    boolean fits(int height, int width, int levels, int finest) {
        return h[0] == height && w[0] == width && this.levels == levels && this.finest == finest;
    }

    /**
     * Fills the pyramid from {@code frame} (single channel, this pyramid's full-resolution shape).
     *
     * @param presmooth        blur of the full-resolution frame (null = none); used when level 0 is
     *                         computed on
     * @param firstReduction   reduction from full resolution with the pre-smoothing folded in
     * @param reduce           reduction between coarser levels
     */
    void build(Image frame, SeparableGaussian presmooth, SeparableGaussian firstReduction, SeparableGaussian reduce) {
        int fh = h[0];
        int fw = w[0];
        RowPlanes.copyFromFlat(frame.data(), 0, input, fh, fw);
        if (finest == 0) {
            if (presmooth != null) {
                presmooth.apply(input, image[0], fh, fw);
            } else {
                RowPlanes.copy(input, image[0], fh, fw);
            }
            if (levels > 1) {
                reduce.reduce(image[0], fh, fw, image[1]);
            }
        } else {
            firstReduction.reduce(input, fh, fw, image[1]);
        }
        for (int k = 2; k < levels; k++) {
            reduce.reduce(image[k - 1], h[k - 1], w[k - 1], image[k]);
        }
        for (int k = finest; k < levels; k++) {
            gradients(k);
            pad(k);
        }
    }

    /** Central-difference gradients at level k (one-sided at the edges). */
    private void gradients(int k) {
        int lh = h[k];
        int lw = w[k];
        float[][] im = image[k];
        for (int y = 0; y < lh; y++) {
            float[] row = im[y];
            float[] gx = ix[k][y];
            for (int x = 1; x < lw - 1; x++) {
                gx[x] = 0.5f * (row[x + 1] - row[x - 1]);
            }
            gx[0] = lw > 1 ? row[1] - row[0] : 0f;
            gx[lw - 1] = lw > 1 ? row[lw - 1] - row[lw - 2] : 0f;
            float[] up = im[Math.max(y - 1, 0)];
            float[] down = im[Math.min(y + 1, lh - 1)];
            float scale = lh == 1 ? 0f : (y == 0 || y == lh - 1 ? 1f : 0.5f);
            float[] gy = iy[k][y];
            for (int x = 0; x < lw; x++) {
                gy[x] = scale * (down[x] - up[x]);
            }
        }
    }

    /** Copies level k into its padded flat plane, edges replicated {@value #PAD} px out. */
    private void pad(int k) {
        int lw = w[k];
        int pw = lw + 2 * PAD;
        float[] p = padded[k];
        for (int py = 0; py < h[k] + 2 * PAD; py++) {
            float[] src = image[k][Math.min(Math.max(py - PAD, 0), h[k] - 1)];
            int row = py * pw;
            System.arraycopy(src, 0, p, row + PAD, lw);
            for (int j = 0; j < PAD; j++) {
                p[row + j] = src[0];
                p[row + PAD + lw + j] = src[lw - 1];
            }
        }
    }
}
