package io.fluostream.imaging.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The fluorophore-labelled sample of one stream, and its rendering: cells (soft-edged ellipses,
 * brighter in the thicker middle) with nuclei, filaments (smooth curves with a Gaussian
 * cross-section) and puncta (small Gaussians), seen through the Gaussian PSF.
 *
 * <p>Labels, so that structures of different labels overlap in space: cell bodies carry fluorophore
 * 0, nuclei 1, filaments 2 (each modulo F); puncta carry fluorophores 3..F−1 when F ≥ 4, and any
 * fluorophore when F ≤ 3. Each structure has an abundance a ∈ [0.3, 1]: the value of its abundance
 * plane on the structure at rest (the cell body's centre, the filament's ridge line, the punctum's
 * peak), after the PSF. Densities scale with area: one cell per 60×60 px, a filament length of one
 * px per 70 px², one punctum per 20×20 px; the structures fill the field plus a margin that drift
 * and deformation can bring into view.
 *
 * <p>Rendering is analytic and evaluated at pixel centres (x = column, y = row), so a sub-pixel shift
 * of the scene is exact. Puncta and filaments are built from Gaussian blobs (a filament is a chain
 * of elongated blobs one px apart whose sum is a smooth ridge, ripple below 1e-6); each blob moves
 * with the deformation at its centre and is sheared by the local Jacobian (the deformation's affine
 * part; what is left is |D''|·size², below 0.02 px for blobs of a few px), and its PSF blur is exact
 * (Gaussian ⊗ Gaussian). Blobs keep their material density, so a filament's ridge keeps its
 * brightness when stretched. Since the PSF does not deform with the tissue, a blob's image is not
 * exactly carried by the flow: warping frame t−1 by the truth flow leaves a residual of about
 * σ_psf·|∇D|/|D| of the motion signal (a few per cent). Cells and nuclei are evaluated at the material point of each pixel (the
 * inverse of the deformation), so they deform exactly as D says; their PSF blur is folded into an
 * erf edge of width σ_e = √(σ_edge² + σ_psf²) across the outline: value = a·½erfc(δ/(√2σ_e)) with
 * δ = (ρ² − 1)/(2|∇(ρ²/2)|), ρ the ellipse's normalised radius. δ is the signed distance to the
 * outline to first order (exact on it, and smooth everywhere, tending to −∞ at the centre).
 */
final class Scene {

    /** Gaussian blobs are cut off at 4.5 σ (Mahalanobis), where they are below 4e-5 of their peak. */
    private static final double BLOB_CUTOFF_SIGMAS = 4.5;
    /** Cell edges are cut off 6 edge widths out, where the erf edge is below 1e-9 of the plateau. */
    private static final double EDGE_CUTOFF_SIGMAS = 6;
    /** The pixel box reaches 8 edge widths out: beyond the cutoff even where δ underestimates the distance. */
    private static final double BOX_EDGE_SIGMAS = 8;
    private static final double FILAMENT_STEP_PX = 1.0;
    /** One px of filament length per this many px² of area. */
    private static final double FILAMENT_AREA_PER_PX = 70;
    private static final double FILAMENT_LONGITUDINAL_SIGMA_PX = 1.0;
    /** The cell body is brighter in the middle (thicker): 1 at the centre, 0.8 on the outline. */
    private static final double THICKNESS_DIP = 0.4;

    /** A soft-edged ellipse in material coordinates; {@code q} is its inverse shape matrix. */
    record Ellipse(double cx, double cy, double qxx, double qxy, double qyy, double edgeSigma,
                   double reach, double abundance, int fluorophore, boolean thick) {
    }

    /**
     * A Gaussian blob in material coordinates: covariance {@code s} before the PSF and peak
     * {@code density} before the PSF (chosen so that its peak after the PSF is its abundance).
     */
    record Blob(double cx, double cy, double sxx, double sxy, double syy, double density, int fluorophore) {
    }

