package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.fft.ComplexFft2d;

/**
 * Piecewise-rigid motion estimation (after NoRMCorre, Pnevmatikakis &amp; Giovannucci 2017): the
 * plane is covered by a grid of overlapping square patches, each patch's sub-pixel shift against
 * the same patch of the template is measured by band-limited cross-correlation with
 * upsampled-DFT refinement, and a smooth field (cubic B-splines on a grid of nodes at the patch
 * spacing) is fitted to all the patch shifts at once.
 *
 * <p><b>Per patch.</b> The frame patch is cut out at the template patch's position moved by the
 * rigid shift rounded to whole pixels (kept inside the plane), so what remains to find is the
 * sub-pixel rest plus the local deformation. A first pass finds the peak; a second windows the
 * frame patch with the template's window translated by that first residual, so the windows are
 * exact translates and do not pull the peak (for patches at the edge of a large drift, whose
 * translated window would leave the patch, the template window shrinks to the part in view).
 * A patch whose peak lies farther than {@code maxDeviation} from the rigid shift, or whose match
 * (normalised correlation at the peak: 1 for identical patches, ~0 for unrelated or empty ones)
 * is below {@code minMatch}, is not trusted: it takes the rigid shift and is left out of the fit.
 *
 * <p><b>The field.</b> A patch does not measure the field at its centre but a weighted average over
 * the patch ({@link #influence}); modelling that, the fit ({@link #fit}) places structure where it
 * is and does not flatten peaks of the field, and a mild bending penalty decides what the patches
 * leave open (between and beyond them).
 *
 * <p>Patches are spread evenly: along each axis n = ⌈(L − P)/stride⌉ + 1 of them, the first and
 * last flush with the plane's edges. Work is split between the {@link Workers} by patches, each
 * thread with its own transforms and scratch. Not thread-safe.
 */
final class PatchCorrelator {

    /** A template prepared for patch registration: each patch's windowed spectrum (Hermitian half). */
    static final class PatchTemplate {
        final float[][] spectrumRe;
        final float[][] spectrumIm;
        final double[] energy; // Σ g·|F|² over the whole spectrum, per patch
        // Per patch: its x (resp. y) shift as a linear function of the field's spline
        // coefficients (see influence()).
        final double[][] xInfluence;
        final double[][] yInfluence;
        Image plane; // the template plane itself, for patches whose windows must be re-cut

