package io.fluostream.imaging.fft;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The radix-2 and radix-4 Stockham passes of {@link ComplexFft} on the incubating Vector API, for
 * passes whose unit-stride runs ({@code s} elements: the radices already done times the batch of
 * interleaved sequences) are at least a vector long. Element for element they do the scalar
 * passes' operations in the same order, so the answers agree to rounding; the scalar passes finish
 * the runs' tails.
 *
 * <p>Why by hand: C2 (JDK 17) does not vectorise the scalar passes, because it cannot prove that the
 * input and output buffers — two {@code double[]} of the same type — do not overlap. The column
 * transforms (a batch of 32 columns) and the later passes of every row transform are all such
 * runs: about 2/3 of a 2-D transform's work.
 *
 * <p>Loaded only in a JVM started with {@code --add-modules jdk.incubator.vector}
 * ({@link ComplexFft#VECTOR_PASSES}).
 */
final class VectorFftPasses {

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    /** Doubles per vector on this machine. */
    static final int LANES = S.length();

    private VectorFftPasses() {
    }

    /** As {@code ComplexFft.pass2} over all of each run; {@code s ≥ LANES}. */
    static void pass2(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti) {
        int bound = S.loopBound(s);
        for (int j = 0; j < m; j++) {
            DoubleVector wr = DoubleVector.broadcast(S, tr[j]);
            DoubleVector wi = DoubleVector.broadcast(S, ti[j]);
            int a = xo + s * j;
            int b = a + s * m;
            int c = yo + s * 2 * j;
            int d = c + s;
            for (int q = 0; q < bound; q += LANES) {
                DoubleVector ar = DoubleVector.fromArray(S, xr, a + q);
                DoubleVector ai = DoubleVector.fromArray(S, xi, a + q);
                DoubleVector br = DoubleVector.fromArray(S, xr, b + q);
                DoubleVector bi = DoubleVector.fromArray(S, xi, b + q);
                ar.add(br).intoArray(yr, c + q);
                ai.add(bi).intoArray(yi, c + q);
                DoubleVector dr = ar.sub(br);
                DoubleVector di = ai.sub(bi);
                dr.mul(wr).sub(di.mul(wi)).intoArray(yr, d + q);
                dr.mul(wi).add(di.mul(wr)).intoArray(yi, d + q);
            }
        }
        if (bound < s) {
            ComplexFft.pass2(xr, xi, xo, yr, yi, yo, s, m, tr, ti, bound);
        }
    }

    /** As {@code ComplexFft.pass4} over all of each run; {@code s ≥ LANES}. */
    static void pass4(double[] xr, double[] xi, int xo, double[] yr, double[] yi, int yo,
            int s, int m, double[] tr, double[] ti) {
        int bound = S.loopBound(s);
        for (int j = 0; j < m; j++) {
            int a0 = xo + s * j;
            int a1 = a0 + s * m;
            int a2 = a1 + s * m;
            int a3 = a2 + s * m;
            int c0 = yo + s * 4 * j;
            for (int q = 0; q < bound; q += LANES) {
                butterfly4(xr, xi, a0 + q, a1 + q, a2 + q, a3 + q, yr, yi, c0 + q, s, tr, ti, 3 * j);
            }
        }
        if (bound < s) {
            ComplexFft.pass4(xr, xi, xo, yr, yi, yo, s, m, tr, ti, bound);
        }
    }

    /**
     * One vector of radix-4 butterflies: inputs at a0..a3, outputs at c0 + k·s, twiddles
     * w1, w2, w3 at {@code tr/ti[t], [t+1], [t+2]}. Kept small so that C2 inlines it whole (a
     * Vector API call it does not inline boxes every vector).
     */
    private static void butterfly4(double[] xr, double[] xi, int a0, int a1, int a2, int a3,
            double[] yr, double[] yi, int c0, int s, double[] tr, double[] ti, int t) {
        DoubleVector x0r = DoubleVector.fromArray(S, xr, a0);
        DoubleVector x0i = DoubleVector.fromArray(S, xi, a0);
        DoubleVector x1r = DoubleVector.fromArray(S, xr, a1);
        DoubleVector x1i = DoubleVector.fromArray(S, xi, a1);
        DoubleVector x2r = DoubleVector.fromArray(S, xr, a2);
        DoubleVector x2i = DoubleVector.fromArray(S, xi, a2);
        DoubleVector x3r = DoubleVector.fromArray(S, xr, a3);
        DoubleVector x3i = DoubleVector.fromArray(S, xi, a3);
        DoubleVector s0r = x0r.add(x2r);
        DoubleVector s0i = x0i.add(x2i);
        DoubleVector s1r = x0r.sub(x2r);
        DoubleVector s1i = x0i.sub(x2i);
        DoubleVector s2r = x1r.add(x3r);
        DoubleVector s2i = x1i.add(x3i);
        DoubleVector s3r = x1r.sub(x3r);
        DoubleVector s3i = x1i.sub(x3i);
        s0r.add(s2r).intoArray(yr, c0);
        s0i.add(s2i).intoArray(yi, c0);
        // b1 = s1 − i·s3, b2 = s0 − s2, b3 = s1 + i·s3 (as the scalar pass)
        DoubleVector b1r = s1r.add(s3i);
        DoubleVector b1i = s1i.sub(s3r);
        DoubleVector b2r = s0r.sub(s2r);
        DoubleVector b2i = s0i.sub(s2i);
        DoubleVector b3r = s1r.sub(s3i);
        DoubleVector b3i = s1i.add(s3r);
        double w1r = tr[t];
        double w1i = ti[t];
        double w2r = tr[t + 1];
        double w2i = ti[t + 1];
        double w3r = tr[t + 2];
        double w3i = ti[t + 2];
        b1r.mul(w1r).sub(b1i.mul(w1i)).intoArray(yr, c0 + s);
        b1r.mul(w1i).add(b1i.mul(w1r)).intoArray(yi, c0 + s);
        b2r.mul(w2r).sub(b2i.mul(w2i)).intoArray(yr, c0 + 2 * s);
        b2r.mul(w2i).add(b2i.mul(w2r)).intoArray(yi, c0 + 2 * s);
        b3r.mul(w3r).sub(b3i.mul(w3i)).intoArray(yr, c0 + 3 * s);
        b3r.mul(w3i).add(b3i.mul(w3r)).intoArray(yi, c0 + 3 * s);
    }
}
