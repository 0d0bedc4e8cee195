package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.fft.ComplexFft2d;

/**
 * Piecewise-rigid shift estimation (as in NoRMCorre, Pnevmatikakis &amp; Giovannucci 2017): the
 * plane is covered by a grid of overlapping square patches, and each patch's sub-pixel shift
 * against the same patch of the template is measured by band-limited cross-correlation with
 * upsampled-DFT refinement.
 *
 * <p>Each patch is searched near the frame's rigid shift: the frame patch is cut out at the
 * template patch's position moved by the rigid shift rounded to whole pixels, so what remains to
 * find is the sub-pixel rest plus the local deformation — a few pixels, so that windows fixed to
 * each patch bias the peak by far less than the noise does. A patch whose peak lies farther than
 * {@code maxDeviation} from the rigid shift, or whose match (normalised correlation at the peak,
 * 1 for identical patches, ~0 for unrelated or empty ones) is below {@code minMatch}, is not
 * trusted and takes the rigid shift instead.
 *
 * <p>Patches are spread evenly: along each axis n = ⌈(L − P)/stride⌉ + 1 of them, the first and
 * last flush with the plane's edges. Work is split between the {@link Workers} by patches (one
 * dispatch per frame), each thread with its own transforms and scratch. Not thread-safe.
 */
final class PatchCorrelator {

    /** A template prepared for patch registration: each patch's windowed spectrum (Hermitian half). */
    static final class PatchTemplate {
        final float[][] spectrumRe;
        final float[][] spectrumIm;
        final double[] energy; // Σ g·|F|² over the whole spectrum, per patch
        // Per patch, 5 moments about its centre (px) of the weights its x (resp. y) shift is
        // measured with: mean x, mean y, E[x²], E[xy], E[y²] (see moments()).
        final double[] xMoments;
        final double[] yMoments;

        private PatchTemplate(int patches) {
            spectrumRe = new float[patches][];
            spectrumIm = new float[patches][];
            energy = new double[patches];
            xMoments = new double[5 * patches];
            yMoments = new double[5 * patches];
        }
    }

    /** Relative contrast below which a patch counts as empty (constant up to rounding). */
    private static final double FEATURELESS = 1e-12;

    private final int height;
    private final int width;
    private final int patchH;
    private final int patchW;
    private final int halfW; // columns kx ≤ patchW/2
    private final int[] startX;
    private final int[] startY;
    private final double[] windowX;
    private final double[] windowY;
    private final double[] weightX;
    private final double[] weightY;
    private final double taper;
    private final Workers workers;
    private final int parts;
    private final Scratch[] scratch;

    /** What one thread needs to register patches. */
    private final class Scratch {
        final ComplexFft2d fft = new ComplexFft2d(patchH, patchW);
        final double[] zRe = new double[patchH * patchW];
        final double[] zIm = new double[patchH * patchW];
        final double[][] xRe = {new double[patchH * patchW], new double[patchH * patchW]};
        final double[][] xIm = {new double[patchH * patchW], new double[patchH * patchW]};
        final double[] sRe = new double[patchH * patchW];
        final double[] sIm = new double[patchH * patchW];
        final UpsampledCorrelation upsampled = new UpsampledCorrelation(patchH, patchW, 4, 16, null);
        final double[] shiftedX = new double[patchW];
        final double[] shiftedY = new double[patchH];
    }

    /**
     * @param height    plane height, px
     * @param width     plane width, px
     * @param patch     patch side, px (limited to the plane's sides)
     * @param maxStride largest distance between neighbouring patch origins, px
     * @param bandwidth σ of the Gaussian spectral weight, cycles/px of this plane
     * @param taper     Tukey window taper of each patch, [0, 1]
     */
    PatchCorrelator(int height, int width, int patch, int maxStride, double bandwidth, double taper, Workers workers) {
        if (patch < 8 || maxStride < 1) {
            throw new IllegalArgumentException("patches must be at least 8 px with a stride of at least 1 px, got "
                    + patch + " px, stride " + maxStride + " px");
        }
        this.height = height;
        this.width = width;
        this.patchH = Math.min(patch, height);
        this.patchW = Math.min(patch, width);
        this.halfW = patchW / 2 + 1;
        this.startX = starts(width, patchW, maxStride);
        this.startY = starts(height, patchH, maxStride);
        this.taper = taper;
        this.windowX = new double[patchW];
        this.windowY = new double[patchH];
        PhaseCorrelator.tukey(taper, 0, patchW, windowX);
        PhaseCorrelator.tukey(taper, 0, patchH, windowY);
        this.weightX = PhaseCorrelator.spectralWeight(patchW, bandwidth);
        this.weightY = PhaseCorrelator.spectralWeight(patchH, bandwidth);
        this.workers = workers;
        this.parts = workers == null ? 1 : workers.count();
        this.scratch = new Scratch[parts];
        for (int p = 0; p < parts; p++) {
            scratch[p] = new Scratch();
        }
    }

