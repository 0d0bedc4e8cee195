package io.fluostream.imaging.unmix;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Exact non-negative least squares for one pixel in normal-equation (Gram) form:
 * minimise {@code ½aᵀGa − bᵀa} subject to {@code a ≥ 0}, with {@code G = MᵀM} and {@code b = Mᵀx}.
 * That is {@code min ||Ma − x||²} up to a constant.
 *
 * <p>Why this is exact: {@code G} is positive definite (the spectra have full column rank), so the
 * minimum is unique and is the unconstrained minimiser on some "passive set" {@code P} of
 * coefficients, with the others held at zero. A candidate {@code P} is the answer if and only if
 * it satisfies the Karush–Kuhn–Tucker conditions: {@code a_P = G_PP⁻¹ b_P ≥ 0} and the gradient
 * {@code g_i = (Ga − b)_i ≥ 0} for every {@code i} outside {@code P}. Both are linear in {@code b},
 * so for every candidate one F × F matrix {@code K_P} is tabulated once whose rows give
 * {@code a_i} (i in P) and {@code g_i} (i outside P): checking a candidate is one small product
 * and F comparisons, and for a passing candidate the same product is the answer.
 *
 * <p>Candidates are visited in order of Hamming distance from the sign pattern of the
 * unconstrained solution, where the answer almost always is, and only among subsets of
 * {@code {i : b_i > 0}}: non-negative spectra make {@code G ≥ 0} element-wise, so a passive
 * {@code i} has {@code b_i = (Ga)_i ≥ G_ii a_i > 0}. Should rounding in a degenerate tie let no
 * candidate pass, {@link #solveByMinimumObjective} settles it, also exactly.
 *
 * <p>Speed: a pixel costs a few tens of nanoseconds, dominated by the data-dependent search. Up
 * to {@value #UNROLLED_FLUOROPHORES} fluorophores the products are written out for a padded 4 × 4
 * problem and the candidate order for each (positive set, start set) is tabulated; larger
 * problems use plain loops over F, about 3x slower per candidate.
 *
 * <p>Immutable after construction, so one instance may be shared by threads; callers own the
 * {@code b}/{@code a} arrays.
 */
final class NonNegativeLeastSquares {

    /** 2^F candidates are tabulated: 10 fluorophores is 1024 of them, 800 KiB. */
    static final int MAX_FLUOROPHORES = 10;

    /** Up to this many fluorophores {@link #solveUnrolled} applies (smaller ones padded with zeros). */
    static final int UNROLLED_FLUOROPHORES = 4;

    /**
     * Slack on the KKT gradient test, relative to the largest |b|: the gradient is computed in
     * double precision from terms of that size, so anything within ~1e-9 of it is rounding and
     * the objective it could still gain is negligible.
     */
    static final double GRADIENT_TOLERANCE = 1e-9;

    private final int n;
    /** For candidate bitmask {@code m}: {@code K_P} at {@code [m*n*n + i*n + j]}. */
    private final double[] kkt;
    /** For n ≤ 4: {@code K_P} padded to 4 × 4 at {@code [m*16 + i*4 + j]}. */
    private final double[] kkt4;
    /**
     * Per candidate and row, {@code [m*stride() + i]}: 1 if i is passive, else 0. Tables rather
     * than tests of mask bits keep the hot loop free of unpredictable branches.
     */
    private final double[] passive;
    /** Per candidate and row: the row's lower bound in units of the tolerance (0 passive, −1 not). */
    private final double[] lowerBound;
    /** Every bitmask, by increasing population count: XOR with a start set walks outwards from it. */
    private final int[] flips;
    /**
     * For n ≤ 4, the candidates to try for each (positive set, start set), in order:
     * {@code orders[orderStart[positive << n | start] ...]}, ending before the next entry's start.
     * Listing them up front keeps mispredicted skip branches out of the search.
     */
    private final int[] orders;
    private final int[] orderStart;

    NonNegativeLeastSquares(double[] gram, int n) {
        if (n < 1 || n > MAX_FLUOROPHORES) {
            throw new IllegalArgumentException("exact non-negative unmixing supports 1 to " + MAX_FLUOROPHORES
                    + " fluorophores, got " + n + "; use LeastSquaresUnmixer for more");
        }
        this.n = n;
        int sets = 1 << n;
        this.kkt = new double[sets * n * n];
        int stride = stride();
        this.passive = new double[sets * stride];
        this.lowerBound = new double[sets * stride];
        for (int mask = 0; mask < sets; mask++) {
            tabulate(gram, mask);
            for (int i = 0; i < stride; i++) {
                boolean p = (mask >> i & 1) != 0;
                passive[mask * stride + i] = p ? 1 : 0;
                lowerBound[mask * stride + i] = p ? 0 : -1;
            }
        }
        this.flips = IntStream.range(0, sets).boxed()
                .sorted(Comparator.comparingInt(Integer::bitCount).thenComparingInt(m -> m))
                .mapToInt(Integer::intValue).toArray();
        if (n <= UNROLLED_FLUOROPHORES) {
            this.orderStart = new int[sets * sets + 1];
            int[] list = new int[sets * sets * sets];
            int size = 0;
            for (int positive = 0; positive < sets; positive++) {
                for (int start = 0; start < sets; start++) {
                    orderStart[positive << n | start] = size;
                    for (int flip : flips) {
                        if ((flip & ~positive) == 0) {
                            list[size++] = (start & positive) ^ flip;
                        }
                    }
                }
            }
            orderStart[sets * sets] = size;
            this.orders = Arrays.copyOf(list, size);
            this.kkt4 = new double[sets * 16];
            for (int mask = 0; mask < sets; mask++) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        kkt4[mask * 16 + i * 4 + j] = kkt[mask * n * n + i * n + j];
                    }
                }
            }
        } else {
            this.orders = null;
            this.orderStart = null;
            this.kkt4 = null;
        }
    }

    /** Fills {@code K_P}: rows of {@code G_PP⁻¹} for i in P, rows of {@code G_iP G_PP⁻¹ − e_i} outside. */
    private void tabulate(double[] gram, int mask) {
        int[] members = IntStream.range(0, n).filter(i -> (mask >> i & 1) != 0).toArray();
        int k = members.length;
        double[] inverse = new double[n * n]; // G_PP⁻¹ padded with zeros
        if (k > 0) {
            double[] sub = new double[k * k];
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    sub[i * k + j] = gram[members[i] * n + members[j]];
                }
            }
            double[] inv = SymmetricMatrices.inversePositiveDefinite(sub, k);
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    inverse[members[i] * n + members[j]] = inv[i * k + j];
                }
            }
        }
        int base = mask * n * n;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double v;
                if ((mask >> i & 1) != 0) {
                    v = inverse[i * n + j];
                } else {
                    v = i == j ? -1 : 0;
                    for (int p = 0; p < n; p++) {
                        v += gram[i * n + p] * inverse[p * n + j];
                    }
                }
                kkt[base + i * n + j] = v;
            }
        }
    }

    /**
     * Writes the non-negative least-squares solution for right-hand side {@code b = Mᵀx} into
     * {@code a} (length F). A non-finite {@code b} gives an all-NaN {@code a}.
     */
    void solve(double[] b, double[] a) {
        if (kkt4 != null) {
            double b0 = b[0];
            double b1 = n > 1 ? b[1] : 0;
            double b2 = n > 2 ? b[2] : 0;
            double b3 = n > 3 ? b[3] : 0;
            solveUnrolled(b0, b1, b2, b3, unconstrainedSigns(b0, b1, b2, b3), a);
            return;
        }
        double scale = 0;
        int positive = 0;
        boolean finite = true;
        for (int i = 0; i < n; i++) {
            double bi = b[i];
            double abs = Math.abs(bi);
            finite &= abs <= Double.MAX_VALUE;
            scale = Math.max(scale, abs);
            positive |= (bi > 0 ? 1 : 0) << i;
        }
        if (!finite) {
            Arrays.fill(a, 0, n, Double.NaN);
            return;
        }
        double tol = GRADIENT_TOLERANCE * scale;
        evaluate((1 << n) - 1, b, 0, a);
        int start = 0;
        for (int i = 0; i < n; i++) {
            start |= (a[i] > 0 ? 1 : 0) << i;
        }
        start &= positive;
        for (int flip : flips) {
            if ((flip & ~positive) == 0 && evaluate(start ^ flip, b, tol, a)) {
                return;
            }
        }
        // Only reachable through rounding in degenerate ties; still exact: see below.
        solveByMinimumObjective(b, a);
    }

    /**
     * Bitmask of the positive coefficients of the unconstrained solution {@code G⁻¹b}, for at most
     * {@value #UNROLLED_FLUOROPHORES} fluorophores: the usual start for {@link #solveUnrolled}.
     */
    int unconstrainedSigns(double b0, double b1, double b2, double b3) {
        final double[] k = kkt4;
        int o = ((1 << n) - 1) * 16;
        return (k[o] * b0 + k[o + 1] * b1 + k[o + 2] * b2 + k[o + 3] * b3 > 0 ? 1 : 0)
                | (k[o + 4] * b0 + k[o + 5] * b1 + k[o + 6] * b2 + k[o + 7] * b3 > 0 ? 2 : 0)
                | (k[o + 8] * b0 + k[o + 9] * b1 + k[o + 10] * b2 + k[o + 11] * b3 > 0 ? 4 : 0)
                | (k[o + 12] * b0 + k[o + 13] * b1 + k[o + 14] * b2 + k[o + 15] * b3 > 0 ? 8 : 0);
    }

    /**
     * {@link #solve} for at most {@value #UNROLLED_FLUOROPHORES} fluorophores, written out for a
     * padded 4 × 4 problem (pass 0 for the {@code b} of missing fluorophores). {@code start} is a
     * guess at the passive set, as a bitmask — the positive coefficients of the unconstrained
     * solution are a good one, and a caller that has them already saves recomputing them. The
     * search begins there; the guess changes only the speed, never the answer.
     */
    void solveUnrolled(double b0, double b1, double b2, double b3, int start, double[] a) {
        // Math.max, not a ternary: C2 turns the latter into an unpredictable branch.
        double scale = Math.max(Math.max(Math.abs(b0), Math.abs(b1)), Math.max(Math.abs(b2), Math.abs(b3)));
        if (!(scale <= Double.MAX_VALUE)) { // NaN or infinity (Math.max propagates NaN)
            Arrays.fill(a, 0, n, Double.NaN);
            return;
        }
        double tol = GRADIENT_TOLERANCE * scale;
        int positive = (b0 > 0 ? 1 : 0) | (b1 > 0 ? 2 : 0) | (b2 > 0 ? 4 : 0) | (b3 > 0 ? 8 : 0);
        final double[] k = kkt4;
        final double[] lo = lowerBound;
        int key = positive << n | (start & ((1 << n) - 1));
        final int[] order = orders;
        for (int c = orderStart[key], end = orderStart[key + 1]; c < end; c++) {
            int mask = order[c];
            int o = mask * 16;
            double t0 = k[o] * b0 + k[o + 1] * b1 + k[o + 2] * b2 + k[o + 3] * b3;
            double t1 = k[o + 4] * b0 + k[o + 5] * b1 + k[o + 6] * b2 + k[o + 7] * b3;
            double t2 = k[o + 8] * b0 + k[o + 9] * b1 + k[o + 10] * b2 + k[o + 11] * b3;
            double t3 = k[o + 12] * b0 + k[o + 13] * b1 + k[o + 14] * b2 + k[o + 15] * b3;
            // Passive rows are abundances (≥ 0), the others gradients (≥ −tol); padding rows are
            // all zero and pass as gradients.
            int w = mask * 4;
            if ((t0 >= lo[w] * tol) & (t1 >= lo[w + 1] * tol) & (t2 >= lo[w + 2] * tol) & (t3 >= lo[w + 3] * tol)) {
                // "+ 0.0" turns the -0.0 of a negative gradient times 0 into +0.0.
                final double[] p = passive;
                a[0] = t0 * p[w] + 0.0;
                if (n > 1) {
                    a[1] = t1 * p[w + 1] + 0.0;
                }
                if (n > 2) {
                    a[2] = t2 * p[w + 2] + 0.0;
                }
                if (n > 3) {
                    a[3] = t3 * p[w + 3] + 0.0;
                }
                return;
            }
        }
        double[] b = {b0, b1, b2, b3};
        solveByMinimumObjective(b, a);
    }

    /**
     * The same minimum found the slow way: among all candidates whose solution is feasible, the
     * one with the lowest objective. Exact because the optimum is the feasible solution on its
     * own support, and every other feasible candidate is a feasible point, so no lower.
     */
    void solveByMinimumObjective(double[] b, double[] a) {
        double best = 0; // the empty set: a = 0, objective 0
        int bestMask = 0;
        for (int mask = 1; mask < 1 << n; mask++) {
            evaluate(mask, b, 0, a); // only the solution is used here
            boolean feasible = true;
            // At the unconstrained optimum on P, G_PP a_P = b_P, so ½aᵀGa − bᵀa = −½bᵀa.
            double objective = 0;
            for (int i = 0; i < n; i++) {
                feasible &= a[i] >= 0;
                objective -= 0.5 * b[i] * a[i];
            }
            if (feasible && objective < best) {
                best = objective;
                bestMask = mask;
            }
        }
        evaluate(bestMask, b, 0, a);
    }

    /**
     * Solves on candidate {@code mask} into {@code a} (zero outside P) and reports whether it
     * meets the KKT conditions: {@code a_i ≥ 0} in P and gradient {@code ≥ −tol} outside.
     */
    private boolean evaluate(int mask, double[] b, double tol, double[] a) {
        int base = mask * n * n;
        int w = mask * stride();
        boolean ok = true;
        for (int i = 0; i < n; i++) {
            double t = 0;
            for (int j = 0; j < n; j++) {
                t += kkt[base + i * n + j] * b[j];
            }
            ok &= t >= lowerBound[w + i] * tol;
            a[i] = t * passive[w + i] + 0.0;
        }
        return ok;
    }

    private int stride() {
        return Math.max(n, UNROLLED_FLUOROPHORES);
    }
}
