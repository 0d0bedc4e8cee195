package io.fluostream.imaging.fft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Checks the FFTs against a direct O(n²) DFT. Tolerance: 1e-9 of the spectrum's largest magnitude;
 * in double precision an O(n log n) FFT of these lengths is accurate to ~1e-14, a wrong twiddle or
 * index is off by O(1), so the margin separates the two by many orders of magnitude.
 */
class ComplexFftTest {

    private static final double TOLERANCE = 1e-9;

    /** Every code path: 1, radix 2/4, 3, 5, 7, generic primes ≤ 31, Bluestein primes > 31, mixes. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 25, 31, 37, 60, 97, 121, 250, 300, 331, 512, 1000})
    void forwardMatchesTheDirectDft(int n) {
        SplittableRandom rng = new SplittableRandom(n);
        double[] re = random(rng, n);
        double[] im = random(rng, n);
        double[][] expected = naiveDft(re, im, -1);
        new ComplexFft(n).forward(re, im);
        assertClose(expected[0], expected[1], re, im);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 6, 13, 64, 81, 250, 331})
    void inverseUndoesForward(int n) {
        SplittableRandom rng = new SplittableRandom(31 * n);
        double[] re = random(rng, n);
        double[] im = random(rng, n);
        double[] re0 = re.clone();
        double[] im0 = im.clone();
        ComplexFft fft = new ComplexFft(n);
        fft.forward(re, im);
        fft.inverse(re, im);
        assertArrayEquals(re0, re, 1e-12);
        assertArrayEquals(im0, im, 1e-12);
    }

    /** Interleaved sequences (element k of sequence t at k·batch + t), incl. the Bluestein path. */
    @ParameterizedTest
    @ValueSource(ints = {12, 37})
    void batchedTransformsEqualOneAtATime(int n) {
        int batch = 5;
        SplittableRandom rng = new SplittableRandom(n + 1);
        double[] re = random(rng, n * batch);
        double[] im = random(rng, n * batch);
        double[] re0 = re.clone();
        double[] im0 = im.clone();
        ComplexFft fft = new ComplexFft(n);
        fft.forward(re, im, 0, batch);
        for (int t = 0; t < batch; t++) {
            double[] sr = new double[n];
            double[] si = new double[n];
            for (int k = 0; k < n; k++) {
                sr[k] = re0[k * batch + t];
                si[k] = im0[k * batch + t];
            }
            double[][] expected = naiveDft(sr, si, -1);
            double[] gotRe = new double[n];
            double[] gotIm = new double[n];
            for (int k = 0; k < n; k++) {
                gotRe[k] = re[k * batch + t];
                gotIm[k] = im[k * batch + t];
            }
            assertClose(expected[0], expected[1], gotRe, gotIm);
        }
        fft.inverse(re, im, 0, batch);
        assertArrayEquals(re0, re, 1e-12);
        assertArrayEquals(im0, im, 1e-12);
    }

    /**
     * The Vector API passes do the scalar passes' operations in the same order, element for
     * element, so the two paths agree exactly — at every vector/tail split: runs shorter than a
     * vector, a whole number of vectors, and vectors plus a tail (batches 1, 3, 8, 37), radix-4
     * and radix-2 stages, and Bluestein (whose inner transform is radix 2/4). Surefire starts the
     * JVM with the incubator module, so the vector path exists here.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 8, 16, 64, 128, 256, 512, 2048, 96, 37})
    void vectorPassesAgreeExactlyWithTheScalarPasses(int n) {
        assertTrue(ComplexFft.VECTOR_PASSES, "tests run with --add-modules jdk.incubator.vector");
        for (int batch : new int[] {1, 3, 8, 37}) {
            SplittableRandom rng = new SplittableRandom(n * 131L + batch);
            double[] re = random(rng, n * batch);
            double[] im = random(rng, n * batch);
            double[] vRe = re.clone();
            double[] vIm = im.clone();
            new ComplexFft(n, false).forward(re, im, 0, batch);
            new ComplexFft(n, true).forward(vRe, vIm, 0, batch);
            assertArrayEquals(re, vRe, 0.0, "forward re, n " + n + " batch " + batch);
            assertArrayEquals(im, vIm, 0.0, "forward im, n " + n + " batch " + batch);
            new ComplexFft(n, false).inverse(re, im, 0, batch);
            new ComplexFft(n, true).inverse(vRe, vIm, 0, batch);
            assertArrayEquals(re, vRe, 0.0, "inverse re, n " + n + " batch " + batch);
            assertArrayEquals(im, vIm, 0.0, "inverse im, n " + n + " batch " + batch);
        }
    }

    @Test
    void transformsAtAnOffsetLeaveTheRestAlone() {
        int n = 10;
        SplittableRandom rng = new SplittableRandom(7);
        double[] re = random(rng, 3 * n);
        double[] im = random(rng, 3 * n);
        double[] re0 = re.clone();
        double[][] expected = naiveDft(java.util.Arrays.copyOfRange(re, n, 2 * n),
                java.util.Arrays.copyOfRange(im, n, 2 * n), -1);
        new ComplexFft(n).forward(re, im, n);
        assertClose(expected[0], expected[1], java.util.Arrays.copyOfRange(re, n, 2 * n),
                java.util.Arrays.copyOfRange(im, n, 2 * n));
        assertArrayEquals(java.util.Arrays.copyOfRange(re0, 0, n), java.util.Arrays.copyOfRange(re, 0, n));
        assertArrayEquals(java.util.Arrays.copyOfRange(re0, 2 * n, 3 * n), java.util.Arrays.copyOfRange(re, 2 * n, 3 * n));
    }

    /** Rectangular, odd and prime-sized planes against a direct 2-D DFT. */
    @ParameterizedTest
    @ValueSource(strings = {"1x1", "1x7", "9x15", "12x35", "37x8", "25x30"})
    void twoDimensionalForwardAndInverseMatchTheDirectDft(String shape) {
        String[] hw = shape.split("x");
        int h = Integer.parseInt(hw[0]);
        int w = Integer.parseInt(hw[1]);
        SplittableRandom rng = new SplittableRandom(h * 1000L + w);
        double[] re = random(rng, h * w);
        double[] im = random(rng, h * w);
        double[] re0 = re.clone();
        double[] im0 = im.clone();
        double[][] expected = naiveDft2d(re, im, h, w);
        ComplexFft2d fft = new ComplexFft2d(h, w);
        fft.forward(re, im);
        assertClose(expected[0], expected[1], re, im);
        fft.inverse(re, im);
        assertArrayEquals(re0, re, 1e-12);
        assertArrayEquals(im0, im, 1e-12);
    }

