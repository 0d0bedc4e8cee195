package io.fluostream.imaging.unmix;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast path of {@link SpectralUnmixer} for three fluorophores on the incubating Vector API
 * ({@code jdk.incubator.vector}): least squares, the exact non-negative fix and the residual in one
 * pass over each vector of pixels, straight from the frame's planes into the output planes.
 *
 * <p>The non-negative fix is branch-free. The unique NNLS minimum is the unconstrained minimiser on
 * exactly one passive set {@code P} that passes the KKT test ({@code a_P ≥ 0}, gradient
 * {@code g = Ga − b ≥ 0} outside {@code P}, with {@code G = MᵀM}, {@code b = Mᵀx}); every lane
 * (pixel) tests all eight sets at once and keeps the one that passes — the full set is the
 * least-squares solution, a pair {@code {i, j}} costs a 2 × 2 solve and one gradient, a singleton
 * one division and two gradients, the empty set a sign check of {@code b}. No data-dependent
 * branch, so none of the mispredictions that a per-pixel search pays in noisy dark background,
 * where most pixels need the fix. Arithmetic is float, like the scalar fast path; the test allows
 * {@link #RELATIVE_TOLERANCE} of {@code max|b|} of slack, and accepted abundances are clamped at 0.
 * A lane that no set passes (rounding in a degenerate tie, or NaN input) is solved again exactly in
 * double precision by {@link NonNegativeLeastSquares}.
 *
 * <p>Loaded by name, only in a JVM started with {@code --add-modules jdk.incubator.vector} (see
 * {@link SpectralUnmixer}); without it the scalar tile path gives the same answers to float
 * rounding. Immutable; one instance may be shared by threads.
 */
final class VectorUnmixing implements SpectralUnmixer.FusedKernel {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * Slack of the KKT test relative to {@code max|b|}: float products of terms that size carry
     * rounding of a few 1e-7, so anything within ~1e-6 is rounding, and the objective a passing
     * set could still miss is far below the float resolution of the answer.
     */
    static final float RELATIVE_TOLERANCE = 2e-6f;

    /** Vectors summed per lane before the frame sums fold into double (as the scalar path). */
    private static final int FOLD = 64;

    /** Pixels per chunk: the chunk's planes stay in L1 between the passes. */
    private static final int CHUNK = 512;

    private final int channels;
    private final boolean constrained;
    /** Pseudo-inverse, {@code [f * C + c]}: the same floats the scalar path uses. */
    private final float[] pseudoInverse;
    /** Spectra, {@code [c * 3 + f]}. */
    private final float[] mixing;
    private final double[] mixingExact;
    /** Gram matrix entries. */
    private final float g01;
    private final float g02;
    private final float g12;
    /** 1 / G_ii: the singleton solutions. */
    private final float inv0;
    private final float inv1;
    private final float inv2;
    /** Inverses of the 2 × 2 blocks {@code G_PP} for the pairs {0,1}, {0,2}, {1,2}: (ii, ij, jj). */
    private final float[] pairs;
    private final NonNegativeLeastSquares exact;

    /**
     * @param constrained whether to apply the non-negative fix (NNLS) or leave least squares
     */
    VectorUnmixing(ReferenceSpectra spectra, float[] pseudoInverse, boolean constrained) {
        if (spectra.fluorophores() != 3) {
            throw new IllegalArgumentException("the vector path is for 3 fluorophores, got " + spectra.fluorophores());
        }
        this.channels = spectra.channels();
        this.constrained = constrained;
        this.pseudoInverse = pseudoInverse.clone();
        double[] m = spectra.values();
        this.mixingExact = m;
        this.mixing = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            mixing[i] = (float) m[i];
        }
        double[] g = spectra.gram();
        this.g01 = (float) g[1];
        this.g02 = (float) g[2];
        this.g12 = (float) g[5];
        this.inv0 = (float) (1 / g[0]);
        this.inv1 = (float) (1 / g[4]);
        this.inv2 = (float) (1 / g[8]);
        this.pairs = new float[9];
        int[][] sets = {{0, 1}, {0, 2}, {1, 2}};
        for (int k = 0; k < 3; k++) {
            double gii = g[sets[k][0] * 4];
            double gjj = g[sets[k][1] * 4];
            double gij = g[sets[k][0] * 3 + sets[k][1]];
            double det = gii * gjj - gij * gij;
            pairs[k * 3] = (float) (gjj / det);
            pairs[k * 3 + 1] = (float) (-gij / det);
            pairs[k * 3 + 2] = (float) (gii / det);
        }
        this.exact = constrained ? new NonNegativeLeastSquares(g, 3) : null;
    }

    /** Whether the Vector API has a shape worth using here (at least 4 float lanes). */
    static boolean worthwhile() {
        return S.length() >= 4;
    }

    @Override
    public void process(float[] x, float[] a, float[] r, int pixels, int from, int to, double[] sums) {
        final int lanes = S.length();
        final int end = from + (to - from) / lanes * lanes;
        // Per-lane partial sums of the frame statistics, folded into double every FOLD vectors.
        float[] residualLanes = new float[lanes];
        float[] signalLanes = new float[lanes];
        int folded = 0;
        double sumResidual = 0;
        double sumSignal = 0;
        // Chunks of CHUNK pixels (a few KiB per plane, in L1), three passes each. One method per
        // pass: C2 stops inlining (and so intrinsifying) Vector API calls in a method that has
        // grown too large, and then every vector is boxed on the heap.
        for (int i = from; i < end; i += CHUNK) {
            int chunkEnd = Math.min(end, i + CHUNK);
            leastSquares(x, a, pixels, i, chunkEnd);
            if (constrained) {
                constrain(x, a, pixels, i, chunkEnd);
            }
            residual(x, a, r, pixels, i, chunkEnd, residualLanes, signalLanes);
            folded += (chunkEnd - i) / lanes;
            if (folded >= FOLD) {
                sumResidual += fold(residualLanes);
                sumSignal += fold(signalLanes);
                folded = 0;
            }
        }
        if (end < to) {
            // The last few pixels, padded with zeros to a whole vector (which add nothing to the
            // sums), so that every pixel gets the same arithmetic wherever a band ends.
            int tail = to - end;
            float[] xt = new float[channels * lanes];
            for (int c = 0; c < channels; c++) {
                System.arraycopy(x, c * pixels + end, xt, c * lanes, tail);
            }
            float[] at = new float[3 * lanes];
            float[] rt = new float[lanes];
            leastSquares(xt, at, lanes, 0, lanes);
            if (constrained) {
                constrain(xt, at, lanes, 0, lanes);
            }
            residual(xt, at, rt, lanes, 0, lanes, residualLanes, signalLanes);
            for (int f = 0; f < 3; f++) {
                System.arraycopy(at, f * lanes, a, f * pixels + end, tail);
            }
            System.arraycopy(rt, 0, r, end, tail);
        }
        sums[0] += sumResidual + fold(residualLanes);
        sums[1] += sumSignal + fold(signalLanes);
    }

    /** Least squares {@code a = P x} for pixels {@code [from, to)} (whole vectors). */
    private void leastSquares(float[] x, float[] a, int pixels, int from, int to) {
        final int nc = channels;
        final float[] p = pseudoInverse;
        for (int i = from; i < to; i += S.length()) {
            FloatVector x0 = FloatVector.fromArray(S, x, i);
            FloatVector a0 = x0.mul(p[0]);
            FloatVector a1 = x0.mul(p[nc]);
            FloatVector a2 = x0.mul(p[2 * nc]);
            for (int c = 1; c < nc; c++) {
                FloatVector xc = FloatVector.fromArray(S, x, c * pixels + i);
                a0 = xc.fma(FloatVector.broadcast(S, p[c]), a0);
                a1 = xc.fma(FloatVector.broadcast(S, p[nc + c]), a1);
                a2 = xc.fma(FloatVector.broadcast(S, p[2 * nc + c]), a2);
            }
            a0.intoArray(a, i);
            a1.intoArray(a, pixels + i);
            a2.intoArray(a, 2 * pixels + i);
        }
    }

    /**
     * Replaces the least-squares solution in {@code a} by the exact non-negative one where it has
     * a negative coefficient, pixels {@code [from, to)} (whole vectors).
     */
    private void constrain(float[] x, float[] a, int pixels, int from, int to) {
        final int nc = channels;
        final float[] m = mixing;
        final FloatVector zero = FloatVector.zero(S);
        final FloatVector one = FloatVector.broadcast(S, 1f);
        // Constants broadcast once: every Vector API call in the loop is inlined, and C2 stops
        // inlining (so boxes every vector) once a method grows too large.
        final FloatVector q0 = FloatVector.broadcast(S, pairs[0]);
        final FloatVector q1 = FloatVector.broadcast(S, pairs[1]);
        final FloatVector q2 = FloatVector.broadcast(S, pairs[2]);
        final FloatVector q3 = FloatVector.broadcast(S, pairs[3]);
        final FloatVector q4 = FloatVector.broadcast(S, pairs[4]);
        final FloatVector q5 = FloatVector.broadcast(S, pairs[5]);
        final FloatVector q6 = FloatVector.broadcast(S, pairs[6]);
        final FloatVector q7 = FloatVector.broadcast(S, pairs[7]);
        final FloatVector q8 = FloatVector.broadcast(S, pairs[8]);
        final FloatVector g01v = FloatVector.broadcast(S, g01);
        final FloatVector g02v = FloatVector.broadcast(S, g02);
        final FloatVector g12v = FloatVector.broadcast(S, g12);
        final FloatVector inv0v = FloatVector.broadcast(S, inv0);
        final FloatVector inv1v = FloatVector.broadcast(S, inv1);
        final FloatVector inv2v = FloatVector.broadcast(S, inv2);
        final FloatVector minusRelTol = FloatVector.broadcast(S, -RELATIVE_TOLERANCE);
        for (int i = from; i < to; i += S.length()) {
            FloatVector a0 = FloatVector.fromArray(S, a, i);
            FloatVector a1 = FloatVector.fromArray(S, a, pixels + i);
            FloatVector a2 = FloatVector.fromArray(S, a, 2 * pixels + i);
            VectorMask<Float> open = a0.min(a1).min(a2).compare(VectorOperators.LT, 0f);
            if (!open.anyTrue()) {
                continue;
            }
            FloatVector b0 = zero;
            FloatVector b1 = zero;
            FloatVector b2 = zero;
            for (int c = 0; c < nc; c++) {
                FloatVector xc = FloatVector.fromArray(S, x, c * pixels + i);
                b0 = xc.fma(FloatVector.broadcast(S, m[c * 3]), b0);
                b1 = xc.fma(FloatVector.broadcast(S, m[c * 3 + 1]), b1);
                b2 = xc.fma(FloatVector.broadcast(S, m[c * 3 + 2]), b2);
            }
            FloatVector nb0 = b0.neg();
            FloatVector nb1 = b1.neg();
            FloatVector nb2 = b2.neg();
            FloatVector negTol = b0.abs().max(b1.abs()).max(b2.abs()).mul(minusRelTol);
            // 1 in open lanes until some set passes. A float vector, not a mask: JDK 17 compiles mask
            // AND into vector code but not mask OR, which would box.
            FloatVector pending = zero.blend(one, open);

            // Pair {0, 1}: a2 = 0; gradient g2.
            FloatVector t0 = b1.fma(q1, b0.mul(q0));
            FloatVector t1 = b0.fma(q1, b1.mul(q2));
            FloatVector g = t0.fma(g02v, t1.fma(g12v, nb2));
            VectorMask<Float> ok = t0.min(t1).min(g).compare(VectorOperators.GE, negTol);
            VectorMask<Float> take = ok.and(open);
            a0 = a0.blend(t0, take);
            a1 = a1.blend(t1, take);
            a2 = a2.blend(zero, take);
            pending = pending.blend(zero, ok);

            // Pair {0, 2}: a1 = 0; gradient g1.
            t0 = b2.fma(q4, b0.mul(q3));
            FloatVector t2 = b0.fma(q4, b2.mul(q5));
            g = t0.fma(g01v, t2.fma(g12v, nb1));
            ok = t0.min(t2).min(g).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(t0, take);
            a1 = a1.blend(zero, take);
            a2 = a2.blend(t2, take);
            pending = pending.blend(zero, ok);

            // Pair {1, 2}: a0 = 0; gradient g0.
            t1 = b2.fma(q7, b1.mul(q6));
            t2 = b1.fma(q7, b2.mul(q8));
            g = t1.fma(g01v, t2.fma(g02v, nb0));
            ok = t1.min(t2).min(g).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(zero, take);
            a1 = a1.blend(t1, take);
            a2 = a2.blend(t2, take);
            pending = pending.blend(zero, ok);

            // Singleton {0}: gradients g1, g2.
            t0 = b0.mul(inv0v);
            FloatVector gi = t0.fma(g01v, nb1);
            FloatVector gj = t0.fma(g02v, nb2);
            ok = t0.min(gi).min(gj).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(t0, take);
            a1 = a1.blend(zero, take);
            a2 = a2.blend(zero, take);
            pending = pending.blend(zero, ok);

            // Singleton {1}: gradients g0, g2.
            t1 = b1.mul(inv1v);
            gi = t1.fma(g01v, nb0);
            gj = t1.fma(g12v, nb2);
            ok = t1.min(gi).min(gj).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(zero, take);
            a1 = a1.blend(t1, take);
            a2 = a2.blend(zero, take);
            pending = pending.blend(zero, ok);

            // Singleton {2}: gradients g0, g1.
            t2 = b2.mul(inv2v);
            gi = t2.fma(g02v, nb0);
            gj = t2.fma(g12v, nb1);
            ok = t2.min(gi).min(gj).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(zero, take);
            a1 = a1.blend(zero, take);
            a2 = a2.blend(t2, take);
            pending = pending.blend(zero, ok);

            // Empty set: a = 0 where the gradient −b is non-negative.
            ok = nb0.min(nb1).min(nb2).compare(VectorOperators.GE, negTol);
            take = ok.and(open);
            a0 = a0.blend(zero, take);
            a1 = a1.blend(zero, take);
            a2 = a2.blend(zero, take);
            pending = pending.blend(zero, ok);

            // Accepted abundances within the slack below 0 are 0.
            a0 = a0.max(zero);
            a1 = a1.max(zero);
            a2 = a2.max(zero);
            a0.intoArray(a, i);
            a1.intoArray(a, pixels + i);
            a2.intoArray(a, 2 * pixels + i);
            if (pending.compare(VectorOperators.NE, 0f).anyTrue()) {
                solveLanesExactly(x, pixels, i, pending, a);
            }
        }
    }

    /**
     * The RMS over channels of the residual {@code x − M a} into {@code r}, and of the signal;
     * both added to the per-lane sums. Pixels {@code [from, to)} (whole vectors).
     */
    private void residual(float[] x, float[] a, float[] r, int pixels, int from, int to,
                          float[] residualLanes, float[] signalLanes) {
        final int nc = channels;
        final float[] m = mixing;
        final float invChannels = 1f / nc;
        FloatVector residualSum = FloatVector.fromArray(S, residualLanes, 0);
        FloatVector signalSum = FloatVector.fromArray(S, signalLanes, 0);
        for (int i = from; i < to; i += S.length()) {
            FloatVector a0 = FloatVector.fromArray(S, a, i);
            FloatVector a1 = FloatVector.fromArray(S, a, pixels + i);
            FloatVector a2 = FloatVector.fromArray(S, a, 2 * pixels + i);
            FloatVector x0 = FloatVector.fromArray(S, x, i);
            FloatVector misfit = a0.fma(FloatVector.broadcast(S, -m[0]), x0);
            misfit = a1.fma(FloatVector.broadcast(S, -m[1]), misfit);
            misfit = a2.fma(FloatVector.broadcast(S, -m[2]), misfit);
            FloatVector residualSq = misfit.mul(misfit);
            FloatVector signalSq = x0.mul(x0);
            for (int c = 1; c < nc; c++) {
                FloatVector xc = FloatVector.fromArray(S, x, c * pixels + i);
                misfit = a0.fma(FloatVector.broadcast(S, -m[c * 3]), xc);
                misfit = a1.fma(FloatVector.broadcast(S, -m[c * 3 + 1]), misfit);
                misfit = a2.fma(FloatVector.broadcast(S, -m[c * 3 + 2]), misfit);
                residualSq = misfit.fma(misfit, residualSq);
                signalSq = xc.fma(xc, signalSq);
            }
            FloatVector residual = residualSq.mul(invChannels).sqrt();
            residual.intoArray(r, i);
            residualSum = residualSum.add(residual);
            signalSum = signalSum.add(signalSq.mul(invChannels).sqrt());
        }
        residualSum.intoArray(residualLanes, 0);
        signalSum.intoArray(signalLanes, 0);
    }

    /** Sum of the lanes, in double; resets them to 0. */
    private static double fold(float[] lanes) {
        double sum = 0;
        for (int k = 0; k < lanes.length; k++) {
            sum += lanes[k];
            lanes[k] = 0;
        }
        return sum;
    }

    /** Rare: lanes no set passed, solved one by one in double precision into {@code a}. */
    private void solveLanesExactly(float[] x, int pixels, int i, FloatVector pending, float[] a) {
        double[] b = new double[3];
        double[] solution = new double[3];
        for (int lane = 0; lane < S.length(); lane++) {
            if (pending.lane(lane) == 0) {
                continue;
            }
            int pixel = i + lane;
            java.util.Arrays.fill(b, 0);
            for (int c = 0; c < channels; c++) {
                double xc = x[c * pixels + pixel];
                for (int f = 0; f < 3; f++) {
                    b[f] += mixingExact[c * 3 + f] * xc;
                }
            }
            exact.solve(b, solution);
            for (int f = 0; f < 3; f++) {
                a[f * pixels + pixel] = (float) solution[f];
            }
        }
    }
}
