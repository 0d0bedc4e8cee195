package io.fluostream.learning.device;

/**
 * The interpolating cubic B-spline prefilter along one axis (samples → spline coefficients, Unser
 * 1999) as an explicit matrix, so the device applies it as a matrix product. The pure-Java
 * {@link io.fluostream.imaging.stabilise.ShiftResampler} runs the same filter as a recursion —
 * gain 6, pole z = √3 − 2, causal then anti-causal pass, whole-sample mirrored boundaries — and the
 * matrix is that recursion applied to each unit vector, so the two agree to rounding.
 */
final class BSplinePrefilter {

    private static final double POLE = Math.sqrt(3) - 2;
    private static final double GAIN = (1 - POLE) * (1 - 1 / POLE);
    /** Terms of the causal initial sum: |POLE|^k < 1e-15 beyond this. */
    private static final int HORIZON = (int) Math.ceil(Math.log(1e-15) / Math.log(-POLE));

    private BSplinePrefilter() {
    }

    /** {@code P} (n × n, row-major) with coefficients = P · samples. */
    static double[] matrix(int n) {
        double[] p = new double[n * n];
        double[] column = new double[n];
        for (int j = 0; j < n; j++) {
            java.util.Arrays.fill(column, 0);
            column[j] = n > 1 ? GAIN : 1;
            filter(column);
            for (int i = 0; i < n; i++) {
                p[i * n + j] = column[i];
            }
        }
        return p;
    }

    /** The recursion of the pure-Java resampler, in place (gain already applied). */
    private static void filter(double[] c) {
        int len = c.length;
        if (len == 1) {
            return; // a single sample mirrored is constant: the filter is the identity
        }
        final double z = POLE;
        c[0] = causalStart(c);
        for (int i = 1; i < len; i++) {
            c[i] += z * c[i - 1];
        }
        c[len - 1] = z / (z * z - 1) * (c[len - 1] + z * c[len - 2]);
        for (int i = len - 2; i >= 0; i--) {
            c[i] = z * (c[i + 1] - c[i]);
        }
    }

    /** Σ_k z^k·s[k] over the mirror-extended signal: truncated where z^k is negligible, else exact. */
    private static double causalStart(double[] c) {
        final double z = POLE;
        int len = c.length;
        if (len > HORIZON) {
            double sum = c[0];
            double zk = z;
            for (int k = 1; k < HORIZON; k++) {
                sum += zk * c[k];
                zk *= z;
            }
            return sum;
        }
        double zk = z;
        double z2n = Math.pow(z, len - 1);
        double iz = 1 / z;
        double sum = c[0] + z2n * c[len - 1];
        z2n *= z2n * iz;
        for (int k = 1; k < len - 1; k++) {
            sum += (zk + z2n) * c[k];
            zk *= z;
            z2n *= iz;
        }
        return sum / (1 - zk * zk);
    }
}