    /** The Hermitian inverse equals the real part of the full inverse (the imaginary part is ~0). */
    @ParameterizedTest
    @ValueSource(strings = {"1x1", "1x6", "7x1", "8x8", "9x15", "12x35", "37x8", "25x30", "64x64"})
    void realInverseOfAHermitianSpectrumMatchesTheFullInverse(String shape) {
        String[] hw = shape.split("x");
        int h = Integer.parseInt(hw[0]);
        int w = Integer.parseInt(hw[1]);
        SplittableRandom rng = new SplittableRandom(h * 7919L + w);
        double[] re = random(rng, h * w);
        double[] im = new double[h * w];
        ComplexFft2d fft = new ComplexFft2d(h, w);
        fft.forward(re, im); // spectrum of a real plane: Hermitian
        double[] fullRe = re.clone();
        double[] fullIm = im.clone();
        fft.inverse(fullRe, fullIm);
        fft.inverseReal(re, im);
        assertArrayEquals(fullRe, re, 1e-12);
    }

    @Test
    void rejectsBadLengthsAndArrays() {
        assertThrows(IllegalArgumentException.class, () -> new ComplexFft(0));
        assertThrows(IllegalArgumentException.class, () -> new ComplexFft2d(3, 0));
        assertThrows(IllegalArgumentException.class, () -> new ComplexFft(8).forward(new double[7], new double[8]));
        assertThrows(IllegalArgumentException.class, () -> new ComplexFft2d(2, 3).forward(new double[6], new double[5]));
    }

    @Test
    void factorsPutFoursFirst() {
        assertArrayEquals(new int[] {4, 4, 2, 3, 5}, ComplexFft.factor(480));
        assertArrayEquals(new int[] {2, 5, 5, 5}, ComplexFft.factor(250));
        assertArrayEquals(new int[] {331}, ComplexFft.factor(331));
    }

    static double[] random(SplittableRandom rng, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextDouble(-1, 1);
        }
        return a;
    }

    /** Direct DFT with kernel exp(sign·2πi·jk/n), angles reduced mod n so large n stays exact. */
    static double[][] naiveDft(double[] re, double[] im, int sign) {
        int n = re.length;
        double[] outRe = new double[n];
        double[] outIm = new double[n];
        for (int k = 0; k < n; k++) {
            double sr = 0;
            double si = 0;
            for (int j = 0; j < n; j++) {
                double a = sign * 2 * Math.PI * (((long) j * k) % n) / n;
                double c = Math.cos(a);
                double s = Math.sin(a);
                sr += re[j] * c - im[j] * s;
                si += re[j] * s + im[j] * c;
            }
            outRe[k] = sr;
            outIm[k] = si;
        }
        return new double[][] {outRe, outIm};
    }

    static double[][] naiveDft2d(double[] re, double[] im, int h, int w) {
        double[] outRe = new double[h * w];
        double[] outIm = new double[h * w];
        for (int ky = 0; ky < h; ky++) {
            for (int kx = 0; kx < w; kx++) {
                double sr = 0;
                double si = 0;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        double a = -2 * Math.PI * ((double) ((long) y * ky % h) / h + (double) ((long) x * kx % w) / w);
                        double c = Math.cos(a);
                        double s = Math.sin(a);
                        int i = y * w + x;
                        sr += re[i] * c - im[i] * s;
                        si += re[i] * s + im[i] * c;
                    }
                }
                outRe[ky * w + kx] = sr;
                outIm[ky * w + kx] = si;
            }
        }
        return new double[][] {outRe, outIm};
    }

    private static void assertClose(double[] expRe, double[] expIm, double[] re, double[] im) {
        double scale = 0;
        for (int i = 0; i < expRe.length; i++) {
            scale = Math.max(scale, Math.hypot(expRe[i], expIm[i]));
        }
        double worst = 0;
        for (int i = 0; i < expRe.length; i++) {
            worst = Math.max(worst, Math.hypot(expRe[i] - re[i], expIm[i] - im[i]));
        }
        assertTrue(worst <= TOLERANCE * scale, "max error " + worst + " vs scale " + scale);
        assertEquals(expRe.length, re.length);
    }
}
