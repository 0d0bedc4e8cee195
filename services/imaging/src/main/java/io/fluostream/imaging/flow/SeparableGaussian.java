package io.fluostream.imaging.flow;

/**
 * Gaussian blur of a plane held as one {@code float[]} per row: a vertical then a horizontal 1-D
 * pass, edges replicated, kernel truncated at 3σ and renormalised (a constant plane stays constant).
 *
 * <p>Why rows as separate arrays: HotSpot's C2 (JDK 17) vectorises a loop only when every array
 * in it is indexed by the same expression, so {@code out[x] += k·(up[x] + down[x])} over three row
 * arrays runs in SIMD while the same sum over offsets into one flat array does not (measured ~5×).
 * The horizontal pass gets the same form by copying the padded row at each tap's shift into two
 * scratch rows ({@code System.arraycopy} is an intrinsic), ~3× faster than a scalar loop.
 *
 * <p>An instance owns its scratch rows: it is not thread-safe. Public for the blind spectra
 * estimator ({@code unmix.SpectralSamples}), which smooths camera tiles with it.
 */
public final class SeparableGaussian {

    private final double sigma;
    /** Half kernel: {@code taps[0]} is the centre weight, {@code taps[j]} the weight at ±j. */
    private final float[] taps;
    private final int radius;
    private float[] pad = new float[0];
    private float[] left = new float[0];
    private float[] right = new float[0];
    private float[] reduceRow = new float[0];

    public SeparableGaussian(double sigma) {
        if (!(sigma > 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("Gaussian sigma must be positive and finite, got " + sigma);
        }
        this.sigma = sigma;
        this.radius = Math.max(1, (int) Math.ceil(3 * sigma));
        double[] k = new double[radius + 1];
        double sum = 0;
        for (int j = 0; j <= radius; j++) {
            k[j] = Math.exp(-0.5 * j * j / (sigma * sigma));
            sum += j == 0 ? k[j] : 2 * k[j];
        }
        taps = new float[radius + 1];
        for (int j = 0; j <= radius; j++) {
            taps[j] = (float) (k[j] / sum);
        }
    }

    double sigma() {
        return sigma;
    }

    int radius() {
        return radius;
    }

    /** Blurs the plane {@code src} ({@code height} rows of {@code width}) into {@code dst}; no aliasing. */
    void apply(float[][] src, float[][] dst, int height, int width) {
        ensureScratch(width);
        for (int y = 0; y < height; y++) {
            verticalRow(src, y, height, width, dst[y]);
            horizontalInPlace(dst[y], width);
        }
    }

    /** Blurs a flat, row-major plane into a new flat plane (for one-off use outside hot paths). */
    public float[] apply(float[] src, int height, int width) {
        float[][] rows = RowPlanes.fromFlat(src, height, width);
        float[][] out = RowPlanes.allocate(height, width);
        apply(rows, out, height, width);
        return RowPlanes.toFlat(out, width, new float[height * width]);
    }

    /**
     * Blurs {@code src} and keeps every second sample both ways: pyramid reduction. Coarse pixel
     * {@code (i, j)} is fine pixel {@code (2i, 2j)}; the coarse plane is
     * {@code ceil(height/2) × ceil(width/2)}.
     */
    void reduce(float[][] src, int height, int width, float[][] dst) {
        ensureScratch(width);
        int ch = (height + 1) / 2;
        int cw = (width + 1) / 2;
        float[] row = reduceRow;
        for (int i = 0; i < ch; i++) {
            verticalRow(src, 2 * i, height, width, row);
            // The whole row blurred (the pass vectorises) costs less than the taps at every second
            // sample done one by one.
            horizontalInPlace(row, width);
            float[] out = dst[i];
            for (int c = 0; c < cw; c++) {
                out[c] = row[2 * c];
            }
        }
    }

    private void verticalRow(float[][] src, int y, int height, int width, float[] out) {
        float[] centre = src[y];
        float k0 = taps[0];
        for (int x = 0; x < width; x++) {
            out[x] = k0 * centre[x];
        }
        for (int j = 1; j <= radius; j++) {
            float[] up = src[Math.max(y - j, 0)];
            float[] down = src[Math.min(y + j, height - 1)];
            float kj = taps[j];
            for (int x = 0; x < width; x++) {
                out[x] += kj * (up[x] + down[x]);
            }
        }
    }

    private void horizontalInPlace(float[] row, int width) {
        fillPad(row, width);
        int r = radius;
        float k0 = taps[0];
        for (int x = 0; x < width; x++) {
            row[x] *= k0;
        }
        float[] l = left;
        float[] rt = right;
        for (int j = 1; j <= r; j++) {
            System.arraycopy(pad, r - j, l, 0, width);
            System.arraycopy(pad, r + j, rt, 0, width);
            float kj = taps[j];
            for (int x = 0; x < width; x++) {
                row[x] += kj * (l[x] + rt[x]);
            }
        }
    }

    /** Copies {@code row} into {@code pad} at offset {@code radius} with replicated edges. */
    private void fillPad(float[] row, int width) {
        int r = radius;
        System.arraycopy(row, 0, pad, r, width);
        float first = row[0];
        float last = row[width - 1];
        for (int j = 0; j < r; j++) {
            pad[j] = first;
            pad[r + width + j] = last;
        }
    }

    private void ensureScratch(int width) {
        if (pad.length < width + 2 * radius) {
            pad = new float[width + 2 * radius];
        }
        if (left.length < width) {
            left = new float[width];
            right = new float[width];
            reduceRow = new float[width];
        }
    }
}
