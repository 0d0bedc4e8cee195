package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link NormalisedMedianTest}: smooth fields pass, planted outliers are flagged, exactly. */
class NormalisedMedianTestTest {

    private static final int SIZE = 96;

    /** A smooth vortex of 3 px (40 px radius, strain below 0.1) plus a uniform drift: nothing in it is an outlier. */
    private static FlowField smoothField() {
        FlowScenes.Motion vortex = FlowScenes.vortex(3, 40, 48, 40);
        FlowField f = new FlowField(SIZE, SIZE);
        double[] m = new double[2];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                vortex.displacement(x, y, m);
                f.asImage().set(0, y, x, (float) (m[0] + 0.8));
                f.asImage().set(1, y, x, (float) (m[1] - 0.4));
            }
        }
        return f;
    }

    private static int count(Image flags) {
        int n = 0;
        for (float v : flags.data()) {
            n += v != 0 ? 1 : 0;
        }
        return n;
    }

    private static NormalisedMedianTest dense(int spacing) {
        return new NormalisedMedianTest(new NormalisedMedianTest.Settings(spacing, 0.1, 2.0, 1));
    }

    @Test
    void aSmoothFieldHasNoOutliers() {
        assertEquals(0, count(dense(4).flag(smoothField())));
        assertEquals(0, count(new NormalisedMedianTest(NormalisedMedianTest.Settings.defaults()).flag(smoothField())));
    }

    @Test
    void noiseBelowTheFloorIsNotAnOutlier() {
        FlowField f = smoothField();
        Random rnd = new Random(3);
        float[] d = f.asImage().data();
        for (int i = 0; i < d.length; i++) {
            d[i] += (float) ((rnd.nextDouble() - 0.5) * 0.1); // ±0.05 px, half of ε
        }
        assertEquals(0, count(dense(4).flag(f)));
    }

    @Test
    void plantedSingleVectorsAreFlaggedAndNothingElse() {
        FlowField f = smoothField();
        int[][] planted = {{10, 12}, {30, 70}, {50, 50}, {80, 20}, {90, 90}};
        for (int[] p : planted) {
            f.asImage().set(0, p[0], p[1], f.u(p[0], p[1]) + 1.5f);
            f.asImage().set(1, p[0], p[1], f.v(p[0], p[1]) - 1.0f);
        }
        Image flags = dense(4).flag(f);
        assertEquals(planted.length, count(flags), "only the planted vectors");
        for (int[] p : planted) {
            assertEquals(1f, flags.get(0, p[0], p[1]), "planted at row " + p[0] + ", column " + p[1]);
        }
    }

    @Test
    void onAGridEachTestedVectorFlagsItsCell() {
        FlowField f = smoothField();
        // A 4x4 patch of wrong vectors on a grid cell: the cell's test vector (its top left) fails.
        for (int y = 40; y < 44; y++) {
            for (int x = 24; x < 28; x++) {
                f.asImage().set(0, y, x, f.u(y, x) - 2f);
            }
        }
        NormalisedMedianTest test = new NormalisedMedianTest(new NormalisedMedianTest.Settings(8, 0.1, 2.0, 4));
        Image flags = test.flag(f);
        assertEquals(16, count(flags));
        assertEquals(1f, flags.get(0, 43, 27));
        // Bands on different threads give the same flags as one pass.
        Image banded = new Image(1, SIZE, SIZE);
        int a = test.flag(f, banded, 0, 40);
        int b = test.flag(f, banded, 40, SIZE);
        assertEquals(16, a + b);
        assertArrayEquals(flags.data(), banded.data());
    }

    @Test
    void medianOfEightIsTheMeanOfTheMiddleTwo() {
        Random rnd = new Random(11);
        for (int k = 0; k < 200; k++) {
            float[] a = new float[8];
            for (int i = 0; i < 8; i++) {
                a[i] = rnd.nextInt(7) - 3 + (float) rnd.nextGaussian(); // with ties now and then
            }
            float[] sorted = a.clone();
            Arrays.sort(sorted);
            assertEquals(0.5f * (sorted[3] + sorted[4]), NormalisedMedianTest.median8(a), 0f);
            assertArrayEquals(sorted, a, 0f);
        }
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new NormalisedMedianTest.Settings(0, 0.1, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new NormalisedMedianTest.Settings(4, 0, 2, 1));
        assertThrows(IllegalArgumentException.class, () -> new NormalisedMedianTest.Settings(4, 0.1, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> new NormalisedMedianTest.Settings(4, 0.1, 2, 0));
    }
}
