package io.fluostream.imaging.unmix;

import java.util.Arrays;

/**
 * Non-negative Poisson maximum likelihood for one pixel: minimise the negative log-likelihood
 * {@code L(u) = Σ_c μ_c − y_c log μ_c} over {@code u ≥ 0}, with expected counts
 * {@code μ = M u + s}. {@code y} are photon counts per channel, {@code u} fluorophore abundances in
 * photons, {@code s ≥ 0} a known background per channel (the read-noise shift of the
 * Poisson–Gaussian model, see {@link PoissonUnmixer}).
 *
 * <p>Method: projected Newton with an active set (Bertsekas, 1982). Coefficients at zero whose
 * gradient pushes them further down are held; on the others a Newton step with the Hessian
 * {@code H = Mᵀ diag(y/μ²) M}, projected onto {@code u ≥ 0} and shortened (Armijo) until the
 * likelihood improves. {@code L} is convex, so this converges to the global minimum, quadratically
 * near it; it stops when the KKT conditions hold to {@link #GRADIENT_TOLERANCE} (the gradient
 * {@code g = Mᵀ(1 − y/μ)} is dimensionless: the likelihood gained per photon of abundance).
 *
 * <p>Not thread-safe (owns scratch arrays); one per thread.
 */
final class PoissonLikelihood {

    /** KKT slack on the gradient: |g_i| where u_i > 0, −g_i where u_i = 0. */
    static final double GRADIENT_TOLERANCE = 1e-9;
    static final int MAX_ITERATIONS = 100;
    private static final double ARMIJO = 1e-4;

    private final int nc;
    private final int nf;
    /** Spectra, row-major {@code [c * nf + f]}. */
    private final double[] m;
    private final double[] mu;
    private final double[] gradient;
    private final double[] hessian;
    private final double[] direction;
    private final double[] trial;
    private final boolean[] free;
    private final int[] freeIndex;
    /**
     * Channels that some fluorophore reaches. The others do not depend on {@code u}: their term is
     * a constant (or, with no background and photons counted, an observation the model cannot
     * explain at all), so they are left out of {@code L}.
     */
    private final boolean[] informative;

    PoissonLikelihood(ReferenceSpectra spectra) {
        this.nc = spectra.channels();
        this.nf = spectra.fluorophores();
        this.m = spectra.values();
        this.mu = new double[nc];
        this.gradient = new double[nf];
        this.hessian = new double[nf * nf];
        this.direction = new double[nf];
        this.trial = new double[nf];
        this.free = new boolean[nf];
        this.freeIndex = new int[nf];
        this.informative = new boolean[nc];
        for (int c = 0; c < nc; c++) {
            for (int f = 0; f < nf; f++) {
                informative[c] |= m[c * nf + f] > 0;
            }
        }
    }

    /**
     * {@code L(u)}, or {@code +∞} where some {@code μ_c ≤ 0} has {@code y_c > 0} (zero likelihood).
     * Terms with {@code y_c = 0} contribute {@code μ_c}.
     */
    double objective(double[] y, double shift, double[] u) {
        double sum = 0;
        for (int c = 0; c < nc; c++) {
            if (!informative[c]) {
                continue;
            }
            double muC = shift;
            for (int f = 0; f < nf; f++) {
                muC += m[c * nf + f] * u[f];
            }
            if (y[c] > 0) {
                if (!(muC > 0)) {
                    return Double.POSITIVE_INFINITY;
                }
                sum += muC - y[c] * Math.log(muC);
            } else {
                sum += muC;
            }
        }
        return sum;
    }

    /**
     * Minimises {@code L} from the start {@code u} (non-negative; overwritten with the answer).
     * {@code y} must be finite and non-negative.
     *
     * @return the number of Newton iterations taken
     */
    int solve(double[] y, double shift, double[] u) {
        feasibleStart(y, shift, u);
        double value = objective(y, shift, u);
        for (int iteration = 1; iteration <= MAX_ITERATIONS; iteration++) {
            expectedCounts(shift, u);
            computeGradient(y);
            // Free: coefficients above zero, and those at zero that the gradient lifts. The others
            // are optimal where they are (KKT), and held.
            int k = 0;
            double worst = 0;
            for (int f = 0; f < nf; f++) {
                double g = gradient[f];
                boolean atBound = u[f] <= 0;
                free[f] = !atBound || g < 0;
                worst = Math.max(worst, atBound ? -g : Math.abs(g));
                if (free[f]) {
                    freeIndex[k++] = f;
                }
            }
            if (worst <= GRADIENT_TOLERANCE) {
                return iteration - 1;
            }
            if (!newtonDirection(y, k)) {
                gradientDirection(y, k);
            }
            // Projected line search with Armijo's rule on the projected step.
            double step = 1;
            boolean improved = false;
            for (int halvings = 0; halvings < 60; halvings++) {
                double decrease = 0;
                for (int f = 0; f < nf; f++) {
                    trial[f] = Math.max(0, u[f] + step * direction[f]);
                    decrease += gradient[f] * (trial[f] - u[f]);
                }
                double next = objective(y, shift, trial);
                if (next <= value + ARMIJO * decrease) {
                    improved = next < value;
                    System.arraycopy(trial, 0, u, 0, nf);
                    value = next;
                    break;
                }
                step *= 0.5;
            }
            if (!improved) {
                return iteration; // no representable improvement left: converged to rounding
            }
        }
        return MAX_ITERATIONS;
    }

