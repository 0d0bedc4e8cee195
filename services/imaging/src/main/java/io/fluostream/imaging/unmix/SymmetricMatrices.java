package io.fluostream.imaging.unmix;

/**
 * Dense linear algebra on the small symmetric matrices unmixing needs (Gram matrices of a few
 * fluorophores): eigenvalues and the inverse of a positive-definite matrix.
 *
 * <p>Matrices are row-major {@code double[n*n]}. {@code n} is the number of fluorophores (a
 * handful), so clarity wins over blocking or pivoting tricks.
 */
public final class SymmetricMatrices {

    private SymmetricMatrices() {
    }

    /**
     * Eigenvalues of the symmetric matrix {@code a} (not modified), in ascending order, by cyclic
     * Jacobi rotations: slow for large n, but accurate to the last bits for the small n used here.
     */
    static double[] eigenvalues(double[] a, int n) {
        double[] m = a.clone();
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double diag = 0;
            for (int i = 0; i < n; i++) {
                diag += m[i * n + i] * m[i * n + i];
                for (int j = i + 1; j < n; j++) {
                    off += m[i * n + j] * m[i * n + j];
                }
            }
            if (off <= 1e-30 * diag || off == 0) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = m[p * n + q];
                    if (apq == 0) {
                        continue;
                    }
                    // Rotation angle that zeroes m[p][q] (Golub & Van Loan, symmetric Schur).
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.signum(theta == 0 ? 1 : theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double mkp = m[k * n + p];
                        double mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++) {
                        double mpk = m[p * n + k];
                        double mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                }
            }
        }
        double[] ev = new double[n];
        for (int i = 0; i < n; i++) {
            ev[i] = m[i * n + i];
        }
        java.util.Arrays.sort(ev);
        return ev;
    }

    /**
     * Inverse of the symmetric positive-definite matrix {@code a} (not modified) by Cholesky
     * factorisation; the result is symmetrised so that solutions built from it are too.
     *
     * @throws IllegalArgumentException if {@code a} is not positive definite
     */
    public static double[] inversePositiveDefinite(double[] a, int n) {
        double[] l = new double[n * n];
        for (int j = 0; j < n; j++) {
            double d = a[j * n + j];
            for (int k = 0; k < j; k++) {
                d -= l[j * n + k] * l[j * n + k];
            }
            if (!(d > 0)) {
                throw new IllegalArgumentException("matrix is not positive definite (pivot " + j + " is " + d + ")");
            }
            double ljj = Math.sqrt(d);
            l[j * n + j] = ljj;
            for (int i = j + 1; i < n; i++) {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) {
                    s -= l[i * n + k] * l[j * n + k];
                }
                l[i * n + j] = s / ljj;
            }
        }
        // Solve L Lᵀ X = I column by column.
        double[] inv = new double[n * n];
        double[] y = new double[n];
        for (int col = 0; col < n; col++) {
            for (int i = 0; i < n; i++) {
                double s = i == col ? 1 : 0;
                for (int k = 0; k < i; k++) {
                    s -= l[i * n + k] * y[k];
                }
                y[i] = s / l[i * n + i];
            }
            for (int i = n - 1; i >= 0; i--) {
                double s = y[i];
                for (int k = i + 1; k < n; k++) {
                    s -= l[k * n + i] * inv[k * n + col];
                }
                inv[i * n + col] = s / l[i * n + i];
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double s = 0.5 * (inv[i * n + j] + inv[j * n + i]);
                inv[i * n + j] = s;
                inv[j * n + i] = s;
            }
        }
        return inv;
    }
}
