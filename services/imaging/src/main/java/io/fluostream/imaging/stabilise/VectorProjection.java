package io.fluostream.imaging.stabilise;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The bulk of {@link UpsampledCorrelation}'s work — complex dot products of spectrum rows with rows
 * of exponentials — on the incubating Vector API. C2 (JDK 17) does not vectorise a floating-point
 * sum (it must keep the additions in order); here each lane keeps its own partial sums, so the
 * result differs from the scalar loop's only by rounding.
 *
 * <p>Loaded only in a JVM started with {@code --add-modules jdk.incubator.vector}
 * ({@code UpsampledCorrelation.VECTOR}).
 */
final class VectorProjection {

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

    private VectorProjection() {
    }

    /** Doubles per vector here; the Vector API path is used from 4. */
    static int lanes() {
        return S.length();
    }

    /**
     * {@code t[ky·u + l] = Σ_kx R[ky][kx]·ex[l][kx]} for rows [ky0, ky1): R at
     * {@code re/im[ky·width + kx]}, ex at {@code exRe/exIm[l·columns + kx]}, kx in [0, columns).
     */
    static void project(double[] re, double[] im, int width, double[] exRe, double[] exIm, int columns, int u,
            double[] tRe, double[] tIm, int ky0, int ky1) {
        int bound = S.loopBound(columns);
        for (int ky = ky0; ky < ky1; ky++) {
            int row = ky * width;
            for (int l = 0; l < u; l++) {
                int e = l * columns;
                DoubleVector rrEr = DoubleVector.zero(S);
                DoubleVector riEi = DoubleVector.zero(S);
                DoubleVector rrEi = DoubleVector.zero(S);
                DoubleVector riEr = DoubleVector.zero(S);
                for (int kx = 0; kx < bound; kx += S.length()) {
                    DoubleVector rr = DoubleVector.fromArray(S, re, row + kx);
                    DoubleVector ri = DoubleVector.fromArray(S, im, row + kx);
                    DoubleVector er = DoubleVector.fromArray(S, exRe, e + kx);
                    DoubleVector ei = DoubleVector.fromArray(S, exIm, e + kx);
                    rrEr = rr.fma(er, rrEr);
                    riEi = ri.fma(ei, riEi);
                    rrEi = rr.fma(ei, rrEi);
                    riEr = ri.fma(er, riEr);
                }
                double sr = rrEr.sub(riEi).reduceLanes(VectorOperators.ADD);
                double si = rrEi.add(riEr).reduceLanes(VectorOperators.ADD);
                for (int kx = bound; kx < columns; kx++) {
                    double rr = re[row + kx];
                    double ri = im[row + kx];
                    double er = exRe[e + kx];
                    double ei = exIm[e + kx];
                    sr += rr * er - ri * ei;
                    si += rr * ei + ri * er;
                }
                tRe[ky * u + l] = sr;
                tIm[ky * u + l] = si;
            }
        }
    }
}