    int height() {
        return height;
    }

    int width() {
        return width;
    }

    /** Patches along x. */
    int columns() {
        return startX.length;
    }

    /** Patches along y. */
    int rows() {
        return startY.length;
    }

    /** x of the centre of patch column c, px of the plane. */
    double centreX(int c) {
        return startX[c] + 0.5 * (patchW - 1);
    }

    /** y of the centre of patch row r, px of the plane. */
    double centreY(int r) {
        return startY[r] + 0.5 * (patchH - 1);
    }

    /** Windowed spectra of every patch of {@code template} (1 × height × width). */
    PatchTemplate prepare(Image template) {
        check(template);
        int count = rows() * columns();
        PatchTemplate t = new PatchTemplate(count);
        forPatchPairs(count, (s, a, b) -> {
            boolean[] empty = {!cut(template, a, 0, 0, windowX, windowY, s.zRe), true};
            if (b >= 0) {
                empty[1] = !cut(template, b, 0, 0, windowX, windowY, s.zIm);
            } else {
                java.util.Arrays.fill(s.zIm, 0.0);
            }
            s.fft.forward(s.zRe, s.zIm);
            for (int k = 0; k < 2; k++) {
                int patch = k == 0 ? a : b;
                if (patch < 0) {
                    continue;
                }
                split(s.zRe, s.zIm, k, s.xRe[k], s.xIm[k]);
                int m = patchH * halfW;
                float[] re = new float[m];
                float[] im = new float[m];
                double energy = 0;
                for (int ky = 0; ky < patchH; ky++) {
                    for (int kx = 0; kx < halfW; kx++) {
                        int i = ky * patchW + kx;
                        re[ky * halfW + kx] = (float) s.xRe[k][i];
                        im[ky * halfW + kx] = (float) s.xIm[k][i];
                        double e = weightY[ky] * weightX[kx] * (s.xRe[k][i] * s.xRe[k][i] + s.xIm[k][i] * s.xIm[k][i]);
                        energy += kx == 0 || 2 * kx == patchW ? e : 2 * e;
                    }
                }
                t.spectrumRe[patch] = re;
                t.spectrumIm[patch] = im;
                // An empty patch's spectrum is zero but for rounding leaked from its FFT partner.
                t.energy[patch] = empty[k] ? 0 : energy;
                moments(template, patch, t);
            }
        });
        return t;
    }

    /**
     * Where, and over how wide an area, a patch's shift is measured. Under a deformation that varies
     * across the patch the correlation peak moves by the displacement averaged over the patch with
     * the weight each pixel has in locating it: window² × squared intensity gradient along the axis
     * (the Fisher information of a shift). By Taylor's theorem that average is
     * d(c) + ∇d·E[p − c] + ½·tr(H·E[(p − c)(p − c)ᵀ]) about the centre c: the weights' centroid
     * sits wherever the patch's structure is, and their spread lets curvature pull peaks of the
     * field towards their surroundings. {@link #estimate} removes both terms ({@link #moveToCentres}).
     */
    private void moments(Image template, int patch, PatchTemplate t) {
        float[] d = template.data();
        int x0 = startX[patch % columns()];
        int y0 = startY[patch / columns()];
        double cx = 0.5 * (patchW - 1);
        double cy = 0.5 * (patchH - 1);
        double[] mx = new double[6]; // Σw, Σw·x, Σw·y, Σw·x², Σw·xy, Σw·y² for the x shift
        double[] my = new double[6];
        for (int y = 1; y < patchH - 1; y++) {
            int row = (y0 + y) * width + x0;
            double ry = y - cy;
            for (int x = 1; x < patchW - 1; x++) {
                double w = windowY[y] * windowX[x];
                w *= w;
                double gx = 0.5 * (d[row + x + 1] - d[row + x - 1]);
                double gy = 0.5 * (d[row + x + width] - d[row + x - width]);
                double rx = x - cx;
                accumulate(mx, w * gx * gx, rx, ry);
                accumulate(my, w * gy * gy, rx, ry);
            }
        }
        normalise(mx, t.xMoments, 5 * patch);
        normalise(my, t.yMoments, 5 * patch);
    }

