package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.VectorApi;

/**
 * Locates the peak of a correlation surface to sub-pixel precision by evaluating its inverse DFT
 * directly on small grids around a known integer peak (the matrix-multiply "upsampled DFT" of
 * Guizar-Sicairos et al. 2008), coarse-to-fine, finished by a parabola.
 *
 * <p>The cross-power spectrum R of two real images is Hermitian, so the real surface
 * c(x, y) = (1/N)·Re Σ R[ky,kx]·exp(2πi(fx·x/W + fy·y/H)) needs only the columns kx ≤ W/2 (the
 * others doubled), halving the work. A grid of u × u points costs H·(W/2+1)·u + H·u² complex
 * multiply-adds (on the Vector API where the JVM has it: {@link VectorProjection}). Owns
 * scratch: not thread-safe.
 */
final class UpsampledCorrelation {

    /** Whether the projection runs on the Vector API (the module is present, vectors of ≥ 4 doubles). */
    private static final boolean VECTOR = VectorApi.present() && VectorProjection.lanes() >= 4;

    private final int height;
    private final int width;
    private final int columns; // kx in [0, W/2]
    private final int coarse;
    private final int fine;
    private final double[] exRe;
    private final double[] exIm;
    private final double[] eyRe;
    private final double[] eyIm;
    private final double[] tRe;
    private final double[] tIm;
    private final double[] grid;
    private final double[] peak = new double[2];
    private final Workers workers; // null: single-threaded
    private final int parts;

    UpsampledCorrelation(int height, int width, int coarseUpsample, int fineUpsample, Workers workers) {
        this.workers = workers;
        this.parts = workers == null ? 1 : workers.count();
        this.height = height;
        this.width = width;
        this.columns = width / 2 + 1;
        this.fine = fineUpsample;
        this.coarse = Math.min(coarseUpsample, fineUpsample);
        int u = Math.max(count(coarse, 1), fine > coarse ? count(fine, coarse) : 0);
        exRe = new double[u * columns];
        exIm = new double[u * columns];
        eyRe = new double[u * height];
        eyIm = new double[u * height];
        tRe = new double[height * u];
        tIm = new double[height * u];
        grid = new double[u * u];
    }

    /** Points per axis covering ±0.75 of the previous stage's step at the new step. */
    private static int count(int upsample, int previous) {
        return 2 * halfCount(upsample, previous) + 1;
    }

    private static int halfCount(int upsample, int previous) {
        return (int) Math.ceil(0.75 * upsample / previous);
    }

    /**
     * The sub-pixel peak near integer shift (dx0, dy0) of the surface whose spectrum is
     * {@code re/im} (FFT order, H×W). Returns {dx, dy} in a reused array.
     */
    double[] locatePeak(double[] re, double[] im, int dx0, int dy0) {
        return locatePeak(re, im, dx0, dy0, false);
    }

    /**
     * As {@link #locatePeak(double[], double[], int, int)}; with {@code coarseOnly} the fine grid is
     * skipped (the parabola works on the coarse grid: ~0.02 px instead of ~0.002 px, for a first
     * look at half the cost).
     */
    double[] locatePeak(double[] re, double[] im, int dx0, int dy0, boolean coarseOnly) {
        peak[0] = dx0;
        peak[1] = dy0;
        if (fine == 1) {
            return peak;
        }
        double step = 1.0 / coarse;
        int half = halfCount(coarse, 1);
        int u = refineOnce(re, im, half, step);
        if (fine > coarse && !coarseOnly) {
            step = 1.0 / fine;
            half = halfCount(fine, coarse);
            u = refineOnce(re, im, half, step);
        }
        // Parabola through the 3 samples around the grid maximum on each axis.
        int best = argMax(grid, u * u);
        int j = best / u;
        int l = best % u;
        if (l > 0 && l < u - 1) {
            peak[0] += step * vertex(grid[j * u + l - 1], grid[j * u + l], grid[j * u + l + 1]);
        }
        if (j > 0 && j < u - 1) {
            peak[1] += step * vertex(grid[(j - 1) * u + l], grid[j * u + l], grid[(j + 1) * u + l]);
        }
        return peak;
    }

    /** Evaluates a (2·half+1)² grid at {@code step} centred on {@link #peak}, moves peak to its max. */
    private int refineOnce(double[] re, double[] im, int half, double step) {
        int u = 2 * half + 1;
        evaluate(re, im, peak[0] - half * step, peak[1] - half * step, step, u);
        int best = argMax(grid, u * u);
        peak[0] += (best % u - half) * step;
        peak[1] += (best / u - half) * step;
        return u;
    }

