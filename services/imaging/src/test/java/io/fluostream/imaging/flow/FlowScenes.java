package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import java.util.Random;

/**
 * Test scenes with an exactly known flow: an analytic texture of Gaussian blobs is rendered at
 * every pixel (no interpolation), once as it is and once moved by a smooth motion, and the true
 * forward flow is solved for numerically to ~1e-9 px.
 *
 * <p>A motion is given as its backward map on the second frame: the content at {@code q} in the
 * second frame came from {@code q − m(q)} in the first. The forward flow at pixel {@code p} of the
 * first frame is then {@code f(p) = q* − p} with {@code q* = p + m(q*)}, which fixed-point iteration
 * solves because every motion here has {@code |∇m| < 0.2}.
 */
final class FlowScenes {

    private FlowScenes() {
    }

    /** The backward displacement {@code m(q)} at second-frame position {@code (x, y)}. */
    interface Motion {
        void displacement(double x, double y, double[] out);
    }

    /** A texture: blob centres, widths and amplitudes. */
    record Blobs(double[] x, double[] y, double[] sigma, double[] amplitude) {
    }

    /** A rendered pair of frames and the exact forward flow between them. */
    record Scene(Image previous, Image next, FlowField truth) {
    }

    /**
     * Random blobs of σ in [1.5, 3.5] px and amplitude in [0.3, 1], one per {@code areaPerBlob}
     * px² on average, over the frame plus a margin so content can move in from outside.
     */
    static Blobs randomBlobs(long seed, int height, int width, double areaPerBlob) {
        Random rnd = new Random(seed);
        int margin = 16;
        int count = (int) Math.round((height + 2.0 * margin) * (width + 2.0 * margin) / areaPerBlob);
        double[] bx = new double[count];
        double[] by = new double[count];
        double[] s = new double[count];
        double[] a = new double[count];
        for (int k = 0; k < count; k++) {
            bx[k] = -margin + rnd.nextDouble() * (width + 2.0 * margin);
            by[k] = -margin + rnd.nextDouble() * (height + 2.0 * margin);
            s[k] = 1.5 + 2.0 * rnd.nextDouble();
            a[k] = 0.3 + 0.7 * rnd.nextDouble();
        }
        return new Blobs(bx, by, s, a);
    }

    /** A translation by {@code (dx, dy)} px. */
    static Motion translation(double dx, double dy) {
        return (x, y, out) -> {
            out[0] = dx;
            out[1] = dy;
        };
    }

    /** A rigid rotation by {@code omega} rad/frame about {@code (cx, cy)}; positive = clockwise on screen. */
    static Motion rotation(double omega, double cx, double cy) {
        double cos = Math.cos(omega);
        double sin = Math.sin(omega);
        return (x, y, out) -> {
            // Source position: rotate back by -omega.
            double rx = x - cx;
            double ry = y - cy;
            double sx = cx + cos * rx + sin * ry;
            double sy = cy - sin * rx + cos * ry;
            out[0] = x - sx;
            out[1] = y - sy;
        };
    }

    /**
     * A smooth vortex: tangential displacement {@code peak · (r/s)·exp(½ − r²/2s²)}, which is
     * {@code peak} px at radius {@code s} and fades to 0 far away.
     */
    static Motion vortex(double peak, double s, double cx, double cy) {
        return (x, y, out) -> {
            double rx = x - cx;
            double ry = y - cy;
            double g = peak / s * Math.exp(0.5 - (rx * rx + ry * ry) / (2 * s * s));
            out[0] = -g * ry;
            out[1] = g * rx;
        };
    }

    /** A smooth source: radial displacement {@code peak · (r/s)·exp(½ − r²/2s²)} (outward). */
    static Motion source(double peak, double s, double cx, double cy) {
        return (x, y, out) -> {
            double rx = x - cx;
            double ry = y - cy;
            double g = peak / s * Math.exp(0.5 - (rx * rx + ry * ry) / (2 * s * s));
            out[0] = g * rx;
            out[1] = g * ry;
        };
    }