    private static void accumulate(double[] m, double w, double rx, double ry) {
        m[0] += w;
        m[1] += w * rx;
        m[2] += w * ry;
        m[3] += w * rx * rx;
        m[4] += w * rx * ry;
        m[5] += w * ry * ry;
    }

    private static void normalise(double[] m, double[] out, int at) {
        for (int k = 0; k < 5; k++) {
            out[at + k] = m[0] > 0 ? m[k + 1] / m[0] : 0;
        }
    }

    /**
     * Measures every patch's shift of {@code frame} against {@code template}, near the rigid
     * shift (rigidDx, rigidDy) (px of this plane). Writes, per patch (row-major), the shift into
     * {@code dx}, {@code dy} and its match into {@code match}; an untrusted patch gets the rigid
     * shift and match 0.
     *
     * <p>Two passes per patch. The first finds the peak with the frame patch under the same
     * window as the template patch; but the frame's content is shifted under that window by the
     * residual r, which pulls the peak towards zero residual (by ~0.1 px at 2 px in a 64 px
     * patch). The second therefore windows the frame patch with the template's window translated
     * by the first pass's r, so the two windows are exact translates of each other and the peak is
     * unbiased, and refines the peak from there.
     */
    void estimate(PatchTemplate template, Image frame, double rigidDx, double rigidDy, double maxDeviation,
            double minMatch, double[] dx, double[] dy, double[] match) {
        check(frame);
        int ox = (int) Math.round(rigidDx);
        int oy = (int) Math.round(rigidDy);
        int count = rows() * columns();
        int[] offsetX = new int[count];
        int[] offsetY = new int[count];
        double[] residualX = new double[count];
        double[] residualY = new double[count];
        for (int i = 0; i < count; i++) {
            // The frame patch sits at the template patch's origin plus the rounded rigid shift,
            // kept inside the plane (the offset actually used is what the residual is added to).
            int[] off = offset(i, ox, oy);
            offsetX[i] = off[0];
            offsetY[i] = off[1];
        }
        boolean[] empty = new boolean[count];
        forPatchPairs(count, (s, a, b) -> {
            for (int k = 0; k < 2; k++) {
                int patch = k == 0 ? a : b;
                double[] z = k == 0 ? s.zRe : s.zIm;
                if (patch < 0) {
                    java.util.Arrays.fill(z, 0.0);
                } else {
                    empty[patch] = !cut(frame, patch, offsetX[patch], offsetY[patch], windowX, windowY, z);
                }
            }
            s.fft.forward(s.zRe, s.zIm);
            for (int k = 0; k < 2; k++) {
                int patch = k == 0 ? a : b;
                if (patch < 0) {
                    continue;
                }
                split(s.zRe, s.zIm, k, s.xRe[k], s.xIm[k]);
                double frameEnergy = weighCrossPower(s.xRe[k], s.xIm[k], template.spectrumRe[patch],
                        template.spectrumIm[patch]);
                double norm = Math.sqrt(frameEnergy * template.energy[patch]);
                match[patch] = 0;
                if (empty[patch] || !(norm > 0)) {
                    continue;
                }
                // The correlation surface, for the integer peak near the expected residual.
                for (int ky = 0; ky < patchH; ky++) {
                    System.arraycopy(s.xRe[k], ky * patchW, s.sRe, ky * patchW, halfW);
                    System.arraycopy(s.xIm[k], ky * patchW, s.sIm, ky * patchW, halfW);
                }
                s.fft.inverseReal(s.sRe, s.sIm);
                double ex = rigidDx - offsetX[patch];
                double ey = rigidDy - offsetY[patch];
                int reach = (int) Math.ceil(maxDeviation) + 1;
                int bestX = 0;
                int bestY = 0;
                double best = Double.NEGATIVE_INFINITY;
                for (int ry = (int) Math.floor(ey) - reach; ry <= (int) Math.ceil(ey) + reach; ry++) {
                    int iy = Math.floorMod(ry, patchH);
                    for (int rx = (int) Math.floor(ex) - reach; rx <= (int) Math.ceil(ex) + reach; rx++) {
                        double c = s.sRe[iy * patchW + Math.floorMod(rx, patchW)];
                        if (c > best) {
                            best = c;
                            bestX = rx;
                            bestY = ry;
                        }
                    }
                }
                // c = (1/N)·Σ X·e^{…} and |Σ X·e^{…}| ≤ √(Σ g|G|²·Σ g|F|²) (Cauchy–Schwarz).
                double m = best * patchH * patchW / norm;
                double[] d = s.upsampled.locatePeak(s.xRe[k], s.xIm[k], bestX, bestY);
                residualX[patch] = d[0];
                residualY[patch] = d[1];
                double px = offsetX[patch] + d[0];
                double py = offsetY[patch] + d[1];
                if (m >= minMatch && Math.hypot(px - rigidDx, py - rigidDy) <= maxDeviation) {
                    match[patch] = Math.min(1, m);
                }
            }
        });
        // Second pass, trusted patches only: windows that are translates by the residual.
        int[] refine = new int[count];
        int refined = 0;
        for (int i = 0; i < count; i++) {
            if (match[i] > 0) {
                refine[refined++] = i;
            }
        }
        int pairs = refined;
        forPatchPairs(pairs, (s, qa, qb) -> {
            for (int k = 0; k < 2; k++) {
                int q = k == 0 ? qa : qb;
                double[] z = k == 0 ? s.zRe : s.zIm;
                if (q < 0) {
                    java.util.Arrays.fill(z, 0.0);
                    continue;
                }
                int patch = refine[q];
                shiftedTukey(residualX[patch], patchW, s.shiftedX);
                shiftedTukey(residualY[patch], patchH, s.shiftedY);
                cut(frame, patch, offsetX[patch], offsetY[patch], s.shiftedX, s.shiftedY, z);
            }
            s.fft.forward(s.zRe, s.zIm);
            for (int k = 0; k < 2; k++) {
                int q = k == 0 ? qa : qb;
                if (q < 0) {
                    continue;
                }
                int patch = refine[q];
                split(s.zRe, s.zIm, k, s.xRe[k], s.xIm[k]);
                weighCrossPower(s.xRe[k], s.xIm[k], template.spectrumRe[patch], template.spectrumIm[patch]);
                double[] d = s.upsampled.locatePeak(s.xRe[k], s.xIm[k], (int) Math.round(residualX[patch]),
                        (int) Math.round(residualY[patch]));
                residualX[patch] = d[0];
                residualY[patch] = d[1];
            }
        });
        for (int i = 0; i < count; i++) {
            double px = offsetX[i] + residualX[i];
            double py = offsetY[i] + residualY[i];
            if (match[i] > 0 && Math.hypot(px - rigidDx, py - rigidDy) <= maxDeviation) {
                dx[i] = px;
                dy[i] = py;
            } else {
                dx[i] = rigidDx;
                dy[i] = rigidDy;
                match[i] = 0;
            }
        }
        moveToCentres(template, dx, dy, match);
    }

