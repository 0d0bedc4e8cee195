package io.fluostream.imaging.flow;

import java.util.Arrays;

/**
 * Planes held as one {@code float[]} per row (see {@link SeparableGaussian} for why), and their
 * conversion to and from the flat row-major planes of {@code Image}.
 */
final class RowPlanes {

    private RowPlanes() {
    }

    static float[][] allocate(int height, int width) {
        return new float[height][width];
    }

    static float[][] fromFlat(float[] flat, int height, int width) {
        float[][] rows = new float[height][width];
        copyFromFlat(flat, 0, rows, height, width);
        return rows;
    }

    static void copyFromFlat(float[] flat, int offset, float[][] rows, int height, int width) {
        for (int y = 0; y < height; y++) {
            System.arraycopy(flat, offset + y * width, rows[y], 0, width);
        }
    }

    static float[] toFlat(float[][] rows, int width, float[] flat) {
        return toFlat(rows, rows.length, width, flat, 0);
    }

    static float[] toFlat(float[][] rows, int height, int width, float[] flat, int offset) {
        for (int y = 0; y < height; y++) {
            System.arraycopy(rows[y], 0, flat, offset + y * width, width);
        }
        return flat;
    }

    static void copy(float[][] src, float[][] dst, int height, int width) {
        for (int y = 0; y < height; y++) {
            System.arraycopy(src[y], 0, dst[y], 0, width);
        }
    }

    static void fill(float[][] rows, int height, int width, float value) {
        for (int y = 0; y < height; y++) {
            Arrays.fill(rows[y], 0, width, value);
        }
    }
}
