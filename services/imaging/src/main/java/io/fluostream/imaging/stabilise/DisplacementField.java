package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import java.util.Arrays;

/**
 * A smooth displacement field d(p) over a frame, px: the reference's content at p appears in the
 * frame at p + d(p) (the convention of {@link Shift}, now varying over the field).
 *
 * <p>It is a tensor-product cubic on a regular grid of nodes, in one of two forms:
 * <ul>
 *   <li><b>Samples</b> ({@link #DisplacementField(int, int, double[], double[], double[], double[],
 *       double[])}): values at the nodes, interpolated by Catmull-Rom cubics, which pass through
 *       them and reproduce quadratics exactly. Beyond the outermost nodes the field continues on the
 *       parabola through the last three (two ghost nodes per side), so a bending field keeps
 *       bending to the frame's edges.</li>
 *   <li><b>Spline</b> ({@link #spline}): coefficients of cubic B-splines on the nodes, as fitted by
 *       piecewise-rigid registration to its patch measurements; smooth to the second derivative.</li>
 * </ul>
 * Either way the field also carries the patch measurements it came from (shift and match per
 * patch), for the summaries. Nodes are evenly spaced along each axis. Immutable.
 */
public final class DisplacementField {

    private static final int GHOSTS = 2;

    private final int height;
    private final int width;
    private final boolean bSpline;
    private final int nodesX;
    private final int nodesY;
    private final double x0; // first node, px
    private final double y0;
    private final double stepX; // node spacing, px (1 when there is one node)
    private final double stepY;
    // The nodes' values with two ghost nodes on every side: (nodesY + 4) × (nodesX + 4).
    private final double[] gx;
    private final double[] gy;
    // Per frame column x: first grid column of its four nodes, and their weights (the same for every row).
    private final int[] columnCell;
    private final double[] columnWeights;
    // The patch measurements: rows × columns, row-major.
    private final int columns;
    private final int rows;
    private final double[] dx;
    private final double[] dy;
    private final double[] match;

    /**
     * A field through samples: d(centreX[c], centreY[r]) = (dx, dy)[r·columns + c].
     *
     * @param height  frame height, px
     * @param width   frame width, px
     * @param centreX x of the patch centres along a row, px, ascending and evenly spaced
     * @param centreY y of the patch centres along a column, px, ascending and evenly spaced
     * @param dx      shift along x of each patch, row-major (rows = centreY.length)
     * @param dy      shift along y of each patch
     * @param match   per patch, how well it matched (its correlation; 0 if its shift was
     *                replaced), for the summaries
     */
    public DisplacementField(int height, int width, double[] centreX, double[] centreY, double[] dx, double[] dy,
            double[] match) {
        this(height, width, false, centreX.length, centreY.length, centreX[0], centreY[0],
                centreX.length > 1 ? (centreX[centreX.length - 1] - centreX[0]) / (centreX.length - 1) : 1,
                centreY.length > 1 ? (centreY[centreY.length - 1] - centreY[0]) / (centreY.length - 1) : 1,
                dx, dy, centreX.length, centreY.length, dx, dy, match);
    }

    /**
     * A field of cubic B-splines: d(p) = Σ_k c_k·β³((x − x0)/stepX − k_x)·β³((y − y0)/stepY − k_y)
     * over nodes k on a nodesX × nodesY grid (coefficients row-major), with the patch measurements
     * it was fitted to.
     */
    static DisplacementField spline(int height, int width, int nodesX, int nodesY, double x0, double y0, double stepX,
            double stepY, double[] coefficientsX, double[] coefficientsY, int columns, int rows, double[] dx,
            double[] dy, double[] match) {
        return new DisplacementField(height, width, true, nodesX, nodesY, x0, y0, stepX, stepY, coefficientsX,
                coefficientsY, columns, rows, dx, dy, match);
    }