    /** The patch window (Tukey over [0, len)) translated by {@code shift} px, at the pixel centres. */
    private void shiftedTukey(double shift, int len, double[] out) {
        double taper = this.taper;
        double edge = taper / 2 * len;
        for (int i = 0; i < len; i++) {
            double u = i + 0.5 - shift;
            double w;
            if (u <= 0 || u >= len) {
                w = 0;
            } else {
                double fromEdge = Math.min(u, len - u);
                w = fromEdge >= edge ? 1 : 0.5 * (1 - Math.cos(Math.PI * fromEdge / edge));
            }
            out[i] = w;
        }
    }

    /** Passes of {@link #moveToCentres}: each uses the derivatives of the previous one's field. */
    private static final int CENTRING_PASSES = 3;

    /**
     * Turns each trusted patch's shift, a weighted average of the field over the patch (see
     * {@link #moments}), into the field at its centre: d(c) ≈ ŝ − ∇d·μ − ½·tr(H·M), with μ and M
     * the weights' first and second moments about c, and the gradient ∇d and Hessian H of the
     * field from neighbouring patches (central differences; at the grid's edges one-sided for ∇d,
     * the neighbour's for H).
     */
    private void moveToCentres(PatchTemplate t, double[] dx, double[] dy, double[] match) {
        int nx = columns();
        int ny = rows();
        if (nx * ny < 2) {
            return;
        }
        double[] measuredX = dx.clone();
        double[] measuredY = dy.clone();
        for (int pass = 0; pass < CENTRING_PASSES; pass++) {
            double[] fx = dx.clone();
            double[] fy = dy.clone();
            for (int r = 0; r < ny; r++) {
                for (int c = 0; c < nx; c++) {
                    int i = r * nx + c;
                    if (match[i] == 0) {
                        continue;
                    }
                    dx[i] = measuredX[i] - taylorTerms(fx, r, c, t.xMoments, 5 * i);
                    dy[i] = measuredY[i] - taylorTerms(fy, r, c, t.yMoments, 5 * i);
                }
            }
        }
    }

