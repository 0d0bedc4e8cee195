package io.fluostream.imaging.denoise;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;

/**
 * Test scenes with a known answer: a clean fluorescence-like image (in photo-electrons) and the raw
 * camera frame a Poisson–Gaussian camera would read from it, from a seeded RNG.
 */
final class SyntheticFrames {

    private SyntheticFrames() {
    }

    /**
     * A clean scene in photo-electrons whose brightest pixel is {@code peak}: a dim background with
     * a gentle gradient (about 5 % of peak), large dim cell bodies, small bright vesicles, thin lines
     * at several angles (filaments) and two sharp-edged shapes (a nucleus-like disc, a rectangle).
     */
    static float[] cleanElectrons(int h, int w, double peak, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] s = new double[h * w];
        double gx = rng.nextDouble(-1, 1);
        double gy = rng.nextDouble(-1, 1);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                s[y * w + x] = 0.065 + 0.015 * (gx * (x - w / 2.0) / w + gy * (y - h / 2.0) / h);
            }
        }
        // Cell bodies: large dim blobs covering a fair part of the field.
        int cells = Math.max(2, h * w / 5000);
        for (int i = 0; i < cells; i++) {
            addBlob(s, h, w, rng.nextDouble(w), rng.nextDouble(h), rng.nextDouble(12, 24), rng.nextDouble(0.3, 0.7));
        }
        // Vesicles: many small bright blobs.
        int vesicles = Math.max(4, h * w / 2000);
        for (int i = 0; i < vesicles; i++) {
            addBlob(s, h, w, rng.nextDouble(w), rng.nextDouble(h), rng.nextDouble(1.2, 3.5), rng.nextDouble(0.3, 0.9));
        }
        // Filaments: lines with a Gaussian cross-section of sigma ~0.8–1.2 px.
        for (int i = 0; i < 4; i++) {
            addLine(s, h, w, rng.nextDouble(w), rng.nextDouble(h), rng.nextDouble(Math.PI),
                    rng.nextDouble(0.8, 1.2), rng.nextDouble(0.3, 0.6));
        }
        // Sharp-edged disc and rectangle.
        double cx = rng.nextDouble(0.25, 0.75) * w;
        double cy = rng.nextDouble(0.25, 0.75) * h;
        double radius = Math.min(h, w) * 0.12;
        int rx0 = (int) (rng.nextDouble(0.1, 0.5) * w);
        int ry0 = (int) (rng.nextDouble(0.1, 0.5) * h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (Math.hypot(x - cx, y - cy) < radius) {
                    s[y * w + x] += 0.3;
                }
                if (x >= rx0 && x < rx0 + w / 5 && y >= ry0 && y < ry0 + h / 8) {
                    s[y * w + x] += 0.2;
                }
            }
        }
        double max = 0;
        for (double v : s) {
            max = Math.max(max, v);
        }
        float[] out = new float[h * w];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (s[i] / max * peak);
        }
        return out;
    }

    private static void addBlob(double[] s, int h, int w, double cx, double cy, double sigma, double amp) {
        int r = (int) Math.ceil(4 * sigma);
        for (int y = Math.max(0, (int) cy - r); y < Math.min(h, (int) cy + r + 1); y++) {
            for (int x = Math.max(0, (int) cx - r); x < Math.min(w, (int) cx + r + 1); x++) {
                double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                s[y * w + x] += amp * Math.exp(-d2 / (2 * sigma * sigma));
            }
        }
    }

    private static void addLine(double[] s, int h, int w, double px, double py, double angle, double sigma,
            double amp) {
        double nx = -Math.sin(angle);
        double ny = Math.cos(angle);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double d = (x - px) * nx + (y - py) * ny;
                s[y * w + x] += amp * Math.exp(-d * d / (2 * sigma * sigma));
            }
        }
    }

    /** A multi-channel clean scene, each channel its own layout (seed + channel). */
    static Image cleanScene(int channels, int h, int w, double peak, long seed) {
        Image img = new Image(channels, h, w);
        for (int c = 0; c < channels; c++) {
            System.arraycopy(cleanElectrons(h, w, peak, seed + 7919L * c), 0, img.data(), img.planeOffset(c),
                    h * w);
        }
        return img;
    }

    /** {@code electrons × gain}: the clean offset-free image in ADU. */
    static Image toAdu(Image electrons, double gain) {
        Image out = electrons.copy();
        float[] d = out.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (d[i] * gain);
        }
        return out;
    }

    /**
     * The raw frame: {@code offset + gain·Poisson(electrons) + N(0, readSigmaAdu²)}, rounded to
     * integer ADU like a camera (rounding adds 1/12 ADU² to the read variance).
     */
    static Image camera(Image electrons, double gain, double readSigmaAdu, double offset, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] e = electrons.data();
        float[] raw = new float[e.length];
        for (int i = 0; i < e.length; i++) {
            double v = offset + gain * poisson(rng, e[i]) + readSigmaAdu * gaussian(rng);
            raw[i] = (float) Math.rint(v);
        }
        return new Image(electrons.channels(), electrons.height(), electrons.width(), raw);
    }

    /** Poisson sample by inversion of the CDF (exact; O(λ) steps, fine for λ up to a few hundred). */
    static int poisson(SplittableRandom rng, double lambda) {
        if (lambda <= 0) {
            return 0;
        }
        if (lambda > 500) {
            return (int) Math.max(0, Math.rint(lambda + Math.sqrt(lambda) * gaussian(rng)));
        }
        double u = rng.nextDouble();
        double p = Math.exp(-lambda);
        double cdf = p;
        int k = 0;
        while (u > cdf && p > 0) {
            k++;
            p *= lambda / k;
            cdf += p;
        }
        return k;
    }

    static double gaussian(SplittableRandom rng) {
        // Box–Muller; one of the pair is enough for tests.
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
