package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Vector API row loops against the scalar loops they replace, written out here: the same
 * operations in the same order per element, so the results must be equal to the bit, at lengths
 * below one vector, whole vectors, and vectors plus a tail, and from an unaligned start.
 */
class VectorRowsTest {

    private static final int TAPS = 18;

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 16, 37, 64, 250})
    void tapsEqualTheScalarSums(int span) {
        SplittableRandom rng = new SplittableRandom(span);
        float[] pad = random(rng, span + TAPS);
        float[] kernel = random(rng, TAPS);
        float[] expected = new float[span];
        for (int x = 0; x < span; x++) {
            float acc = 0f;
            for (int j = 0; j < TAPS; j++) {
                acc += kernel[j] * pad[x + j];
            }
            expected[x] = acc;
        }
        float[] sum = new float[span + TAPS];
        VectorRows.taps(pad, kernel, TAPS, sum, span);
        assertArrayEquals(expected, java.util.Arrays.copyOf(sum, span));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 16, 37, 64, 250})
    void rowCombinationsAndRecursionsEqualTheScalarLoops(int length) {
        SplittableRandom rng = new SplittableRandom(31L * length);
        int x0 = 3;
        int x1 = x0 + length;
        float[][] rows = new float[4][];
        for (int r = 0; r < 4; r++) {
            rows[r] = random(rng, x1 + 2);
        }
        float w0 = 0.1f;
        float w1 = 0.6f;
        float w2 = 0.25f;
        float w3 = 0.05f;
        float z = (float) CubicBSpline.POLE;

        float[] expected = new float[x1 + 2];
        for (int x = x0; x < x1; x++) {
            expected[x] = w0 * rows[0][x] + w1 * rows[1][x] + w2 * rows[2][x] + w3 * rows[3][x];
        }
        float[] out = new float[x1 + 2];
        VectorRows.fourRows(rows[0], rows[1], rows[2], rows[3], w0, w1, w2, w3, out, x0, x1);
        assertArrayEquals(expected, out, "four-row sum");

        float[] causal = rows[0].clone();
        float[] causalExpected = rows[0].clone();
        for (int x = x0; x < x1; x++) {
            causalExpected[x] += z * rows[1][x];
        }
        VectorRows.causal(causal, rows[1], z, x0, x1);
        assertArrayEquals(causalExpected, causal, "causal step (untouched outside [x0, x1))");

        float[] anti = rows[2].clone();
        float[] antiExpected = rows[2].clone();
        for (int x = x0; x < x1; x++) {
            antiExpected[x] = z * (rows[3][x] - antiExpected[x]);
        }
        VectorRows.antiCausal(anti, rows[3], z, x0, x1);
        assertArrayEquals(antiExpected, anti, "anti-causal step (untouched outside [x0, x1))");
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextDouble(-100, 100);
        }
        return a;
    }
}
