package io.fluostream.cli.bench;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.fft.ComplexFft2d;

/**
 * The benchmark's baseline: plain phase correlation (Kuglin &amp; Hines 1975) of each frame's
 * channel sum against the first frame's, with no window, no band limit and no sub-pixel
 * refinement: the integer position of the peak of the inverse transform of F·conj(G)/|F·conj(G)|.
 * The correction is an integer translation. Uses the project's FFT, so the speed comparison is
 * about the method, not the transform. One thread; not thread-safe.
 */
final class BenchStabiliseBaseline {

    private final int height;
    private final int width;
    private final ComplexFft2d fft;
    private final double[] re;
    private final double[] im;
    private double[] templateRe;
    private double[] templateIm;

    BenchStabiliseBaseline(int height, int width) {
        this.height = height;
        this.width = width;
        this.fft = new ComplexFft2d(height, width);
        this.re = new double[height * width];
        this.im = new double[height * width];
    }

    /** The integer shift {dx, dy} of {@code frame} against the first frame registered ({0, 0} for that one). */
    int[] register(Image frame) {
        int n = height * width;
        float[] d = frame.data();
        for (int i = 0; i < n; i++) {
            double v = d[i];
            for (int c = 1; c < frame.channels(); c++) {
                v += d[c * n + i];
            }
            re[i] = v;
            im[i] = 0;
        }
        fft.forward(re, im);
        if (templateRe == null) {
            templateRe = re.clone();
            templateIm = im.clone();
            return new int[] {0, 0};
        }
        for (int i = 0; i < n; i++) {
            double xr = re[i] * templateRe[i] + im[i] * templateIm[i];
            double xi = im[i] * templateRe[i] - re[i] * templateIm[i];
            double mag = Math.hypot(xr, xi);
            re[i] = mag > 0 ? xr / mag : 0;
            im[i] = mag > 0 ? xi / mag : 0;
        }
        fft.inverseReal(re, im);
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (re[i] > re[best]) {
                best = i;
            }
        }
        int y = best / width;
        int x = best % width;
        return new int[] {x > width / 2 ? x - width : x, y > height / 2 ? y - height : y};
    }

    /** out(c, y, x) = in(c, y + dy, x + dx), 0 outside: the baseline's correction. */
    static void translate(Image in, int dx, int dy, Image out) {
        int h = in.height();
        int w = in.width();
        float[] src = in.data();
        float[] dst = out.data();
        java.util.Arrays.fill(dst, 0f);
        int x0 = Math.max(0, -dx);
        int x1 = Math.min(w, w - dx);
        for (int c = 0; c < in.channels(); c++) {
            int off = c * h * w;
            for (int y = Math.max(0, -dy); y < Math.min(h, h - dy); y++) {
                if (x1 > x0) {
                    System.arraycopy(src, off + (y + dy) * w + x0 + dx, dst, off + y * w + x0, x1 - x0);
                }
            }
        }
    }
}
