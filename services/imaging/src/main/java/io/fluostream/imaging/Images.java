package io.fluostream.imaging;

/** Factory and measurement helpers for {@link Image}s that every kernel and test shares. */
public final class Images {

    private Images() {
    }

    /** Stacks single-channel (or multi-channel) images along the channel axis. */
    public static Image stack(Image... planes) {
        int h = planes[0].height();
        int w = planes[0].width();
        int c = 0;
        for (Image p : planes) {
            if (p.height() != h || p.width() != w) {
                throw new IllegalArgumentException("cannot stack " + p + " with " + planes[0]);
            }
            c += p.channels();
        }
        Image out = new Image(c, h, w);
        int off = 0;
        for (Image p : planes) {
            System.arraycopy(p.data(), 0, out.data(), off, p.data().length);
            off += p.data().length;
        }
        return out;
    }

    /** Sum over channels, one plane out: the total intensity a registration or flow kernel tracks. */
    public static Image sumChannels(Image in) {
        int n = in.planeSize();
        float[] out = new float[n];
        float[] d = in.data();
        for (int c = 0; c < in.channels(); c++) {
            int off = c * n;
            for (int i = 0; i < n; i++) {
                out[i] += d[off + i];
            }
        }
        return new Image(1, in.height(), in.width(), out);
    }

    /** Mean of all samples. */
    public static double mean(Image in) {
        double s = 0;
        for (float v : in.data()) {
            s += v;
        }
        return s / in.data().length;
    }

    /** Sum of squared differences over all samples. */
    public static double sumSquaredDifference(Image a, Image b) {
        requireSameShape(a, b);
        double s = 0;
        float[] x = a.data();
        float[] y = b.data();
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - y[i];
            s += d * d;
        }
        return s;
    }

    /** Root-mean-square difference over all samples. */
    public static double rmse(Image a, Image b) {
        return Math.sqrt(sumSquaredDifference(a, b) / a.data().length);
    }

    /**
     * Peak signal-to-noise ratio of {@code estimate} against {@code truth}, in dB, with the peak
     * taken as the truth's maximum (fluorescence images have no fixed white level).
     */
    public static double psnr(Image truth, Image estimate) {
        double peak = Double.NEGATIVE_INFINITY;
        for (float v : truth.data()) {
            peak = Math.max(peak, v);
        }
        double rmse = rmse(truth, estimate);
        return 20 * Math.log10(peak / rmse);
    }

    public static void requireSameShape(Image a, Image b) {
        if (!a.sameShape(b)) {
            throw new IllegalArgumentException("shape mismatch: " + a + " vs " + b);
        }
    }
}
