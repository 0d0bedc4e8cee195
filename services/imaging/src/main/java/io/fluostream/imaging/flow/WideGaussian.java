package io.fluostream.imaging.flow;

/**
 * A Gaussian blur whose cost does not grow with σ: for a wide σ the plane is reduced by factors of
 * 2 (σ = 1 anti-alias blur, every second sample), blurred on the coarse grid and interpolated back
 * bilinearly; a narrow σ is blurred directly ({@link SeparableGaussian}).
 *
 * <p>Why: the flow's averaging windows are 4–16 px, and a direct blur of radius 3σ costs 6σ + 2
 * multiply-adds per pixel; its output is so smooth that a grid 2^m times coarser holds it. The
 * reductions' and the interpolation's own spread are subtracted from the coarse σ, so the
 * variance of the whole is σ² (the interpolation's contribution averaged over sub-grid
 * positions). Away from the edges the result matches the direct blur to ~1% of the signal's
 * range (see {@code WideGaussianTest}); at the edges both replicate the border, slightly
 * differently.
 *
 * <p>An instance owns its coarse planes and scratch, sized for the last plane shape: not
 * thread-safe.
 */
public final class WideGaussian {

    /** Smallest σ on the coarse grid, px there: narrower would alias the Gaussian itself. */
    static final double MIN_COARSE_SIGMA = 1.5;
    /** Smallest side of a coarse grid, px. */
    private static final int MIN_COARSE_SIDE = 8;
    /** σ of the anti-alias blur before each factor-2 reduction, px of the finer grid. */
    /** Blur of each reduction, px of the finer grid. */
    public static final double REDUCE_SIGMA = 1.25;

    private final double sigma;
    private final SeparableGaussian reduce = new SeparableGaussian(REDUCE_SIGMA);
    private SeparableGaussian coarseBlur;
    private int halvings = -1;
    private int height;
    private int width;
    /** Grids 1..halvings: {@code grids[k]} is the plane reduced k times ({@code grids[0]} unused). */
    private float[][][] grids;
    private int[] gridH;
    private int[] gridW;
    private float[][] blurred;
    private float[] rowA = new float[0];
    private float[] rowB = new float[0];