    private DisplacementField(int height, int width, boolean bSpline, int nodesX, int nodesY, double x0, double y0,
            double stepX, double stepY, double[] valuesX, double[] valuesY, int columns, int rows, double[] dx,
            double[] dy, double[] match) {
        int n = nodesX * nodesY;
        int patches = columns * rows;
        if (nodesX < 1 || nodesY < 1 || valuesX.length != n || valuesY.length != n || dx.length != patches
                || dy.length != patches || match.length != patches || !(stepX > 0) || !(stepY > 0)) {
            throw new IllegalArgumentException("a displacement field needs a value per node and a shift per patch: "
                    + nodesX + "x" + nodesY + " nodes, " + valuesX.length + "/" + valuesY.length + " values, "
                    + columns + "x" + rows + " patches, " + dx.length + "/" + dy.length + "/" + match.length
                    + " shifts, node steps " + stepX + ", " + stepY);
        }
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(valuesX[i]) || !Double.isFinite(valuesY[i])) {
                throw new IllegalArgumentException("displacements must be finite, got (" + valuesX[i] + ", "
                        + valuesY[i] + ")");
            }
        }
        this.height = height;
        this.width = width;
        this.bSpline = bSpline;
        this.nodesX = nodesX;
        this.nodesY = nodesY;
        this.x0 = x0;
        this.y0 = y0;
        this.stepX = stepX;
        this.stepY = stepY;
        this.gx = withGhosts(valuesX, nodesX, nodesY);
        this.gy = withGhosts(valuesY, nodesX, nodesY);
        this.columns = columns;
        this.rows = rows;
        this.dx = dx.clone();
        this.dy = dy.clone();
        this.match = match.clone();
        this.columnCell = new int[width];
        this.columnWeights = new double[4 * width];
        for (int x = 0; x < width; x++) {
            double tx = (x - x0) / stepX;
            int kx = clampCell(tx, nodesX);
            columnCell[x] = kx - 1 + GHOSTS;
            weights(tx - kx, columnWeights, 4 * x);
        }
    }

    /** A field that is the same shift everywhere. */
    public static DisplacementField uniform(int height, int width, double dx, double dy) {
        return new DisplacementField(height, width, new double[] {0.5 * (width - 1)}, new double[] {0.5 * (height - 1)},
                new double[] {dx}, new double[] {dy}, new double[] {1});
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Patches along x. */
    public int columns() {
        return columns;
    }

    /** Patches along y. */
    public int rows() {
        return rows;
    }

    /** Shift along x measured at patch (row r, column c). */
    public double patchDx(int r, int c) {
        return dx[r * columns + c];
    }

    /** Shift along y measured at patch (row r, column c). */
    public double patchDy(int r, int c) {
        return dy[r * columns + c];
    }

    /** How well patch (r, c) matched its template patch (correlation), 0 if its shift was replaced. */
    public double patchMatch(int r, int c) {
        return match[r * columns + c];
    }

    /** Largest distance of a patch shift from {@code (refX, refY)} (e.g. the rigid shift), px. */
    public double maxPatchDeviation(double refX, double refY) {
        double max = 0;
        for (int i = 0; i < dx.length; i++) {
            max = Math.max(max, Math.hypot(dx[i] - refX, dy[i] - refY));
        }
        return max;
    }

    /** Mean distance of the patch shifts from {@code (refX, refY)}, px. */
    public double meanPatchDeviation(double refX, double refY) {
        double sum = 0;
        for (int i = 0; i < dx.length; i++) {
            sum += Math.hypot(dx[i] - refX, dy[i] - refY);
        }
        return sum / dx.length;
    }

    /** d_x at (x, y), px. */
    public double dxAt(double x, double y) {
        return at(gx, x, y);
    }

    /** d_y at (x, y), px. */
    public double dyAt(double x, double y) {
        return at(gy, x, y);
    }

    /**
     * The field along frame row {@code y}: {@code u[x] = d_x(x, y)}, {@code v[x] = d_y(x, y)} for
     * x in [0, width). {@code scratch} holds at least {@link #scratchLength()} doubles.
     */
    public void row(int y, double[] u, double[] v, double[] scratch) {
        int gw = nodesX + 2 * GHOSTS;
        // Along y first: the grid's columns (ghosts included) at this row.
        double ty = (y - y0) / stepY;
        int ky = clampCell(ty, nodesY);
        int wAt = 2 * gw;
        weights(ty - ky, scratch, wAt);
        double w0 = scratch[wAt];
        double w1 = scratch[wAt + 1];
        double w2 = scratch[wAt + 2];
        double w3 = scratch[wAt + 3];
        int r0 = (ky - 1 + GHOSTS) * gw;
        for (int c = 0; c < gw; c++) {
            int i = r0 + c;
            scratch[c] = w0 * gx[i] + w1 * gx[i + gw] + w2 * gx[i + 2 * gw] + w3 * gx[i + 3 * gw];
            scratch[gw + c] = w0 * gy[i] + w1 * gy[i + gw] + w2 * gy[i + 2 * gw] + w3 * gy[i + 3 * gw];
        }
        // Then along x.
        int[] cell = columnCell;
        double[] a = columnWeights;
        for (int x = 0; x < width; x++) {
            int c = cell[x];
            int k = 4 * x;
            u[x] = a[k] * scratch[c] + a[k + 1] * scratch[c + 1] + a[k + 2] * scratch[c + 2] + a[k + 3] * scratch[c + 3];
            int g = gw + c;
            v[x] = a[k] * scratch[g] + a[k + 1] * scratch[g + 1] + a[k + 2] * scratch[g + 2] + a[k + 3] * scratch[g + 3];
        }
    }

    /** Scratch length {@link #row} needs. */
    public int scratchLength() {
        return 2 * (nodesX + 2 * GHOSTS) + 4;
    }

    /** The dense field as a 2 × H × W image: plane 0 d_x, plane 1 d_y (px). */
    public Image toPlanes() {
        Image out = new Image(2, height, width);
        double[] u = new double[width];
        double[] v = new double[width];
        double[] scratch = new double[scratchLength()];
        float[] d = out.data();
        int n = height * width;
        for (int y = 0; y < height; y++) {
            row(y, u, v, scratch);
            for (int x = 0; x < width; x++) {
                d[y * width + x] = (float) u[x];
                d[n + y * width + x] = (float) v[x];
            }
        }
        return out;
    }

    private double at(double[] g, double x, double y) {
        int gw = nodesX + 2 * GHOSTS;
        double ty = (y - y0) / stepY;
        int ky = clampCell(ty, nodesY);
        double tx = (x - x0) / stepX;
        int kx = clampCell(tx, nodesX);
        double[] wy = new double[4];
        double[] wx = new double[4];
        weights(ty - ky, wy, 0);
        weights(tx - kx, wx, 0);
        double sum = 0;
        for (int j = 0; j < 4; j++) {
            int row = (ky - 1 + j + GHOSTS) * gw + kx - 1 + GHOSTS;
            for (int i = 0; i < 4; i++) {
                sum += wy[j] * wx[i] * g[row + i];
            }
        }
        return sum;
    }

    /** Weights of the nodes k − 1 … k + 2 at offset t from node k: Catmull-Rom or B-spline. */
    private void weights(double t, double[] out, int at) {
        if (bSpline) {
            double s = 1 - t;
            double t2 = t * t;
            out[at] = s * s * s / 6;
            out[at + 1] = (3 * t2 * t - 6 * t2 + 4) / 6;
            out[at + 2] = (-3 * t2 * t + 3 * t2 + 3 * t + 1) / 6;
            out[at + 3] = t2 * t / 6;
        } else {
            out[at] = catmullRom0(t);
            out[at + 1] = catmullRom1(t);
            out[at + 2] = catmullRom2(t);
            out[at + 3] = catmullRom3(t);
        }
    }

    /**
     * The cell k (segment [k, k + 1] of centre indices) holding parameter t, kept within the
     * ghost-extended grid (k in [−1, n − 1]). Farther out the end cell's cubic is evaluated beyond
     * its segment; its four points are collinear there, so the field simply stays linear.
     */
    private static int clampCell(double t, int n) {
        int k = (int) Math.floor(t);
        return Math.max(-1, Math.min(n - 1, k));
    }

    // Catmull-Rom weights of the points k − 1, k, k + 1, k + 2 at t = offset from k.
    private static double catmullRom0(double t) {
        return 0.5 * t * (-1 + t * (2 - t));
    }

    private static double catmullRom1(double t) {
        return 0.5 * (2 + t * t * (-5 + 3 * t));
    }

    private static double catmullRom2(double t) {
        return 0.5 * t * (1 + t * (4 - 3 * t));
    }

    private static double catmullRom3(double t) {
        return 0.5 * t * t * (t - 1);
    }

    /** The grid extended by {@value #GHOSTS} linearly extrapolated centres on every side. */
    private static double[] withGhosts(double[] v, int nx, int ny) {
        int gw = nx + 2 * GHOSTS;
        int gh = ny + 2 * GHOSTS;
        double[] g = new double[gw * gh];
        for (int r = 0; r < ny; r++) {
            int row = (r + GHOSTS) * gw;
            for (int c = 0; c < nx; c++) {
                g[row + c + GHOSTS] = v[r * nx + c];
            }
            extend(g, row + GHOSTS, 1, nx);
        }
        for (int c = 0; c < gw; c++) {
            extend(g, GHOSTS * gw + c, gw, ny);
        }
        return g;
    }

    /**
     * Fills the ghosts around n values at {@code start}, stride {@code step}: by the parabola through
     * the last three values (a curved field keeps curving to the frame's edge), or the line
     * through the last two when there are only two.
     */
    private static void extend(double[] g, int start, int step, int n) {
        for (int k = 1; k <= GHOSTS; k++) {
            g[start - k * step] = extrapolate(g, start, step, n, -k);
            g[start + (n - 1 + k) * step] = extrapolate(g, start + (n - 1) * step, -step, n, -k);
        }
    }

    /** Value at index {@code t} (< 0) of the polynomial through the first (up to) three values from {@code at}. */
    private static double extrapolate(double[] g, int at, int step, int n, int t) {
        double v0 = g[at];
        if (n == 1) {
            return v0;
        }
        double v1 = g[at + step];
        if (n == 2) {
            return v0 + t * (v1 - v0);
        }
        double v2 = g[at + 2 * step];
        // Lagrange through (0, v0), (1, v1), (2, v2).
        return v0 * (t - 1) * (t - 2) / 2 - v1 * t * (t - 2) + v2 * t * (t - 1) / 2;
    }

    @Override
    public String toString() {
        return "DisplacementField[" + (bSpline ? "spline, " : "") + rows + "x" + columns + " patches over " + height
                + "x" + width + ", dx=" + Arrays.toString(dx) + ", dy=" + Arrays.toString(dy) + "]";
    }
}
