package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * Flags outlier vectors of a flow field with the normalised median test of PIV (Westerweel &amp;
 * Scarano 2005, "Universal outlier detection for PIV data"): for each component, with {@code m}
 * the median of the 8 neighbours at distance {@code spacing} (the corners and edge midpoints of a
 * square of side {@code 2·spacing}) and {@code r} the median of the neighbours' own residuals
 * {@code |u_i − m|}, the normalised residual is {@code |u − m| / (r + ε)}; a vector is an outlier
 * when {@code sqrt(r_u*² + r_v*²)} exceeds the threshold. ε (0.1 px in PIV practice) is the noise
 * floor below which differences do not count.
 *
 * <p>Why a spacing: PIV vectors sit one interrogation window apart, so a neighbour is an
 * independent measurement. A dense field from a smoothing estimator is correlated over its
 * window; neighbours one pixel away would share an outlier's error and vouch for it. Neighbours
 * beyond the window see independent data. At the frame's edge, neighbours are clamped to the
 * frame (they repeat edge vectors), which makes the test slightly more lenient there.
 *
 * <p>Grid: like PIV vectors, the test runs every {@code gridPx} px in both directions, and each
 * flag covers its {@code gridPx × gridPx} cell (the tested pixel at the cell's top left). A dense
 * field from a smoothing estimator cannot change faster than its window, so a grid of a few
 * pixels misses nothing, and each step is {@code gridPx²} times cheaper. Most vectors of a smooth
 * field also pass a cheap bound (the range of the 9 vectors over ε is below the threshold, so the
 * normalised residual must be too) and compute no medians.
 */
public final class NormalisedMedianTest {

    /**
     * @param spacingPx distance of the 8 neighbours, px (≥ 1): about the estimator's window
     * @param epsilonPx noise floor ε of the residuals, px (&gt; 0)
     * @param threshold largest normalised residual of an inlier (&gt; 0); 2 in PIV practice
     * @param gridPx    step between tested vectors, px (1 = every pixel)
     */
    public record Settings(int spacingPx, double epsilonPx, double threshold, int gridPx) {

        public Settings {
            if (spacingPx < 1) {
                throw new IllegalArgumentException("median-test spacing must be >= 1 px, got " + spacingPx);
            }
            if (!(epsilonPx > 0) || !Double.isFinite(epsilonPx)) {
                throw new IllegalArgumentException("median-test epsilon must be > 0 px, got " + epsilonPx);
            }
            if (!(threshold > 0) || !Double.isFinite(threshold)) {
                throw new IllegalArgumentException("median-test threshold must be > 0, got " + threshold);
            }
            if (gridPx < 1) {
                throw new IllegalArgumentException("median-test grid must be >= 1 px, got " + gridPx);
            }
        }

        /**
         * 8 px spacing (about the low-light window), ε = 0.1 px and threshold 2 (Westerweel &amp;
         * Scarano's values), tested every 8 px (as PIV's 16 px windows at 50% overlap).
         */
        public static Settings defaults() {
            return new Settings(8, 0.1, 2.0, 8);
        }

        public Settings withGridPx(int v) {
            return new Settings(spacingPx, epsilonPx, threshold, v);
        }

        public Settings withThreshold(double v) {
            return new Settings(spacingPx, epsilonPx, v, gridPx);
        }

        public Settings withSpacingPx(int v) {
            return new Settings(v, epsilonPx, threshold, gridPx);
        }
    }

    private final Settings settings;

    public NormalisedMedianTest(Settings settings) {
        this.settings = settings;
    }

    public Settings settings() {
        return settings;
    }

    /** Flags outliers of {@code flow} into a new {@code 1×H×W} plane: 1 = outlier, 0 = inlier. */
    public Image flag(FlowField flow) {
        Image out = new Image(1, flow.height(), flow.width());
        flag(flow, out, 0, flow.height());
        return out;
    }

    /**
     * Flags rows {@code [rowFrom, rowTo)} of {@code out} ({@code 1×H×W}); rows are independent,
     * so bands can run on different threads (a band should start on a multiple of the grid, or
     * its first rows take the flags of the grid row above them). Returns the number of pixels
     * flagged in the band.
     */
    public int flag(FlowField flow, Image out, int rowFrom, int rowTo) {
        int h = flow.height();
        int w = flow.width();
        if (out.channels() != 1 || out.height() != h || out.width() != w) {
            throw new IllegalArgumentException("outlier plane must be 1x" + h + "x" + w + ", got " + out);
        }
        float[] d = flow.asImage().data();
        float[] o = out.data();
        int n = h * w;
        int s = settings.spacingPx();
        float eps = (float) settings.epsilonPx();
        float limit = (float) settings.threshold();
        // Pass without medians when sqrt(Ru² + Rv²) ≤ limit·ε (R = range over the 9 vectors).
        float boundSq = limit * eps * limit * eps;
        int[] offsets = new int[8];
        float[] nu = new float[8];
        float[] nv = new float[8];
        float[] scratch = new float[8];
        int g = settings.gridPx();
        int count = 0;
        for (int y = rowFrom; y < rowTo; y++) {
            int ty = y - y % g;
            if (ty != y && y != rowFrom) {
                // Rows inside a grid cell copy the cell's first row in the band.
                System.arraycopy(o, (y - 1) * w, o, y * w, w);
                count += countRow(o, y * w, w);
                continue;
            }
            int up = Math.max(ty - s, 0) * w;
            int mid = ty * w;
            int down = Math.min(ty + s, h - 1) * w;
            for (int tx = 0; tx < w; tx += g) {
                int left = Math.max(tx - s, 0);
                int right = Math.min(tx + s, w - 1);
                offsets[0] = up + left;
                offsets[1] = up + tx;
                offsets[2] = up + right;
                offsets[3] = mid + left;
                offsets[4] = mid + right;
                offsets[5] = down + left;
                offsets[6] = down + tx;
                offsets[7] = down + right;
                int i = mid + tx;
                float u0 = d[i];
                float v0 = d[n + i];
                float uMin = u0;
                float uMax = u0;
                float vMin = v0;
                float vMax = v0;
                for (int k = 0; k < 8; k++) {
                    float u = d[offsets[k]];
                    float v = d[n + offsets[k]];
                    nu[k] = u;
                    nv[k] = v;
                    uMin = Math.min(uMin, u);
                    uMax = Math.max(uMax, u);
                    vMin = Math.min(vMin, v);
                    vMax = Math.max(vMax, v);
                }
                float ru = uMax - uMin;
                float rv = vMax - vMin;
                boolean outlier = false;
                if (ru * ru + rv * rv > boundSq) {
                    float nrU = normalisedResidual(u0, nu, scratch, eps);
                    float nrV = normalisedResidual(v0, nv, scratch, eps);
                    outlier = nrU * nrU + nrV * nrV > limit * limit;
                }
                float flag = outlier ? 1f : 0f;
                int cellEnd = Math.min(tx + g, w);
                for (int x = tx; x < cellEnd; x++) {
                    o[y * w + x] = flag;
                }
                if (outlier) {
                    count += cellEnd - tx;
                }
            }
        }
        return count;
    }

    private static int countRow(float[] o, int from, int length) {
        int c = 0;
        for (int i = from; i < from + length; i++) {
            if (o[i] != 0f) {
                c++;
            }
        }
        return c;
    }

    /** {@code |value − median(neighbours)| / (median(|neighbour − median|) + ε)}; sorts {@code neighbours}. */
    static float normalisedResidual(float value, float[] neighbours, float[] scratch, float eps) {
        float m = median8(neighbours);
        for (int k = 0; k < 8; k++) {
            scratch[k] = Math.abs(neighbours[k] - m);
        }
        float r = median8(scratch);
        return Math.abs(value - m) / (r + eps);
    }

    /**
     * Median of 8 values (mean of the 4th and 5th smallest); sorts the array in place with
     * Batcher's odd–even merge network (19 compare-exchanges, no data-dependent branches).
     */
    static float median8(float[] a) {
        exchange(a, 0, 1);
        exchange(a, 2, 3);
        exchange(a, 4, 5);
        exchange(a, 6, 7);
        exchange(a, 0, 2);
        exchange(a, 1, 3);
        exchange(a, 4, 6);
        exchange(a, 5, 7);
        exchange(a, 1, 2);
        exchange(a, 5, 6);
        exchange(a, 0, 4);
        exchange(a, 1, 5);
        exchange(a, 2, 6);
        exchange(a, 3, 7);
        exchange(a, 2, 4);
        exchange(a, 3, 5);
        exchange(a, 1, 2);
        exchange(a, 3, 4);
        exchange(a, 5, 6);
        return 0.5f * (a[3] + a[4]);
    }

    private static void exchange(float[] a, int i, int j) {
        float x = a[i];
        float y = a[j];
        a[i] = Math.min(x, y);
        a[j] = Math.max(x, y);
    }
}
