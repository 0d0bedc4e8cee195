package io.fluostream.imaging.stabilise;

/**
 * The interpolating cubic B-spline of a sampled plane (Unser 1999), shared by the resamplers:
 * the prefilter that turns samples into spline coefficients, and the basis weights that evaluate
 * the spline between samples. Boundaries are mirrored about the edge samples.
 *
 * <p>Planes are held as arrays of rows ({@code float[y][x]}): the recursion down the columns is
 * then a multiply-add between whole rows, which the JIT vectorises (it does not vectorise
 * loops that index one flat array at two different offsets). The recursion along a row runs
 * sample by sample. Column ranges let two threads share the column step.
 */
final class CubicBSpline {

    /** Pole of the cubic B-spline prefilter, √3 − 2. */
    static final double POLE = Math.sqrt(3) - 2;
    /** DC gain of the prefilter per axis, (1 − z)(1 − 1/z) = 6. */
    static final double GAIN = (1 - POLE) * (1 - 1 / POLE);
    /** Terms of the causal initial sum: |POLE|^k < 1e-9 beyond this (float coefficients). */
    private static final int HORIZON = (int) Math.ceil(Math.log(1e-9) / Math.log(-POLE));

    private CubicBSpline() {
    }

    /**
     * Cubic B-spline values at distances t + 1, t, 1 − t, 2 − t (t in [0, 1)): the weights of the
     * coefficients at floor − 1 … floor + 2 into {@code out[at … at + 3]}.
     */
    static void weights(double t, double[] out, int at) {
        double s = 1 - t;
        double t2 = t * t;
        double s2 = s * s;
        out[at] = s2 * s / 6;
        out[at + 1] = 2.0 / 3 - t2 + t2 * t / 2;
        out[at + 2] = 2.0 / 3 - s2 + s2 * s / 2;
        out[at + 3] = t2 * t / 6;
    }

    /**
     * The recursion 1/((1 − z·q⁻¹)(1 − z·q)), z = √3 − 2, along {@code row[0, len)} in place
     * (gain 6 not applied).
     */
    static void filterRow(float[] row, int len) {
        if (len == 1) {
            return; // a single sample mirrored is constant: the filter is the identity
        }
        final float z = (float) POLE;
        row[0] = (float) causalStart(row, len);
        for (int i = 1; i < len; i++) {
            row[i] += z * row[i - 1];
        }
        row[len - 1] = (float) (POLE / (POLE * POLE - 1) * (row[len - 1] + POLE * row[len - 2]));
        for (int i = len - 2; i >= 0; i--) {
            row[i] = z * (row[i + 1] - row[i]);
        }
    }

    /**
     * The same recursion down every column x in [x0, x1) of {@code rows[0, h)}, in place, a row
     * at a time; {@code scratch} holds at least x1 floats.
     */
    static void filterColumns(float[][] rows, int h, int x0, int x1, float[] scratch) {
        if (h == 1) {
            return;
        }
        final float z = (float) POLE;
        causalStart(rows, h, x0, x1, scratch);
        for (int y = 1; y < h; y++) {
            float[] cur = rows[y];
            float[] prev = rows[y - 1];
            if (ShiftResampler.VECTOR) {
                VectorRows.causal(cur, prev, z, x0, x1);
                continue;
            }
            for (int x = x0; x < x1; x++) {
                cur[x] += z * prev[x];
            }
        }
        float a = (float) (POLE / (POLE * POLE - 1));
        float[] last = rows[h - 1];
        float[] beforeLast = rows[h - 2];
        for (int x = x0; x < x1; x++) {
            last[x] = a * (last[x] + z * beforeLast[x]);
        }
        for (int y = h - 2; y >= 0; y--) {
            float[] cur = rows[y];
            float[] next = rows[y + 1];
            if (ShiftResampler.VECTOR) {
                VectorRows.antiCausal(cur, next, z, x0, x1);
                continue;
            }
            for (int x = x0; x < x1; x++) {
                cur[x] = z * (next[x] - cur[x]);
            }
        }
    }

    /** Σ_k z^k·s[k] over the mirror-extended row: truncated where z^k is negligible, exact for short rows. */
    private static double causalStart(float[] s, int len) {
        final double z = POLE;
        if (len > HORIZON) {
            double sum = s[0];
            double zk = z;
            for (int k = 1; k < HORIZON; k++) {
                sum += zk * s[k];
                zk *= z;
            }
            return sum;
        }
        // Exact for the mirror-periodic extension of period 2(len − 1).
        double zk = z;
        double z2n = Math.pow(z, len - 1);
        double iz = 1 / z;
        double sum = s[0] + z2n * s[len - 1];
        z2n *= z2n * iz;
        for (int k = 1; k < len - 1; k++) {
            sum += (zk + z2n) * s[k];
            zk *= z;
            z2n *= iz;
        }
        return sum / (1 - zk * zk);
    }

    /** {@link #causalStart(float[], int)} for every column of [x0, x1), into rows[0]. */
    private static void causalStart(float[][] rows, int h, int x0, int x1, float[] acc) {
        final double z = POLE;
        float[] first = rows[0];
        for (int x = x0; x < x1; x++) {
            acc[x] = first[x];
        }
        if (h > HORIZON) {
            double zk = z;
            for (int k = 1; k < HORIZON; k++) {
                float c = (float) zk;
                float[] r = rows[k];
                for (int x = x0; x < x1; x++) {
                    acc[x] += c * r[x];
                }
                zk *= z;
            }
        } else {
            double zk = z;
            double z2n = Math.pow(z, h - 1);
            double iz = 1 / z;
            float cLast = (float) z2n;
            float[] last = rows[h - 1];
            for (int x = x0; x < x1; x++) {
                acc[x] += cLast * last[x];
            }
            z2n *= z2n * iz;
            for (int k = 1; k < h - 1; k++) {
                float c = (float) (zk + z2n);
                float[] r = rows[k];
                for (int x = x0; x < x1; x++) {
                    acc[x] += c * r[x];
                }
                zk *= z;
                z2n *= iz;
            }
            float norm = (float) (1 / (1 - zk * zk));
            for (int x = x0; x < x1; x++) {
                acc[x] *= norm;
            }
        }
        for (int x = x0; x < x1; x++) {
            first[x] = acc[x];
        }
    }

    /** Index k reflected about the edge samples into [0, len) (whole-sample symmetry). */
    static int mirror(long k, int len) {
        if (len == 1) {
            return 0;
        }
        long period = 2L * (len - 1);
        long r = Math.floorMod(k, period);
        return (int) (r < len ? r : period - r);
    }

    /** Rows of a plane, reused when big enough. */
    static float[][] rows(float[][] current, int h, int w) {
        if (current.length >= h && (h == 0 || current[0].length >= w)) {
            return current;
        }
        float[][] r = new float[Math.max(h, current.length)][];
        for (int y = 0; y < r.length; y++) {
            r[y] = new float[Math.max(w, current.length > 0 ? current[0].length : 0)];
        }
        return r;
    }
}