    private final int width;
    private final int height;
    private final int fluorophores;
    private final double psfVariance;
    private final Ellipse[] ellipses;
    private final Blob[] blobs;
    /** Per blob: D at its centre and ∇D there (Dx, Dy, Jxx, Jxy, Jyx, Jyy); null when still. */
    private final double[] blobMotion;
    private final DeformationField field;

    private Scene(int width, int height, int fluorophores, double psfVariance, Ellipse[] ellipses,
                  Blob[] blobs, DeformationField field, double[] blobMotion) {
        this.width = width;
        this.height = height;
        this.fluorophores = fluorophores;
        this.psfVariance = psfVariance;
        this.ellipses = ellipses;
        this.blobs = blobs;
        this.field = field;
        this.blobMotion = blobMotion;
    }

    /** A random scene over the field plus {@code marginPx} on every side. */
    static Scene generate(SimulationSettings settings, double marginPx, SplittableRandom rng) {
        int w = settings.width();
        int h = settings.height();
        int f = settings.fluorophores();
        double psf = settings.psfSigmaPx();
        double x0 = -marginPx;
        double x1 = w + marginPx;
        double y0 = -marginPx;
        double y1 = h + marginPx;
        double area = (x1 - x0) * (y1 - y0);

        List<Ellipse> ellipses = new ArrayList<>();
        int cells = (int) Math.round(area / (60.0 * 60.0));
        for (int i = 0; i < cells; i++) {
            double cx = rng.nextDouble(x0, x1);
            double cy = rng.nextDouble(y0, y1);
            double a = rng.nextDouble(12, 22);
            double b = a * rng.nextDouble(0.6, 0.95);
            double theta = rng.nextDouble(0, Math.PI);
            double edge = Math.hypot(rng.nextDouble(0.5, 1.5), psf);
            ellipses.add(ellipse(cx, cy, a, b, theta, edge, rng.nextDouble(0.3, 1.0), 0, true));

            double scale = rng.nextDouble(0.45, 0.6);
            double offsetAngle = rng.nextDouble(0, 2 * Math.PI);
            double offset = rng.nextDouble(0, 0.3) * b;
            ellipses.add(ellipse(cx + offset * Math.cos(offsetAngle), cy + offset * Math.sin(offsetAngle),
                    a * scale, b * scale * rng.nextDouble(0.9, 1.1), theta + rng.nextDouble(-0.3, 0.3),
                    Math.hypot(rng.nextDouble(0.5, 1.0), psf), rng.nextDouble(0.3, 1.0), 1 % f, false));
        }

        List<Blob> blobs = new ArrayList<>();
        double filamentBudget = area / FILAMENT_AREA_PER_PX;
        while (filamentBudget > 0) {
            int steps = (int) Math.round(rng.nextDouble(40, 160) / FILAMENT_STEP_PX);
            filamentBudget -= steps * FILAMENT_STEP_PX;
            double x = rng.nextDouble(x0, x1);
            double y = rng.nextDouble(y0, y1);
            double heading = rng.nextDouble(0, 2 * Math.PI);
            // The heading turns by a slowly wandering curvature: radii of curvature of ~50 px and more.
            double meanCurvature = rng.nextDouble(-0.01, 0.01);
            double curvature = 0;
            double[] turns = new double[steps];
            for (int i = 0; i < steps; i++) {
                curvature = 0.95 * curvature + 0.004 * rng.nextGaussian();
                turns[i] = (meanCurvature + curvature) * FILAMENT_STEP_PX;
            }
            addFilament(blobs, x, y, heading, turns, rng.nextDouble(0.3, 0.5), rng.nextDouble(0.3, 1.0), psf, 2 % f);
        }

        int puncta = (int) Math.round(area / (20.0 * 20.0));
        for (int i = 0; i < puncta; i++) {
            double sigma = rng.nextDouble(0.3, 0.8);
            double abundance = rng.nextDouble(0.3, 1.0);
            int label = f <= 3 ? rng.nextInt(f) : 3 + rng.nextInt(f - 3);
            blobs.add(punctum(rng.nextDouble(x0, x1), rng.nextDouble(y0, y1), sigma, abundance, psf, label));
        }

        return of(w, h, f, psf, ellipses, blobs);
    }