        private PatchTemplate(int patches) {
            spectrumRe = new float[patches][];
            spectrumIm = new float[patches][];
            energy = new double[patches];
            xInfluence = new double[patches][];
            yInfluence = new double[patches][];
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
    // The fitted field's B-spline nodes (px of this plane), their bending penalty, fit scratch.
    private final int nodesX;
    private final int nodesY;
    private final double nodeX0;
    private final double nodeY0;
    private final double nodeStepX;
    private final double nodeStepY;
    private final double[] bending;
    private final double[] normal;
    private final double[] rhs;
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
        final double[] overlapX = new double[patchW];
        final double[] overlapY = new double[patchH];
        final float[] templateRe = new float[patchH * (patchW / 2 + 1)];
        final float[] templateIm = new float[patchH * (patchW / 2 + 1)];
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
        // Nodes at the patch centres' spacing, two beyond the outermost centres on each side: then
        // every pixel of the plane lies among four real nodes on each axis.
        this.nodeStepX = startX.length > 1 ? (centreX(startX.length - 1) - centreX(0)) / (startX.length - 1) : patchW;
        this.nodeStepY = startY.length > 1 ? (centreY(startY.length - 1) - centreY(0)) / (startY.length - 1) : patchH;
        this.nodeX0 = centreX(0) - 2 * nodeStepX;
        this.nodeY0 = centreY(0) - 2 * nodeStepY;
        this.nodesX = startX.length + 4;
        this.nodesY = startY.length + 4;
        this.bending = bendingMatrix(nodesX, nodesY);
        this.normal = new double[bending.length];
        this.rhs = new double[nodesX * nodesY];
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

    /** B-spline nodes of the fitted field along x. */
    int nodesX() {
        return nodesX;
    }

    /** B-spline nodes along y. */
    int nodesY() {
        return nodesY;
    }

    /** x of the first node, px of the plane. */
    double nodeX0() {
        return nodeX0;
    }

    /** y of the first node, px of the plane. */
    double nodeY0() {
        return nodeY0;
    }

    /** Node spacing along x, px of the plane. */
    double nodeStepX() {
        return nodeStepX;
    }

    /** Node spacing along y, px of the plane. */
    double nodeStepY() {
        return nodeStepY;
    }

    /** Windowed spectra of every patch of {@code template} (1 × height × width). */
    PatchTemplate prepare(Image template) {
        check(template);
        int count = rows() * columns();
        PatchTemplate t = new PatchTemplate(count);
        t.plane = template.copy();
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
                influence(template, patch, t);
            }
        });
        return t;
    }

    /**
     * What a patch measures of the field. Under a deformation that varies across the patch, the
     * correlation peak moves by the displacement averaged over the patch with the weight each pixel
     * has in locating it: window² × squared intensity gradient along the axis (the Fisher
     * information of a shift). That weighted average sits wherever the patch's structure is, not at
     * its centre, and is pulled towards the surroundings at peaks of the field; written as a linear
     * function of the field's B-spline coefficients it is modelled exactly, and {@link #fit} then
     * finds the field that explains every patch at once.
     */
    private void influence(Image template, int patch, PatchTemplate t) {
        float[] d = template.data();
        int x0 = startX[patch % columns()];
        int y0 = startY[patch / columns()];
        int k = nodesX * nodesY;
        double[] ax = new double[k];
        double[] ay = new double[k];
        double[] bx = new double[4];
        double[] by = new double[4];
        double sumX = 0;
        double sumY = 0;
        for (int y = 1; y < patchH - 1; y++) {
            int py = y0 + y;
            int row = py * width + x0;
            double ty = (py - nodeY0) / nodeStepY;
            int cy = Math.max(1, Math.min(nodesY - 3, (int) Math.floor(ty)));
            bSpline(ty - cy, by);
            for (int x = 1; x < patchW - 1; x++) {
                double w = windowY[y] * windowX[x];
                w *= w;
                double gx = 0.5 * (d[row + x + 1] - d[row + x - 1]);
                double gy = 0.5 * (d[row + x + width] - d[row + x - width]);
                double wx = w * gx * gx;
                double wy = w * gy * gy;
                if (wx == 0 && wy == 0) {
                    continue;
                }
                int px = x0 + x;
                double tx = (px - nodeX0) / nodeStepX;
                int cx = Math.max(1, Math.min(nodesX - 3, (int) Math.floor(tx)));
                bSpline(tx - cx, bx);
                for (int j = 0; j < 4; j++) {
                    int node = (cy - 1 + j) * nodesX + cx - 1;
                    for (int i = 0; i < 4; i++) {
                        double b = by[j] * bx[i];
                        ax[node + i] += wx * b;
                        ay[node + i] += wy * b;
                    }
                }
                sumX += wx;
                sumY += wy;
            }
        }
        for (int i = 0; i < k; i++) {
            ax[i] = sumX > 0 ? ax[i] / sumX : 0;
            ay[i] = sumY > 0 ? ay[i] / sumY : 0;
        }
        t.xInfluence[patch] = ax;
        t.yInfluence[patch] = ay;
    }

    /** Uniform cubic B-spline weights of the nodes k − 1 … k + 2 at offset t in [0, 1) from node k. */
    private static void bSpline(double t, double[] out) {
        double s = 1 - t;
        double t2 = t * t;
        out[0] = s * s * s / 6;
        out[1] = (3 * t2 * t - 6 * t2 + 4) / 6;
        out[2] = (-3 * t2 * t + 3 * t2 + 3 * t + 1) / 6;
        out[3] = t2 * t / 6;
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
            double minMatch, double[] dx, double[] dy, double[] match, double[] fieldX, double[] fieldY) {
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
                // A first look: it only places the second pass's windows.
                double[] d = s.upsampled.locatePeak(s.xRe[k], s.xIm[k], bestX, bestY, true);
                residualX[patch] = d[0];
                residualY[patch] = d[1];
                double px = offsetX[patch] + d[0];
                double py = offsetY[patch] + d[1];
                if (m >= minMatch && Math.hypot(px - rigidDx, py - rigidDy) <= maxDeviation) {
                    match[patch] = Math.min(1, m);
                }
            }
        });
        // Second pass, trusted patches only: windows that are translates by the residual. A patch
        // whose residual is large (its frame window was held inside the plane, at the edge of a
        // large drift) would lose part of the translated window beyond its edge; its template patch
        // is then windowed over only the part that stays in view, and transformed here.
        int[] refine = new int[count];
        int[] overlap = new int[count];
        int refined = 0;
        int overlapping = 0;
        for (int i = 0; i < count; i++) {
            if (match[i] > 0) {
                if (Math.abs(residualX[i]) > WINDOW_SLACK || Math.abs(residualY[i]) > WINDOW_SLACK) {
                    overlap[overlapping++] = i;
                } else {
                    refine[refined++] = i;
                }
            }
        }
        forPatchPairs(refined, (s, qa, qb) -> {
            for (int k = 0; k < 2; k++) {
                int q = k == 0 ? qa : qb;
                double[] z = k == 0 ? s.zRe : s.zIm;
                if (q < 0) {
                    java.util.Arrays.fill(z, 0.0);
                    continue;
                }
                int patch = refine[q];
                PhaseCorrelator.tukey(taper, 0, patchW, residualX[patch], s.shiftedX);
                PhaseCorrelator.tukey(taper, 0, patchH, residualY[patch], s.shiftedY);
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
        int overlaps = overlapping;
        java.util.function.IntConsumer overlapBody = p -> {
            Scratch s = scratch[p];
            for (int q = Workers.start(p, parts, overlaps, 1); q < Workers.end(p, parts, overlaps, 1); q++) {
                int patch = overlap[q];
                double rx = residualX[patch];
                double ry = residualY[patch];
                // Template: the part whose content the frame patch shows (support [lo, hi) with
                // lo + r ≥ 0, hi + r ≤ P); frame: that window moved by r.
                int lx = Math.max(0, (int) Math.ceil(-rx));
                int hx = Math.min(patchW, (int) Math.floor(patchW - rx));
                int ly = Math.max(0, (int) Math.ceil(-ry));
                int hy = Math.min(patchH, (int) Math.floor(patchH - ry));
                if (hx - lx < 8 || hy - ly < 8) {
                    match[patch] = 0; // too little in view to refine
                    continue;
                }
                PhaseCorrelator.tukey(taper, lx, hx, 0, s.overlapX);
                PhaseCorrelator.tukey(taper, ly, hy, 0, s.overlapY);
                PhaseCorrelator.tukey(taper, lx, hx, rx, s.shiftedX);
                PhaseCorrelator.tukey(taper, ly, hy, ry, s.shiftedY);
                boolean contrast = cut(template.plane, patch, 0, 0, s.overlapX, s.overlapY, s.zRe);
                contrast &= cut(frame, patch, offsetX[patch], offsetY[patch], s.shiftedX, s.shiftedY, s.zIm);
                if (!contrast) {
                    match[patch] = 0;
                    continue;
                }
                s.fft.forward(s.zRe, s.zIm);
                split(s.zRe, s.zIm, 0, s.xRe[0], s.xIm[0]);
                split(s.zRe, s.zIm, 1, s.xRe[1], s.xIm[1]);
                for (int ky = 0; ky < patchH; ky++) {
                    for (int kx = 0; kx < halfW; kx++) {
                        s.templateRe[ky * halfW + kx] = (float) s.xRe[0][ky * patchW + kx];
                        s.templateIm[ky * halfW + kx] = (float) s.xIm[0][ky * patchW + kx];
                    }
                }
                weighCrossPower(s.xRe[1], s.xIm[1], s.templateRe, s.templateIm);
                double[] d = s.upsampled.locatePeak(s.xRe[1], s.xIm[1], (int) Math.round(rx), (int) Math.round(ry));
                residualX[patch] = d[0];
                residualY[patch] = d[1];
            }
        };
        if (workers == null) {
            overlapBody.accept(0);
        } else if (overlaps > 0) {
            workers.run(overlapBody);
        }
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
        fit(template.xInfluence, dx, match, rigidDx, fieldX);
        fit(template.yInfluence, dy, match, rigidDy, fieldY);
    }

    /**
     * Residual, px, beyond which a patch's second pass re-cuts its template window to the part in
     * view (the translated window would otherwise lose more than this much of its support).
     */
    private static final double WINDOW_SLACK = 1.5;

    /** Weight of the bending penalty against the patches' squared misfit (px²). */
    private static final double BENDING = 1e-3;
    /** Weight pulling every coefficient towards the rigid shift: only decides what no patch does. */
    private static final double ANCHOR = 1e-6;

    /**
     * The field's spline coefficients c that best explain the trusted patches' shifts s:
     * minimise Σ_i (s_i − a_i·c)² + {@value #BENDING}·|Bc|² + {@value #ANCHOR}·|c − rigid|², with a_i
     * patch i's {@link #influence} and B the second differences of c along x, along y and across
     * (a thin-plate bending energy). Solved by Cholesky on the normal equations (a few dozen
     * unknowns). Untrusted patches do not take part; with none trusted the field is the rigid
     * shift.
     */
    private void fit(double[][] influence, double[] shift, double[] match, double rigid, double[] out) {
        int k = nodesX * nodesY;
        double[] a = normal;
        double[] b = rhs;
        System.arraycopy(bending, 0, a, 0, k * k);
        for (int i = 0; i < k; i++) {
            a[i * k + i] += ANCHOR;
            b[i] = ANCHOR * rigid;
        }
        for (int p = 0; p < shift.length; p++) {
            double[] row = influence[p];
            if (match[p] == 0 || row == null) {
                continue;
            }
            for (int i = 0; i < k; i++) {
                double ri = row[i];
                if (ri == 0) {
                    continue;
                }
                b[i] += ri * shift[p];
                int off = i * k;
                for (int j = 0; j < k; j++) {
                    a[off + j] += ri * row[j];
                }
            }
        }
        Cholesky.solve(a, b, k, out);
    }

    /** The bending penalty's normal matrix BᵀB, {@value #BENDING}-weighted, for the node grid. */
    private static double[] bendingMatrix(int nx, int ny) {
        int k = nx * ny;
        double[] m = new double[k * k];
        // Second differences along x and along y, and the mixed difference (counted twice).
        for (int y = 0; y < ny; y++) {
            for (int x = 0; x < nx; x++) {
                if (x + 2 < nx) {
                    addDifference(m, k, new int[] {y * nx + x, y * nx + x + 1, y * nx + x + 2}, new double[] {1, -2, 1}, 1);
                }
                if (y + 2 < ny) {
                    addDifference(m, k, new int[] {y * nx + x, (y + 1) * nx + x, (y + 2) * nx + x},
                            new double[] {1, -2, 1}, 1);
                }
                if (x + 1 < nx && y + 1 < ny) {
                    addDifference(m, k, new int[] {y * nx + x, y * nx + x + 1, (y + 1) * nx + x, (y + 1) * nx + x + 1},
                            new double[] {1, -1, -1, 1}, 2);
                }
            }
        }
        for (int i = 0; i < m.length; i++) {
            m[i] *= BENDING;
        }
        return m;
    }

    /** m += weight·dᵀd for the difference d with coefficients c at nodes idx. */
    private static void addDifference(double[] m, int k, int[] idx, double[] c, double weight) {
        for (int i = 0; i < idx.length; i++) {
            for (int j = 0; j < idx.length; j++) {
                m[idx[i] * k + idx[j]] += weight * c[i] * c[j];
            }
        }
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