    /** μ = M u + s. */
    private void expectedCounts(double shift, double[] u) {
        for (int c = 0; c < nc; c++) {
            double s = shift;
            for (int f = 0; f < nf; f++) {
                s += m[c * nf + f] * u[f];
            }
            mu[c] = s;
        }
    }

    /** g = Mᵀ(1 − y/μ). */
    private void computeGradient(double[] y) {
        Arrays.fill(gradient, 0);
        for (int c = 0; c < nc; c++) {
            if (!informative[c]) {
                continue;
            }
            double w = y[c] > 0 ? 1 - y[c] / mu[c] : 1;
            for (int f = 0; f < nf; f++) {
                gradient[f] += m[c * nf + f] * w;
            }
        }
    }

    /**
     * Newton direction on the {@code k} free coefficients, zero on the others: solves
     * {@code H_FF d = −g_F} by Cholesky. False where {@code H_FF} is not positive definite (no
     * photons in the channels those fluorophores reach).
     */
    private boolean newtonDirection(double[] y, int k) {
        Arrays.fill(direction, 0);
        if (k == 0) {
            return true;
        }
        for (int i = 0; i < k; i++) {
            for (int j = 0; j <= i; j++) {
                int fi = freeIndex[i];
                int fj = freeIndex[j];
                double h = 0;
                for (int c = 0; c < nc; c++) {
                    if (y[c] > 0 && informative[c]) {
                        h += m[c * nf + fi] * m[c * nf + fj] * y[c] / (mu[c] * mu[c]);
                    }
                }
                hessian[i * k + j] = h;
            }
        }
        // In-place Cholesky of the lower triangle.
        for (int j = 0; j < k; j++) {
            double d = hessian[j * k + j];
            for (int p = 0; p < j; p++) {
                d -= hessian[j * k + p] * hessian[j * k + p];
            }
            if (!(d > 1e-300)) {
                return false;
            }
            double l = Math.sqrt(d);
            hessian[j * k + j] = l;
            for (int i = j + 1; i < k; i++) {
                double s = hessian[i * k + j];
                for (int p = 0; p < j; p++) {
                    s -= hessian[i * k + p] * hessian[j * k + p];
                }
                hessian[i * k + j] = s / l;
            }
        }
        // Forward and back substitution for d = −H⁻¹ g.
        for (int i = 0; i < k; i++) {
            double s = -gradient[freeIndex[i]];
            for (int p = 0; p < i; p++) {
                s -= hessian[i * k + p] * trial[p];
            }
            trial[i] = s / hessian[i * k + i];
        }
        for (int i = k - 1; i >= 0; i--) {
            double s = trial[i];
            for (int p = i + 1; p < k; p++) {
                s -= hessian[p * k + i] * trial[p];
            }
            trial[i] = s / hessian[i * k + i];
        }
        for (int i = 0; i < k; i++) {
            direction[freeIndex[i]] = trial[i];
        }
        return true;
    }

    /**
     * Steepest descent on the free coefficients, scaled so that a unit step removes the linear
     * part of the expected counts' worth of signal: used only where the Hessian is singular.
     */
    private void gradientDirection(double[] y, int k) {
        double total = 0;
        for (int c = 0; c < nc; c++) {
            total += Math.max(mu[c], y[c]);
        }
        double scale = Math.max(total, 1);
        Arrays.fill(direction, 0);
        for (int i = 0; i < k; i++) {
            direction[freeIndex[i]] = -gradient[freeIndex[i]] * scale;
        }
    }

    /**
     * Lifts a start whose likelihood is zero ({@code μ_c = 0} where photons were counted) to a
     * small positive one, so that the search starts from a finite objective.
     */
    private void feasibleStart(double[] y, double shift, double[] u) {
        for (int f = 0; f < nf; f++) {
            if (!(u[f] >= 0)) {
                u[f] = 0;
            }
        }
        if (objective(y, shift, u) < Double.POSITIVE_INFINITY) {
            return;
        }
        double photons = 0;
        for (int c = 0; c < nc; c++) {
            photons += y[c];
        }
        double lift = 1e-3 * photons / nf + 1e-12;
        for (int f = 0; f < nf; f++) {
            u[f] = Math.max(u[f], lift);
        }
    }
}