    /** A scene of the given structures, at rest (no deformation attached). */
    static Scene of(int width, int height, int fluorophores, double psfSigmaPx, List<Ellipse> ellipses,
                    List<Blob> blobs) {
        for (Ellipse e : ellipses) {
            requireLabel(e.fluorophore(), fluorophores);
        }
        for (Blob b : blobs) {
            requireLabel(b.fluorophore(), fluorophores);
        }
        return new Scene(width, height, fluorophores, psfSigmaPx * psfSigmaPx, ellipses.toArray(new Ellipse[0]),
                blobs.toArray(new Blob[0]), null, null);
    }

    private static void requireLabel(int fluorophore, int fluorophores) {
        if (fluorophore < 0 || fluorophore >= fluorophores) {
            throw new IllegalArgumentException("label " + fluorophore + " outside 0.." + (fluorophores - 1));
        }
    }

    /**
     * A soft-edged ellipse with semi-axes a (along angle theta) and b, px, and edge width
     * {@code edgeSigma} (σ of the erf edge, PSF included).
     */
    static Ellipse ellipse(double cx, double cy, double a, double b, double theta, double edgeSigma,
                           double abundance, int fluorophore, boolean thick) {
        double c = Math.cos(theta);
        double s = Math.sin(theta);
        // Q⁻¹ = R diag(1/a², 1/b²) Rᵀ
        double ia = 1 / (a * a);
        double ib = 1 / (b * b);
        double qxx = c * c * ia + s * s * ib;
        double qxy = c * s * (ia - ib);
        double qyy = s * s * ia + c * c * ib;
        double reach = Math.max(a, b) + BOX_EDGE_SIGMAS * edgeSigma + 1;
        return new Ellipse(cx, cy, qxx, qxy, qyy, edgeSigma, reach, abundance, fluorophore, thick);
    }

    /** An isotropic punctum of size σ (before the PSF) whose peak after the PSF is {@code abundance}. */
    static Blob punctum(double cx, double cy, double sigma, double abundance, double psf, int fluorophore) {
        double variance = sigma * sigma;
        // Peak after the PSF = density · σ²/(σ² + σ_psf²).
        double density = abundance * (variance + psf * psf) / variance;
        return new Blob(cx, cy, variance, 0, variance, density, fluorophore);
    }

    /**
     * A filament from (x, y) along {@code heading}, one blob per px of length, turning by
     * {@code turns[i]} radians after step i; its ridge after the PSF peaks at {@code abundance}.
     */
    static void addFilament(List<Blob> blobs, double x, double y, double heading, double[] turns,
                            double crossSigma, double abundance, double psf, int label) {
        double sl = FILAMENT_LONGITUDINAL_SIGMA_PX;
        double ll = sl * sl;
        double cc = crossSigma * crossSigma;
        // A straight chain sums to a ridge of peak density·√(2π)·σ_l·σ_c/(Δ·σ_c,psf) after the PSF.
        double crossBlurred = Math.sqrt(cc + psf * psf);
        double density = abundance * FILAMENT_STEP_PX * crossBlurred / (Math.sqrt(2 * Math.PI) * sl * crossSigma);
        for (int i = 0; i <= turns.length; i++) {
            double tx = Math.cos(heading);
            double ty = Math.sin(heading);
            // Σ = σ_l² t tᵀ + σ_c² n nᵀ with n ⊥ t.
            blobs.add(new Blob(x, y, ll * tx * tx + cc * ty * ty, (ll - cc) * tx * ty, ll * ty * ty + cc * tx * tx,
                    density, label));
            if (i < turns.length) {
                x += FILAMENT_STEP_PX * tx;
                y += FILAMENT_STEP_PX * ty;
                heading += turns[i];
            }
        }
    }

