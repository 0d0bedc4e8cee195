package io.fluostream.imaging.stabilise;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FieldResampler}'s per-pixel spline evaluation, a vector of output pixels at a time, on
 * the incubating Vector API. A smooth displacement field moves neighbouring pixels almost alike:
 * over a run of a vector's length the whole-pixel parts of their source points usually agree
 * (the same source rows, and columns that are the output columns plus one offset). Then every
 * tap is a plain vector load from a coefficient row, and only the weights — from each pixel's
 * own fraction — differ between lanes. Runs where the whole-pixel parts differ, or that touch
 * the border, are left to the scalar code.
 *
 * <p>Arithmetic is float (the scalar code's is double): the results agree to float rounding of
 * the sum, ~1e-7 of the signal.
 *
 * <p>Loaded only in a JVM started with {@code --add-modules jdk.incubator.vector}
 * ({@link ShiftResampler#VECTOR}).
 */
final class VectorWarp {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final float SIXTH = 1f / 6;
    private static final float TWO_THIRDS = 2f / 3;

    private VectorWarp() {
    }

    /** Output pixels per run. */
    static int lanes() {
        return S.length();
    }

    /**
     * Output pixels x .. x + lanes − 1 of row y, if their source points share whole-pixel parts
     * and lie inside the border: writes them and returns true; else writes nothing and returns
     * false. {@code tx}, {@code ty}: scratch of at least {@link #lanes()} floats.
     */
    static boolean run(float[][] c, int h, int w, int y, int x, double[] u, double[] v, float[] dst, int o,
            float[] tx, float[] ty) {
        int n = S.length();
        double sx0 = x + u[x];
        double sy0 = y + v[x];
        if (!(sx0 >= 0 && sy0 >= 0)) {
            return false; // also NaN
        }
        int ix = (int) sx0;
        int iy = (int) sy0;
        int dx = ix - x;
        if (iy < 1 || iy + 2 >= h || ix < 1 || ix + n + 1 >= w) {
            return false;
        }
        for (int l = 0; l < n; l++) {
            double sx = x + l + u[x + l];
            double sy = y + v[x + l];
            double fx = sx - (x + l + dx);
            double fy = sy - iy;
            if (!(fx >= 0 && fx < 1 && fy >= 0 && fy < 1)) {
                return false;
            }
            tx[l] = (float) fx;
            ty[l] = (float) fy;
        }
        FloatVector t = FloatVector.fromArray(S, tx, 0);
        FloatVector s = t.neg().add(1f);
        FloatVector t2 = t.mul(t);
        FloatVector s2 = s.mul(s);
        // Cubic B-spline weights of the taps at floor − 1 … floor + 2 (as the scalar code).
        FloatVector wx0 = s2.mul(s).mul(SIXTH);
        FloatVector wx1 = t2.mul(t).mul(0.5f).sub(t2).add(TWO_THIRDS);
        FloatVector wx2 = s2.mul(s).mul(0.5f).sub(s2).add(TWO_THIRDS);
        FloatVector wx3 = t2.mul(t).mul(SIXTH);
        t = FloatVector.fromArray(S, ty, 0);
        s = t.neg().add(1f);
        t2 = t.mul(t);
        s2 = s.mul(s);
        FloatVector wy0 = s2.mul(s).mul(SIXTH);
        FloatVector wy1 = t2.mul(t).mul(0.5f).sub(t2).add(TWO_THIRDS);
        FloatVector wy2 = s2.mul(s).mul(0.5f).sub(s2).add(TWO_THIRDS);
        FloatVector wy3 = t2.mul(t).mul(SIXTH);
        int k = x + dx - 1;
        FloatVector sum = row(c[iy - 1], k, wx0, wx1, wx2, wx3).mul(wy0)
                .add(row(c[iy], k, wx0, wx1, wx2, wx3).mul(wy1))
                .add(row(c[iy + 1], k, wx0, wx1, wx2, wx3).mul(wy2))
                .add(row(c[iy + 2], k, wx0, wx1, wx2, wx3).mul(wy3));
        sum.intoArray(dst, o + x);
        return true;
    }

    private static FloatVector row(float[] r, int k, FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3) {
        return FloatVector.fromArray(S, r, k).mul(w0)
                .add(FloatVector.fromArray(S, r, k + 1).mul(w1))
                .add(FloatVector.fromArray(S, r, k + 2).mul(w2))
                .add(FloatVector.fromArray(S, r, k + 3).mul(w3));
    }
}