    /** Renders the first frame, the moved second frame and the exact forward flow; peak intensity ~1. */
    static Scene render(Blobs blobs, Motion motion, int height, int width) {
        int n = height * width;
        // Source position of every second-frame pixel.
        double[] sx = new double[n];
        double[] sy = new double[n];
        double[] m = new double[2];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                motion.displacement(x, y, m);
                sx[y * width + x] = x - m[0];
                sy[y * width + x] = y - m[1];
            }
        }
        double[] identityX = new double[n];
        double[] identityY = new double[n];
        for (int i = 0; i < n; i++) {
            identityX[i] = i % width;
            identityY[i] = i / width;
        }
        float[] first = new float[n];
        float[] second = new float[n];
        for (int k = 0; k < blobs.x().length; k++) {
            splat(blobs, k, blobs.x()[k], blobs.y()[k], identityX, identityY, first, height, width);
            // Where the blob's centre lands in the second frame: q = c + m(q).
            double qx = blobs.x()[k];
            double qy = blobs.y()[k];
            for (int it = 0; it < 30; it++) {
                motion.displacement(qx, qy, m);
                qx = blobs.x()[k] + m[0];
                qy = blobs.y()[k] + m[1];
            }
            splat(blobs, k, qx, qy, sx, sy, second, height, width);
        }
        float[] flow = new float[2 * n];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double qx = x;
                double qy = y;
                for (int it = 0; it < 40; it++) {
                    motion.displacement(qx, qy, m);
                    qx = x + m[0];
                    qy = y + m[1];
                }
                flow[y * width + x] = (float) (qx - x);
                flow[n + y * width + x] = (float) (qy - y);
            }
        }
        return new Scene(new Image(1, height, width, first), new Image(1, height, width, second),
                new FlowField(new Image(2, height, width, flow)));
    }

    /**
     * Adds blob k to the pixels around {@code (cx, cy)} (6σ + 2 px box), evaluating the blob at
     * each pixel's source position.
     */
    private static void splat(Blobs blobs, int k, double cx, double cy, double[] srcX, double[] srcY,
                              float[] out, int height, int width) {
        double s = blobs.sigma()[k];
        double a = blobs.amplitude()[k];
        double bx = blobs.x()[k];
        double by = blobs.y()[k];
        int r = (int) Math.ceil(6 * s) + 2;
        int x0 = Math.max((int) Math.floor(cx) - r, 0);
        int x1 = Math.min((int) Math.ceil(cx) + r, width - 1);
        int y0 = Math.max((int) Math.floor(cy) - r, 0);
        int y1 = Math.min((int) Math.ceil(cy) + r, height - 1);
        double inv = 1.0 / (2 * s * s);
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                int i = y * width + x;
                double dx = srcX[i] - bx;
                double dy = srcY[i] - by;
                out[i] += (float) (a * Math.exp(-(dx * dx + dy * dy) * inv));
            }
        }
    }

    /** A Poisson-noise copy of {@code clean} scaled so its maximum is {@code peakPhotons}. */
    static Image poisson(Image clean, double peakPhotons, long seed) {
        float max = 0;
        for (float v : clean.data()) {
            max = Math.max(max, v);
        }
        Random rnd = new Random(seed);
        float[] d = clean.data();
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = poissonSample(rnd, d[i] / max * peakPhotons);
        }
        return new Image(1, clean.height(), clean.width(), out);
    }

    /** Knuth's product-of-uniforms sampler: exact, and fast enough for means up to ~50. */
    private static int poissonSample(Random rnd, double mean) {
        if (mean <= 0) {
            return 0;
        }
        double limit = Math.exp(-mean);
        double p = 1;
        int k = -1;
        do {
            k++;
            p *= rnd.nextDouble();
        } while (p > limit);
        return k;
    }
}