    /** This scene moving with {@code field}: precomputes each blob's displacement and Jacobian. */
    Scene moving(DeformationField field) {
        if (field.isStill()) {
            return new Scene(width, height, fluorophores, psfVariance, ellipses, blobs, field, null);
        }
        double[] motion = new double[6 * blobs.length];
        double[] d = new double[2];
        double[] j = new double[4];
        for (int i = 0; i < blobs.length; i++) {
            field.displacement(blobs[i].cx(), blobs[i].cy(), d);
            field.jacobian(blobs[i].cx(), blobs[i].cy(), j);
            motion[6 * i] = d[0];
            motion[6 * i + 1] = d[1];
            System.arraycopy(j, 0, motion, 6 * i + 2, 4);
        }
        return new Scene(width, height, fluorophores, psfVariance, ellipses, blobs, field, motion);
    }

    List<Ellipse> ellipses() {
        return List.of(ellipses);
    }

    List<Blob> blobs() {
        return List.of(blobs);
    }

    int ellipseCount() {
        return ellipses.length;
    }

    int blobCount() {
        return blobs.length;
    }

    /**
     * Adds the abundance planes (F × height × width, unitless abundances) of the scene deformed by
     * profile {@code s} and shifted by the drift, into {@code out}.
     *
     * @param materialX material x of every pixel (see {@link DeformationField#materialPoints}), or
     *                  null when {@code s} = 0 (then it is x − driftX)
     * @param materialY likewise for y
     */
    void render(double s, double driftX, double driftY, double[] materialX, double[] materialY, float[] out) {
        if (out.length != fluorophores * width * height) {
            throw new IllegalArgumentException("abundance buffer holds " + out.length + " samples, expected "
                    + fluorophores + "x" + height + "x" + width);
        }
        boolean deformed = s != 0 && blobMotion != null;
        if (deformed && (materialX == null || materialY == null)) {
            throw new IllegalArgumentException("a deformed frame needs the material point of every pixel");
        }
        for (Ellipse e : ellipses) {
            renderEllipse(e, s, driftX, driftY, deformed ? materialX : null, deformed ? materialY : null, out);
        }
        for (int i = 0; i < blobs.length; i++) {
            renderBlob(i, deformed ? s : 0, driftX, driftY, out);
        }
    }

