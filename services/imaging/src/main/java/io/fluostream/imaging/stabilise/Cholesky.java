package io.fluostream.imaging.stabilise;

/** Solves small symmetric positive-definite systems (normal equations of a few dozen unknowns). */
final class Cholesky {

    private Cholesky() {
    }

    /**
     * Solves a·x = b for x (into {@code out}), a being n × n, row-major, symmetric positive
     * definite; a is overwritten by its Cholesky factor and b by scratch.
     *
     * @throws IllegalStateException if a is not positive definite
     */
    static void solve(double[] a, double[] b, int n, double[] out) {
        for (int j = 0; j < n; j++) {
            double d = a[j * n + j];
            for (int k = 0; k < j; k++) {
                d -= a[j * n + k] * a[j * n + k];
            }
            if (!(d > 0)) {
                throw new IllegalStateException("normal matrix is not positive definite at row " + j);
            }
            double l = Math.sqrt(d);
            a[j * n + j] = l;
            for (int i = j + 1; i < n; i++) {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) {
                    s -= a[i * n + k] * a[j * n + k];
                }
                a[i * n + j] = s / l;
            }
        }
        // L·y = b, then Lᵀ·x = y.
        for (int i = 0; i < n; i++) {
            double s = b[i];
            for (int k = 0; k < i; k++) {
                s -= a[i * n + k] * b[k];
            }
            b[i] = s / a[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--) {
            double s = b[i];
            for (int k = i + 1; k < n; k++) {
                s -= a[k * n + i] * out[k];
            }
            out[i] = s / a[i * n + i];
        }
    }
}
