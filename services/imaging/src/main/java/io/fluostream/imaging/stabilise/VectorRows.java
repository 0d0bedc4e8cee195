package io.fluostream.imaging.stabilise;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The resamplers' row loops — weighted sums of whole rows and the spline recursion down columns —
 * on the incubating Vector API. C2 (JDK 17) leaves the scalar forms unvectorised: it cannot prove
 * that two {@code float[]} rows are different arrays. Every method does the scalar loop's
 * operations in the same order per element, so the answers are the same to the bit; the scalar
 * loop finishes each row's tail.
 *
 * <p>Loaded only in a JVM started with {@code --add-modules jdk.incubator.vector}
 * ({@link io.fluostream.imaging.VectorApi}).
 */
final class VectorRows {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private VectorRows() {
    }

    /**
     * {@code sum[x] = Σ_j kernel[j]·pad[x + j]} for x in [0, span), j = 0 … taps − 1 added in turn
     * onto 0.
     */
    static void taps(float[] pad, float[] kernel, int taps, float[] sum, int span) {
        int bound = S.loopBound(span);
        for (int x = 0; x < bound; x += S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int j = 0; j < taps; j++) {
                acc = acc.add(FloatVector.fromArray(S, pad, x + j).mul(kernel[j]));
            }
            acc.intoArray(sum, x);
        }
        for (int x = bound; x < span; x++) {
            float acc = 0f;
            for (int j = 0; j < taps; j++) {
                acc += kernel[j] * pad[x + j];
            }
            sum[x] = acc;
        }
    }

    /** {@code out[x] = w0·r0[x] + w1·r1[x] + w2·r2[x] + w3·r3[x]} for x in [x0, x1). */
    static void fourRows(float[] r0, float[] r1, float[] r2, float[] r3, float w0, float w1, float w2, float w3,
            float[] out, int x0, int x1) {
        int x = x0;
        for (int end = x0 + S.loopBound(x1 - x0); x < end; x += S.length()) {
            FloatVector.fromArray(S, r0, x).mul(w0)
                    .add(FloatVector.fromArray(S, r1, x).mul(w1))
                    .add(FloatVector.fromArray(S, r2, x).mul(w2))
                    .add(FloatVector.fromArray(S, r3, x).mul(w3))
                    .intoArray(out, x);
        }
        for (; x < x1; x++) {
            out[x] = w0 * r0[x] + w1 * r1[x] + w2 * r2[x] + w3 * r3[x];
        }
    }

    /** Causal step of the spline prefilter down the columns: {@code cur[x] += z·prev[x]}. */
    static void causal(float[] cur, float[] prev, float z, int x0, int x1) {
        int x = x0;
        for (int end = x0 + S.loopBound(x1 - x0); x < end; x += S.length()) {
            FloatVector.fromArray(S, cur, x).add(FloatVector.fromArray(S, prev, x).mul(z)).intoArray(cur, x);
        }
        for (; x < x1; x++) {
            cur[x] += z * prev[x];
        }
    }

    /** Anti-causal step of the spline prefilter up the columns: {@code cur[x] = z·(next[x] − cur[x])}. */
    static void antiCausal(float[] cur, float[] next, float z, int x0, int x1) {
        int x = x0;
        for (int end = x0 + S.loopBound(x1 - x0); x < end; x += S.length()) {
            FloatVector.fromArray(S, next, x).sub(FloatVector.fromArray(S, cur, x)).mul(z).intoArray(cur, x);
        }
        for (; x < x1; x++) {
            cur[x] = z * (next[x] - cur[x]);
        }
    }
}
