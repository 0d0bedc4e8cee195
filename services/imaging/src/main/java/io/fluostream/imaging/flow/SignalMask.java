package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * Which pixels of a frame carry signal, so flow figures are averaged where the flow is measured
 * and not over empty background (where the estimator reports 0 or a value filled in from
 * neighbours).
 *
 * <p>The rule ({@link #fromIntensity}): smooth the intensity with a σ = 1 px Gaussian (so
 * single-photon noise does not speckle the mask), take the robust maximum as the 99th percentile
 * of the smoothed values, and keep pixels whose smoothed intensity exceeds
 * {@code fraction × robust max}; then drop a border of {@code borderMargin} pixels, where content
 * enters or leaves the field of view and the flow is not observable.
 */
public final class SignalMask {

    /** Default fraction of the robust maximum above which a pixel has signal. */
    public static final double DEFAULT_FRACTION = 0.1;
    /** The percentile taken as the robust maximum. */
    public static final double ROBUST_MAX_PERCENTILE = 99.0;

    private static final int HISTOGRAM_BINS = 4096;

    private final int height;
    private final int width;
    private final boolean[] inside;
    private final int count;

    private SignalMask(int height, int width, boolean[] inside) {
        this.height = height;
        this.width = width;
        this.inside = inside;
        int c = 0;
        for (boolean b : inside) {
            if (b) {
                c++;
            }
        }
        this.count = c;
    }

    /** Every pixel. */
    public static SignalMask all(int height, int width) {
        return interior(height, width, 0);
    }

    /** Every pixel at least {@code margin} pixels from the edge. */
    public static SignalMask interior(int height, int width, int margin) {
        requireShape(height, width);
        if (margin < 0) {
            throw new IllegalArgumentException("border margin must be >= 0, got " + margin);
        }
        boolean[] in = new boolean[height * width];
        for (int y = margin; y < height - margin; y++) {
            for (int x = margin; x < width - margin; x++) {
                in[y * width + x] = true;
            }
        }
        return new SignalMask(height, width, in);
    }

    /** Pixels with signal by the class's rule, at the default fraction, with no border margin. */
    public static SignalMask fromIntensity(Image intensity) {
        return fromIntensity(intensity, DEFAULT_FRACTION, 0);
    }

    /**
     * Pixels of a single-channel, offset-free intensity image whose smoothed value exceeds
     * {@code fraction} of the robust maximum, at least {@code borderMargin} pixels from the edge.
     * An image with no positive signal gives an empty mask.
     */
    public static SignalMask fromIntensity(Image intensity, double fraction, int borderMargin) {
        if (intensity.channels() != 1) {
            throw new IllegalArgumentException("signal mask needs a single-channel intensity image, got " + intensity
                    + " (sum the label channels first)");
        }
        if (!(fraction >= 0 && fraction < 1)) {
            throw new IllegalArgumentException("signal fraction must be in [0, 1), got " + fraction);
        }
        float[] data = intensity.data();
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite(data[i])) {
                throw new IllegalArgumentException("intensity has a non-finite sample " + data[i] + " at row "
                        + (i / intensity.width()) + ", column " + (i % intensity.width()));
            }
        }
        int h = intensity.height();
        int w = intensity.width();
        SignalMask border = interior(h, w, borderMargin);
        float[] smooth = new SeparableGaussian(1.0).apply(intensity.data(), h, w);
        double robustMax = percentile(smooth, ROBUST_MAX_PERCENTILE);
        boolean[] in = new boolean[h * w];
        if (robustMax > 0 && Double.isFinite(robustMax)) {
            double threshold = fraction * robustMax;
            for (int i = 0; i < in.length; i++) {
                in[i] = border.inside[i] && smooth[i] > threshold;
            }
        }
        return new SignalMask(h, w, in);
    }

    /** Pixels in both masks. */
    public SignalMask and(SignalMask other) {
        if (other.height != height || other.width != width) {
            throw new IllegalArgumentException("mask shapes differ: " + height + "x" + width + " vs "
                    + other.height + "x" + other.width);
        }
        boolean[] in = new boolean[inside.length];
        for (int i = 0; i < in.length; i++) {
            in[i] = inside[i] && other.inside[i];
        }
        return new SignalMask(height, width, in);
    }

    /** Mean of a single-channel plane of the mask's shape over the mask's pixels; 0 for an empty mask. */
    public double mean(Image plane) {
        if (plane.channels() != 1 || plane.height() != height || plane.width() != width) {
            throw new IllegalArgumentException("plane " + plane + " does not match mask " + height + "x" + width);
        }
        float[] values = plane.data();
        double sum = 0;
        for (int i = 0; i < values.length; i++) {
            if (inside[i]) {
                sum += values[i];
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Number of pixels in the mask. */
    public int count() {
        return count;
    }

    public boolean contains(int y, int x) {
        return inside[y * width + x];
    }

    /** Whether the pixel at plane index {@code i = y·width + x} is in the mask. */
    public boolean contains(int i) {
        return inside[i];
    }

    /**
     * The {@code p}-th percentile of {@code values} from a histogram over [min, max]: one pass, no
     * sort, exact to within (max − min)/4096, which is ample for a threshold.
     */
    static double percentile(float[] values, double p) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (!(max > min)) {
            return max;
        }
        int[] hist = new int[HISTOGRAM_BINS];
        double scale = HISTOGRAM_BINS / ((double) max - min);
        for (float v : values) {
            int b = (int) ((v - min) * scale);
            hist[Math.min(b, HISTOGRAM_BINS - 1)]++;
        }
        long target = (long) Math.ceil(p / 100.0 * values.length);
        long seen = 0;
        for (int b = 0; b < HISTOGRAM_BINS; b++) {
            seen += hist[b];
            if (seen >= target) {
                return min + (b + 1) / scale;
            }
        }
        return max;
    }

    private static void requireShape(int height, int width) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("mask shape must be positive, got " + height + "x" + width);
        }
    }
}