    /** ∇f·μ + ½·tr(H·M) at patch (r, c) of the grid f, with moments m[at …] = μx, μy, Mxx, Mxy, Myy. */
    private double taylorTerms(double[] f, int r, int c, double[] m, int at) {
        int nx = columns();
        int ny = rows();
        int cl = Math.max(0, c - 1);
        int cr = Math.min(nx - 1, c + 1);
        int ru = Math.max(0, r - 1);
        int rd = Math.min(ny - 1, r + 1);
        double spanX = centreX(cr) - centreX(cl);
        double spanY = centreY(rd) - centreY(ru);
        double gx = spanX > 0 ? (f[r * nx + cr] - f[r * nx + cl]) / spanX : 0;
        double gy = spanY > 0 ? (f[rd * nx + c] - f[ru * nx + c]) / spanY : 0;
        double hxx = 0;
        if (nx >= 3) {
            int k = Math.max(1, Math.min(nx - 2, c));
            double step = 0.5 * (centreX(k + 1) - centreX(k - 1));
            hxx = (f[r * nx + k + 1] - 2 * f[r * nx + k] + f[r * nx + k - 1]) / (step * step);
        }
        double hyy = 0;
        if (ny >= 3) {
            int k = Math.max(1, Math.min(ny - 2, r));
            double step = 0.5 * (centreY(k + 1) - centreY(k - 1));
            hyy = (f[(k + 1) * nx + c] - 2 * f[k * nx + c] + f[(k - 1) * nx + c]) / (step * step);
        }
        double hxy = spanX > 0 && spanY > 0
                ? (f[rd * nx + cr] - f[rd * nx + cl] - f[ru * nx + cr] + f[ru * nx + cl]) / (spanX * spanY) : 0;
        return gx * m[at] + gy * m[at + 1] + 0.5 * (hxx * m[at + 2] + 2 * hxy * m[at + 3] + hyy * m[at + 4]);
    }

    /** The whole-pixel offset of patch i's frame window: (ox, oy) kept inside the plane. */
    private int[] offset(int patch, int ox, int oy) {
        int x = startX[patch % columns()];
        int y = startY[patch / columns()];
        int fx = Math.max(0, Math.min(width - patchW, x + ox));
        int fy = Math.max(0, Math.min(height - patchH, y + oy));
        return new int[] {fx - x, fy - y};
    }

    /**
     * In place over the columns kx ≤ W/2: x ← g·G·conj(F) (F the template patch's half spectrum);
     * returns Σ g·|G|² over the whole spectrum (the frame patch's weighted energy).
     */
    private double weighCrossPower(double[] re, double[] im, float[] fRe, float[] fIm) {
        double energy = 0;
        for (int ky = 0; ky < patchH; ky++) {
            double wy = weightY[ky];
            for (int kx = 0; kx < halfW; kx++) {
                int i = ky * patchW + kx;
                int j = ky * halfW + kx;
                double g = wy * weightX[kx];
                double gr = re[i];
                double gi = im[i];
                double e = g * (gr * gr + gi * gi);
                energy += kx == 0 || 2 * kx == patchW ? e : 2 * e;
                double br = fRe[j];
                double bi = fIm[j];
                re[i] = g * (gr * br + gi * bi);
                im[i] = g * (gi * br - gr * bi);
            }
        }
        re[0] = 0;
        im[0] = 0;
        return energy;
    }