    private void renderEllipse(Ellipse e, double s, double driftX, double driftY, double[] materialX,
                               double[] materialY, float[] out) {
        // Pixel box: the support circle mapped forward (exact for a shift; sampled on 32 points and
        // padded by a pixel when deformed, which bounds the image of a convex region this small).
        double bx0;
        double bx1;
        double by0;
        double by1;
        if (materialX == null) {
            bx0 = e.cx() + driftX - e.reach();
            bx1 = e.cx() + driftX + e.reach();
            by0 = e.cy() + driftY - e.reach();
            by1 = e.cy() + driftY + e.reach();
        } else {
            bx0 = by0 = Double.POSITIVE_INFINITY;
            bx1 = by1 = Double.NEGATIVE_INFINITY;
            double[] d = new double[2];
            for (int k = 0; k < 32; k++) {
                double angle = 2 * Math.PI * k / 32;
                double px = e.cx() + e.reach() * Math.cos(angle);
                double py = e.cy() + e.reach() * Math.sin(angle);
                field.displacement(px, py, d);
                double qx = px + s * d[0] + driftX;
                double qy = py + s * d[1] + driftY;
                bx0 = Math.min(bx0, qx - 1);
                bx1 = Math.max(bx1, qx + 1);
                by0 = Math.min(by0, qy - 1);
                by1 = Math.max(by1, qy + 1);
            }
        }
        int x0 = Math.max(0, (int) Math.ceil(bx0));
        int x1 = Math.min(width - 1, (int) Math.floor(bx1));
        int y0 = Math.max(0, (int) Math.ceil(by0));
        int y1 = Math.min(height - 1, (int) Math.floor(by1));
        if (x0 > x1 || y0 > y1) {
            return;
        }
        double reachSq = e.reach() * e.reach();
        double cutoff = EDGE_CUTOFF_SIGMAS * e.edgeSigma();
        double invEdge = 1 / (Math.sqrt(2) * e.edgeSigma());
        int plane = e.fluorophore() * width * height;
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                int i = y * width + x;
                double rx = (materialX == null ? x - driftX : materialX[i]) - e.cx();
                double ry = (materialY == null ? y - driftY : materialY[i]) - e.cy();
                if (rx * rx + ry * ry > reachSq) {
                    continue;
                }
                double gx = e.qxx() * rx + e.qxy() * ry;
                double gy = e.qxy() * rx + e.qyy() * ry;
                double rho2 = rx * gx + ry * gy;
                double gradient = Math.sqrt(gx * gx + gy * gy);
                // δ = f/|∇f| with f = (ρ² − 1)/2: the signed distance to the outline to first order
                // (negative inside), smooth everywhere and tending to −∞ at the centre.
                double distance = gradient > 0 ? 0.5 * (rho2 - 1) / gradient : Double.NEGATIVE_INFINITY;
                if (distance > cutoff) {
                    continue;
                }
                double edge = distance < -cutoff ? 1 : 0.5 * erfc(distance * invEdge);
                double value = e.abundance() * edge;
                if (e.thick()) {
                    value *= 1 - THICKNESS_DIP * rho2 / (1 + rho2);
                }
                out[plane + i] += (float) value;
            }
        }
    }

    private void renderBlob(int index, double s, double driftX, double driftY, float[] out) {
        Blob b = blobs[index];
        double cx = b.cx();
        double cy = b.cy();
        double sxx = b.sxx();
        double sxy = b.sxy();
        double syy = b.syy();
        if (s != 0) {
            int m = 6 * index;
            cx += s * blobMotion[m];
            cy += s * blobMotion[m + 1];
            // Σ' = A Σ Aᵀ with A = I + s ∇D.
            double axx = 1 + s * blobMotion[m + 2];
            double axy = s * blobMotion[m + 3];
            double ayx = s * blobMotion[m + 4];
            double ayy = 1 + s * blobMotion[m + 5];
            double txx = axx * sxx + axy * sxy;
            double txy = axx * sxy + axy * syy;
            double tyx = ayx * sxx + ayy * sxy;
            double tyy = ayx * sxy + ayy * syy;
            sxx = txx * axx + txy * axy;
            sxy = txx * ayx + txy * ayy;
            syy = tyx * ayx + tyy * ayy;
        }
        cx += driftX;
        cy += driftY;
        double bxx = sxx + psfVariance;
        double byy = syy + psfVariance;
        double halfX = BLOB_CUTOFF_SIGMAS * Math.sqrt(bxx);
        double halfY = BLOB_CUTOFF_SIGMAS * Math.sqrt(byy);
        int x0 = Math.max(0, (int) Math.ceil(cx - halfX));
        int x1 = Math.min(width - 1, (int) Math.floor(cx + halfX));
        int y0 = Math.max(0, (int) Math.ceil(cy - halfY));
        int y1 = Math.min(height - 1, (int) Math.floor(cy + halfY));
        if (x0 > x1 || y0 > y1) {
            return;
        }
        double detS = sxx * syy - sxy * sxy;
        double detB = bxx * byy - sxy * sxy;
        // Gaussian ⊗ Gaussian: covariances add, the integral is kept.
        double peak = b.density() * Math.sqrt(detS / detB);
        double p = byy / detB;
        double r = -sxy / detB;
        double q = bxx / detB;
        int plane = b.fluorophore() * width * height;
        // exp of a quadratic along a row by recurrence: two exps per row instead of one per pixel.
        double stepFactor = Math.exp(-p);
        for (int y = y0; y <= y1; y++) {
            double dy = y - cy;
            double dx = x0 - cx;
            double value = peak * Math.exp(-0.5 * (p * dx * dx + 2 * r * dx * dy + q * dy * dy));
            double ratio = Math.exp(-0.5 * (p * (2 * dx + 1) + 2 * r * dy));
            int row = plane + y * width;
            for (int x = x0; x <= x1; x++) {
                out[row + x] += (float) value;
                value *= ratio;
                ratio *= stepFactor;
            }
        }
    }

    /** Complementary error function, Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
    static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.3275911 * z);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                + t * 1.061405429))));
        double tail = poly * Math.exp(-z * z);
        return x >= 0 ? tail : 2 - tail;
    }
}
