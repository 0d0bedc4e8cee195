package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import java.util.Arrays;

/**
 * A smooth displacement field d(p) over a frame, px: the reference's content at p appears in the
 * frame at p + d(p) (the convention of {@link Shift}, now varying over the field). It is known at
 * the centres of a grid of patches (piecewise-rigid registration measures one shift per patch)
 * and upsampled to every pixel by Catmull-Rom cubic interpolation, which passes through the
 * measured shifts and reproduces linear fields exactly. Beyond the outermost centres the field is
 * extended by two ghost centres per side on the parabola through the last three (the line
 * through the last two where there are only two), so a field that bends keeps bending up to the
 * frame's edges instead of flattening out.
 *
 * <p>Centres are treated as evenly spaced along each axis (patches are placed so, up to rounding to
 * whole pixels). Immutable.
 */
public final class DisplacementField {

    private static final int GHOSTS = 2;

    private final int height;
    private final int width;
    private final int columns; // patch centres along x
    private final int rows; // patch centres along y
    private final double x0; // first centre, px
    private final double y0;
    private final double stepX; // centre spacing, px (1 when there is one centre)
    private final double stepY;
    private final double[] dx; // rows × columns, row-major
    private final double[] dy;
    private final double[] weight; // per patch: how well it matched, 0 when it was replaced
    // The grid with ghost centres: (rows + 4) × (columns + 4).
    private final double[] gx;
    private final double[] gy;

    /**
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
        int nx = centreX.length;
        int ny = centreY.length;
        if (nx < 1 || ny < 1 || dx.length != nx * ny || dy.length != nx * ny || match.length != nx * ny) {
            throw new IllegalArgumentException("a displacement field needs a shift per patch centre: " + nx + "x" + ny
                    + " centres, " + dx.length + "/" + dy.length + "/" + match.length + " values");
        }
        for (int i = 0; i < dx.length; i++) {
            if (!Double.isFinite(dx[i]) || !Double.isFinite(dy[i])) {
                throw new IllegalArgumentException("patch shifts must be finite, got (" + dx[i] + ", " + dy[i] + ")");
            }
        }
        this.height = height;
        this.width = width;
        this.columns = nx;
        this.rows = ny;
        this.x0 = centreX[0];
        this.y0 = centreY[0];
        this.stepX = nx > 1 ? (centreX[nx - 1] - centreX[0]) / (nx - 1) : 1;
        this.stepY = ny > 1 ? (centreY[ny - 1] - centreY[0]) / (ny - 1) : 1;
        this.dx = dx.clone();
        this.dy = dy.clone();
        this.weight = match.clone();
        this.gx = withGhosts(dx, nx, ny);
        this.gy = withGhosts(dy, nx, ny);
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

    /** Patch centres along x. */
    public int columns() {
        return columns;
    }

    /** Patch centres along y. */
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
        return weight[r * columns + c];
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
        int gw = columns + 2 * GHOSTS;
        // Along y first: the grid's columns (ghosts included) interpolated at this row.
        double ty = (y - y0) / stepY;
        int ky = clampCell(ty, rows);
        double fy = ty - ky;
        double w0 = catmullRom0(fy);
        double w1 = catmullRom1(fy);
        double w2 = catmullRom2(fy);
        double w3 = catmullRom3(fy);
        int r0 = (ky - 1 + GHOSTS) * gw;
        for (int c = 0; c < gw; c++) {
            int i = r0 + c;
            scratch[c] = w0 * gx[i] + w1 * gx[i + gw] + w2 * gx[i + 2 * gw] + w3 * gx[i + 3 * gw];
            scratch[gw + c] = w0 * gy[i] + w1 * gy[i + gw] + w2 * gy[i + 2 * gw] + w3 * gy[i + 3 * gw];
        }
        // Then along x.
        for (int x = 0; x < width; x++) {
            double tx = (x - x0) / stepX;
            int kx = clampCell(tx, columns);
            double fx = tx - kx;
            int c = kx - 1 + GHOSTS;
            double a0 = catmullRom0(fx);
            double a1 = catmullRom1(fx);
            double a2 = catmullRom2(fx);
            double a3 = catmullRom3(fx);
            u[x] = a0 * scratch[c] + a1 * scratch[c + 1] + a2 * scratch[c + 2] + a3 * scratch[c + 3];
            v[x] = a0 * scratch[gw + c] + a1 * scratch[gw + c + 1] + a2 * scratch[gw + c + 2] + a3 * scratch[gw + c + 3];
        }
    }

    /** Scratch length {@link #row} needs. */
    public int scratchLength() {
        return 2 * (columns + 2 * GHOSTS);
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
        int gw = columns + 2 * GHOSTS;
        double ty = (y - y0) / stepY;
        int ky = clampCell(ty, rows);
        double fy = ty - ky;
        double tx = (x - x0) / stepX;
        int kx = clampCell(tx, columns);
        double fx = tx - kx;
        double[] wy = {catmullRom0(fy), catmullRom1(fy), catmullRom2(fy), catmullRom3(fy)};
        double[] wx = {catmullRom0(fx), catmullRom1(fx), catmullRom2(fx), catmullRom3(fx)};
        double sum = 0;
        for (int j = 0; j < 4; j++) {
            int row = (ky - 1 + j + GHOSTS) * gw + kx - 1 + GHOSTS;
            for (int i = 0; i < 4; i++) {
                sum += wy[j] * wx[i] * g[row + i];
            }
        }
        return sum;
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
        return "DisplacementField[" + rows + "x" + columns + " patches over " + height + "x" + width + ", dx="
                + Arrays.toString(dx) + ", dy=" + Arrays.toString(dy) + "]";
    }
}
