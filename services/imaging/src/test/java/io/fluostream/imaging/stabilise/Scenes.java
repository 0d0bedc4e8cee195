package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import java.util.SplittableRandom;

/**
 * Test scenes whose exact translates are known: a field of Gaussian blobs (puncta and a few
 * cell-sized bodies) rendered analytically, so shifting the scene by any sub-pixel amount is exact,
 * and independent of the FFT under test. Blobs also lie outside the field, so a shifted frame sees
 * new content enter at the edges as a drifting camera does.
 */
final class Scenes {

    /** One Gaussian blob: centre (x, y) in pixels, standard deviation and peak height. */
    record Blob(double x, double y, double sigma, double amplitude) {
    }

    private Scenes() {
    }

    /**
     * Random blobs over the field extended by {@code margin} px on each side: ~{@code density}
     * puncta per px² (σ 1.2–3 px) plus one large body (σ 6–12 px) per 2500 px².
     */
    static Blob[] blobs(long seed, int height, int width, double margin, double density) {
        SplittableRandom rng = new SplittableRandom(seed);
        double areaW = width + 2 * margin;
        double areaH = height + 2 * margin;
        int puncta = (int) Math.round(density * areaW * areaH);
        int bodies = (int) Math.round(areaW * areaH / 2500);
        Blob[] out = new Blob[puncta + bodies];
        for (int i = 0; i < out.length; i++) {
            boolean body = i >= puncta;
            double sigma = body ? rng.nextDouble(6, 12) : rng.nextDouble(1.2, 3);
            double amplitude = body ? rng.nextDouble(0.2, 0.5) : rng.nextDouble(0.3, 1);
            out[i] = new Blob(rng.nextDouble(-margin, width + margin), rng.nextDouble(-margin, height + margin),
                    sigma, amplitude);
        }
        return out;
    }

    /**
     * One channel: {@code background + scale·Σ blobs}, with the scene translated by (dx, dy): the
     * content at p in the untranslated render appears at p + (dx, dy).
     */
    static Image render(Blob[] blobs, int height, int width, double dx, double dy, double scale, double background) {
        float[] data = new float[height * width];
        java.util.Arrays.fill(data, (float) background);
        double[] acc = new double[height * width];
        for (Blob b : blobs) {
            double cx = b.x() + dx;
            double cy = b.y() + dy;
            double reach = 6 * b.sigma();
            int x0 = Math.max(0, (int) Math.floor(cx - reach));
            int x1 = Math.min(width - 1, (int) Math.ceil(cx + reach));
            int y0 = Math.max(0, (int) Math.floor(cy - reach));
            int y1 = Math.min(height - 1, (int) Math.ceil(cy + reach));
            double k = -1 / (2 * b.sigma() * b.sigma());
            for (int y = y0; y <= y1; y++) {
                double ey = Math.exp(k * (y - cy) * (y - cy));
                for (int x = x0; x <= x1; x++) {
                    acc[y * width + x] += b.amplitude() * ey * Math.exp(k * (x - cx) * (x - cx));
                }
            }
        }
        for (int i = 0; i < data.length; i++) {
            data[i] += (float) (scale * acc[i]);
        }
        return new Image(1, height, width, data);
    }

    /** Largest sample of an image. */
    static double max(Image image) {
        double m = Double.NEGATIVE_INFINITY;
        for (float v : image.data()) {
            m = Math.max(m, v);
        }
        return m;
    }

    /** Photon counts: each sample replaced by a Poisson draw with that mean (seeded). */
    static Image poisson(Image mean, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] in = mean.data();
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = poisson(rng, in[i]);
        }
        return new Image(mean.channels(), mean.height(), mean.width(), out);
    }

    private static int poisson(SplittableRandom rng, double lambda) {
        if (lambda > 60) {
            return (int) Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(rng)));
        }
        // Knuth: count uniforms until their product drops below e^−λ.
        double limit = Math.exp(-lambda);
        double p = rng.nextDouble();
        int k = 0;
        while (p > limit) {
            p *= rng.nextDouble();
            k++;
        }
        return k;
    }

    private static double gaussian(SplittableRandom rng) {
        double u = rng.nextDouble();
        double v = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** Uniform random image in [0, 1): content unrelated to any scene. */
    static Image noise(long seed, int height, int width, double scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] d = new float[height * width];
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (scale * rng.nextDouble());
        }
        return new Image(1, height, width, d);
    }
}