    WideGaussian(double sigma) {
        if (!(sigma > 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("Gaussian sigma must be positive and finite, got " + sigma);
        }
        this.sigma = sigma;
    }

    double sigma() {
        return sigma;
    }

    /** How many factor-2 reductions the last plane shape used (0 = a direct blur). */
    int halvings() {
        return halvings;
    }

    /** Blurs {@code src} ({@code height} rows of {@code width}) into {@code dst}; no aliasing. */
    void apply(float[][] src, float[][] dst, int height, int width) {
        prepare(height, width);
        if (halvings == 0) {
            coarseBlur.apply(src, dst, height, width);
            return;
        }
        float[][] from = src;
        int fh = height;
        int fw = width;
        for (int k = 1; k <= halvings; k++) {
            reduce.reduce(from, fh, fw, grids[k]);
            from = grids[k];
            fh = gridH[k];
            fw = gridW[k];
        }
        coarseBlur.apply(from, blurred, fh, fw);
        float[][] up = blurred;
        for (int k = halvings - 1; k >= 0; k--) {
            float[][] target = k == 0 ? dst : grids[k];
            upsample(up, gridH[k + 1], gridW[k + 1], target, gridH[k], gridW[k]);
            up = target;
        }
    }

    private void prepare(int h, int w) {
        if (h == height && w == width && halvings >= 0) {
            return;
        }
        height = h;
        width = w;
        Plan plan = plan(h, w, sigma);
        int m = plan.halvings();
        halvings = m;
        gridH = plan.heights();
        gridW = plan.widths();
        grids = new float[m + 1][][];
        for (int k = 1; k <= m; k++) {
            grids[k] = RowPlanes.allocate(gridH[k], gridW[k]);
        }
        coarseBlur = new SeparableGaussian(plan.coarseSigma());
        blurred = m == 0 ? null : RowPlanes.allocate(gridH[m], gridW[m]);
        rowA = new float[w];
        rowB = new float[w];
    }

    /**
     * How a blur of {@code sigma} px on an {@code h × w} grid is done: {@code halvings} reductions
     * (each a {@value #REDUCE_SIGMA} px blur and a halving; grid sides {@code heights}, {@code widths},
     * index 0 the input), a blur of {@code coarseSigma} px on the coarsest grid, and bilinear
     * interpolation back. Halves while the coarse σ stays ≥ {@value #MIN_COARSE_SIGMA} px and the grid
     * ≥ {@value #MIN_COARSE_SIDE} px a side. Shared with the device path, so both blur alike.
     */
    public record Plan(int halvings, int[] heights, int[] widths, double coarseSigma) {
    }

    /** The plan for a blur of {@code sigma} px on an {@code h × w} grid (see {@link Plan}). */
    public static Plan plan(int h, int w, double sigma) {
        // Variance (in px² of the input grid) already spread by the reductions and the
        // interpolation back, for m halvings.
        int m = 0;
        double spread = 0;
        int ch = h;
        int cw = w;
        while (true) {
            int nh = (ch + 1) / 2;
            int nw = (cw + 1) / 2;
            double step = 1 << m;
            // Reduction m+1 blurs with σ = 1 px of grid m; interpolating back from grid m+1 spreads
            // a midpoint by ±2^m px, i.e. variance 2^(2m)/2 per axis on average over positions.
            double nextSpread = spread + step * step * (REDUCE_SIGMA * REDUCE_SIGMA) + step * step / 2;
            double remaining = sigma * sigma - nextSpread;
            double coarseSigma = remaining > 0 ? Math.sqrt(remaining) / (2 * step) : 0;
            if (coarseSigma < MIN_COARSE_SIGMA || Math.min(nh, nw) < MIN_COARSE_SIDE) {
                break;
            }
            m++;
            spread = nextSpread;
            ch = nh;
            cw = nw;
        }
        int[] heights = new int[m + 1];
        int[] widths = new int[m + 1];
        heights[0] = h;
        widths[0] = w;
        for (int k = 1; k <= m; k++) {
            heights[k] = (heights[k - 1] + 1) / 2;
            widths[k] = (widths[k - 1] + 1) / 2;
        }
        return new Plan(m, heights, widths, Math.sqrt(sigma * sigma - spread) / (1 << m));
    }

    private void upsample(float[][] coarse, int ch, int cw, float[][] fine, int fh, int fw) {
        upsample(coarse, ch, cw, fine, fh, fw, rowA, rowB);
    }

    /**
     * Bilinear interpolation of a plane onto the grid twice as dense: fine pixel {@code 2c} sits on
     * coarse pixel {@code c}, fine pixel {@code 2c+1} halfway to {@code c+1} (as reduction samples).
     * Each coarse row is widened once ({@code rowA}, {@code rowB}: scratch of {@code fw} samples).
     */
    static void upsample(float[][] coarse, int ch, int cw, float[][] fine, int fh, int fw, float[] rowA, float[] rowB) {
        float[] current = rowA;
        float[] following = rowB;
        widen(coarse[0], cw, current, fw);
        int widened = 0;
        for (int y = 0; y < fh; y++) {
            int y0 = Math.min(y >> 1, ch - 1);
            int y1 = Math.min(y0 + 1, ch - 1);
            if (y0 != widened) {
                // Moving down one coarse row: the one below becomes the current one.
                float[] t = current;
                current = following;
                following = t;
                widened = y0;
            }
            float[] out = fine[y];
            if ((y & 1) == 1 && y1 != y0) {
                widen(coarse[y1], cw, following, fw);
                float[] a = current;
                float[] b = following;
                for (int x = 0; x < fw; x++) {
                    out[x] = 0.5f * (a[x] + b[x]);
                }
            } else {
                System.arraycopy(current, 0, out, 0, fw);
            }
        }
    }

    /** Linear interpolation of a coarse row onto a row twice as dense ({@code fineWidth} samples). */
    static void widen(float[] coarse, int coarseWidth, float[] out, int fineWidth) {
        // Pairs (2c, 2c+1) with both samples inside and c+1 a coarse sample; then the remainder.
        int pairs = Math.min(coarseWidth - 1, fineWidth / 2);
        for (int c = 0; c < pairs; c++) {
            float a = coarse[c];
            out[2 * c] = a;
            out[2 * c + 1] = 0.5f * (a + coarse[c + 1]);
        }
        for (int x = 2 * pairs; x < fineWidth; x++) {
            int c = Math.min(x >> 1, coarseWidth - 1);
            out[x] = (x & 1) == 0 ? coarse[c] : 0.5f * (coarse[c] + coarse[Math.min(c + 1, coarseWidth - 1)]);
        }
    }
}