    /** grid[j·u + l] = c(x0 + l·step, y0 + j·step). */
    private void evaluate(double[] re, double[] im, double x0, double y0, double step, int u) {
        // exp(iθ·(x0 + l·step)) = exp(iθ·x0)·exp(iθ·step)^l: two trig calls per frequency, not u.
        for (int kx = 0; kx < columns; kx++) {
            // kx = 0 (and kx = W/2, which the caller zeroes) pair with themselves; others doubled.
            double weight = kx == 0 || 2 * kx == width ? 1 : 2;
            double theta = 2 * Math.PI * kx / width;
            double cr = weight * Math.cos(theta * x0);
            double ci = weight * Math.sin(theta * x0);
            double sr = Math.cos(theta * step);
            double si = Math.sin(theta * step);
            for (int l = 0; l < u; l++) {
                exRe[l * columns + kx] = cr;
                exIm[l * columns + kx] = ci;
                double t = cr * sr - ci * si;
                ci = cr * si + ci * sr;
                cr = t;
            }
        }
        for (int ky = 0; ky < height; ky++) {
            int fy = ky <= height / 2 ? ky : ky - height;
            double theta = 2 * Math.PI * fy / height;
            double cr = Math.cos(theta * y0);
            double ci = Math.sin(theta * y0);
            double sr = Math.cos(theta * step);
            double si = Math.sin(theta * step);
            for (int j = 0; j < u; j++) {
                eyRe[j * height + ky] = cr;
                eyIm[j * height + ky] = ci;
                double t = cr * sr - ci * si;
                ci = cr * si + ci * sr;
                cr = t;
            }
        }
        // t[ky][l] = Σ_kx R[ky][kx]·ex[l][kx]: the bulk of the work, split by rows.
        if (workers == null) {
            project(re, im, u, 0, height);
        } else {
            workers.run(p -> project(re, im, u, Workers.start(p, parts, height, 1), Workers.end(p, parts, height, 1)));
        }
        // grid[j][l] = Re Σ_ky ey[j][ky]·t[ky][l] / N
        double scale = 1.0 / ((double) height * width);
        java.util.Arrays.fill(grid, 0, u * u, 0.0);
        for (int j = 0; j < u; j++) {
            int g = j * u;
            for (int ky = 0; ky < height; ky++) {
                double er = eyRe[j * height + ky];
                double ei = eyIm[j * height + ky];
                int t = ky * u;
                for (int l = 0; l < u; l++) {
                    grid[g + l] += er * tRe[t + l] - ei * tIm[t + l];
                }
            }
            for (int l = 0; l < u; l++) {
                grid[g + l] *= scale;
            }
        }
    }

    /**
     * t[ky][l] = Σ_kx R[ky][kx]·ex[l][kx] for rows [ky0, ky1); two partial sums per part break
     * the add chains (the JIT keeps floating-point sums in order, so it would not split them itself).
     */
    private void project(double[] re, double[] im, int u, int ky0, int ky1) {
        if (VECTOR) {
            VectorProjection.project(re, im, width, exRe, exIm, columns, u, tRe, tIm, ky0, ky1);
            return;
        }
        for (int ky = ky0; ky < ky1; ky++) {
            int row = ky * width;
            for (int l = 0; l < u; l++) {
                int e = l * columns;
                double sr0 = 0;
                double si0 = 0;
                double sr1 = 0;
                double si1 = 0;
                int kx = 0;
                for (; kx + 1 < columns; kx += 2) {
                    double rr = re[row + kx];
                    double ri = im[row + kx];
                    double er = exRe[e + kx];
                    double ei = exIm[e + kx];
                    sr0 += rr * er - ri * ei;
                    si0 += rr * ei + ri * er;
                    rr = re[row + kx + 1];
                    ri = im[row + kx + 1];
                    er = exRe[e + kx + 1];
                    ei = exIm[e + kx + 1];
                    sr1 += rr * er - ri * ei;
                    si1 += rr * ei + ri * er;
                }
                if (kx < columns) {
                    double rr = re[row + kx];
                    double ri = im[row + kx];
                    double er = exRe[e + kx];
                    double ei = exIm[e + kx];
                    sr0 += rr * er - ri * ei;
                    si0 += rr * ei + ri * er;
                }
                tRe[ky * u + l] = sr0 + sr1;
                tIm[ky * u + l] = si0 + si1;
            }
        }
    }

    /** Offset in (−0.5, 0.5) of the vertex of the parabola through (−1, a), (0, b), (1, c). */
    private static double vertex(double a, double b, double c) {
        double curvature = a - 2 * b + c;
        if (!(curvature < 0)) {
            return 0;
        }
        double d = 0.5 * (a - c) / curvature;
        return Math.max(-0.5, Math.min(0.5, d));
    }

    private static int argMax(double[] a, int length) {
        int best = 0;
        for (int i = 1; i < length; i++) {
            if (a[i] > a[best]) {
                best = i;
            }
        }
        return best;
    }
}