    /** Spectrum k (0: real part, 1: imaginary part) of two real patches packed as a + i·b, columns kx ≤ W/2. */
    private void split(double[] zr, double[] zi, int k, double[] outRe, double[] outIm) {
        for (int ky = 0; ky < patchH; ky++) {
            int my = ky == 0 ? 0 : patchH - ky;
            for (int kx = 0; kx < halfW; kx++) {
                int mx = kx == 0 ? 0 : patchW - kx;
                int i = ky * patchW + kx;
                int m = my * patchW + mx;
                if (k == 0) {
                    outRe[i] = 0.5 * (zr[i] + zr[m]);
                    outIm[i] = 0.5 * (zi[i] - zi[m]);
                } else {
                    outRe[i] = 0.5 * (zi[i] + zi[m]);
                    outIm[i] = 0.5 * (zr[m] - zr[i]);
                }
            }
        }
    }

    /**
     * Patch i of {@code plane} at its origin + (offX, offY), under window wy ⊗ wx, mean-free, into
     * {@code out}.
     *
     * @return false if the windowed patch has no contrast (constant up to rounding): all zeros
     */
    private boolean cut(Image plane, int patch, int offX, int offY, double[] windowX, double[] windowY, double[] out) {
        float[] d = plane.data();
        int x0 = startX[patch % columns()] + offX;
        int y0 = startY[patch / columns()] + offY;
        double sumW = 0;
        double sumWI = 0;
        for (int y = 0; y < patchH; y++) {
            int row = (y0 + y) * width + x0;
            double s = 0;
            double sw = 0;
            for (int x = 0; x < patchW; x++) {
                s += windowX[x] * d[row + x];
                sw += windowX[x];
            }
            sumWI += windowY[y] * s;
            sumW += windowY[y] * sw;
        }
        double mean = sumW > 0 ? sumWI / sumW : 0;
        double energy = 0;
        double scale = 0;
        for (int y = 0; y < patchH; y++) {
            int row = (y0 + y) * width + x0;
            double wy = windowY[y];
            for (int x = 0; x < patchW; x++) {
                double w = wy * windowX[x];
                double v = d[row + x];
                double o = w * (v - mean);
                out[y * patchW + x] = o;
                energy += o * o;
                scale += w * w * v * v;
            }
        }
        if (energy > FEATURELESS * scale) {
            return true;
        }
        java.util.Arrays.fill(out, 0.0);
        return false;
    }

    private interface PairTask {
        void run(Scratch s, int a, int b);
    }

    /** Runs {@code task} over patches (0, 1), (2, 3), …, pairs split between the threads; b = −1 for an odd last one. */
    private void forPatchPairs(int count, PairTask task) {
        int pairs = (count + 1) / 2;
        java.util.function.IntConsumer body = p -> {
            Scratch s = scratch[p];
            for (int q = Workers.start(p, parts, pairs, 1); q < Workers.end(p, parts, pairs, 1); q++) {
                int a = 2 * q;
                task.run(s, a, a + 1 < count ? a + 1 : -1);
            }
        };
        if (workers == null) {
            body.accept(0);
        } else {
            workers.run(body);
        }
    }

    private void check(Image plane) {
        if (plane.channels() != 1 || plane.height() != height || plane.width() != width) {
            throw new IllegalArgumentException("patch registration expects a 1x" + height + "x" + width
                    + " plane, got " + plane);
        }
    }

    /** Origins of patches of side {@code patch} along an axis of {@code length}, evenly spread. */
    private static int[] starts(int length, int patch, int maxStride) {
        if (length <= patch) {
            return new int[] {0};
        }
        int n = (int) Math.ceil((double) (length - patch) / maxStride) + 1;
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = (int) Math.round((double) i * (length - patch) / (n - 1));
        }
        return s;
    }
}
