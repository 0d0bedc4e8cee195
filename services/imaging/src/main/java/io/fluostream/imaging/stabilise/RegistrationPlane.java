package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;

/**
 * The single plane a frame is registered on: one channel or the sum of all channels, summed over
 * {@code bin × bin} blocks of pixels.
 *
 * <p>Why bin: at the sampling of a diffraction-limited microscope (PSF σ of 1–2 px) the image
 * holds little above a quarter of the sampling frequency, so a 2 × 2 binned copy keeps nearly all of
 * the information about position while the transforms cost a quarter; and each binned pixel
 * collects four times the photons, which helps at low light. A shift of s binned pixels is a shift
 * of bin·s pixels of the frame (binned pixel k covers frame pixels [bin·k, bin·k + bin)). Rows
 * and columns beyond the last whole block are left out.
 */
public final class RegistrationPlane {

    /** Shorter side, px, that automatic binning keeps the plane at or above. */
    static final int AUTO_MIN_SIDE = 256;
    /** Largest automatic binning: coarser blocks would blur diffraction-limited detail. */
    static final int AUTO_MAX_BIN = 4;

    private RegistrationPlane() {
    }

    /**
     * The binning factor for a frame: {@code requested} if ≥ 1, else (0 = auto) the largest power
     * of two, at most {@value #AUTO_MAX_BIN}, that keeps the shorter side at or above
     * {@value #AUTO_MIN_SIDE} px (1 for frames smaller than that). Never so coarse that the plane
     * would have fewer than 16 px on a side.
     */
    public static int binning(int requested, int height, int width) {
        int side = Math.min(height, width);
        if (requested >= 1) {
            return Math.max(1, Math.min(requested, side / 16));
        }
        int bin = 1;
        while (bin < AUTO_MAX_BIN && side / (2 * bin) >= AUTO_MIN_SIDE) {
            bin *= 2;
        }
        return bin;
    }

    /**
     * Writes into {@code out} (1 × ⌊H/bin⌋ × ⌊W/bin⌋) the block sums of channel {@code channel}
     * of {@code frame}, or of the sum of its channels if {@code channel < 0}.
     *
     * @param workers team that splits the rows between its threads, or null
     * @throws IllegalArgumentException if the channel does not exist or {@code out} has the wrong shape
     */
    public static void reduce(Image frame, int channel, int bin, Image out, Workers workers) {
        if (channel >= frame.channels()) {
            throw new IllegalArgumentException("registration channel " + channel + " does not exist in a frame of "
                    + frame.channels() + " channels; use -1 (sum of channels) or a channel below " + frame.channels());
        }
        int h = frame.height() / bin;
        int w = frame.width() / bin;
        if (bin < 1 || out.channels() != 1 || out.height() != h || out.width() != w) {
            throw new IllegalArgumentException("registration plane " + out + " must be 1x" + h + "x" + w + " for "
                    + frame + " binned " + bin + "x" + bin);
        }
        int first = channel < 0 ? 0 : channel;
        int last = channel < 0 ? frame.channels() - 1 : channel;
        int parts = workers == null ? 1 : workers.count();
        java.util.function.IntConsumer body = p -> reduceRows(frame, first, last, bin, out,
                Workers.start(p, parts, h, 1), Workers.end(p, parts, h, 1));
        if (workers == null) {
            body.accept(0);
        } else {
            workers.run(body);
        }
    }

    /** A new plane of the right shape for {@link #reduce}. */
    public static Image allocate(Image frame, int bin) {
        return new Image(1, frame.height() / bin, frame.width() / bin);
    }

    private static void reduceRows(Image frame, int first, int last, int bin, Image out, int y0, int y1) {
        float[] src = frame.data();
        float[] dst = out.data();
        int fw = frame.width();
        int w = out.width();
        int plane = frame.planeSize();
        for (int y = y0; y < y1; y++) {
            int o = y * w;
            java.util.Arrays.fill(dst, o, o + w, 0f);
            for (int c = first; c <= last; c++) {
                for (int i = 0; i < bin; i++) {
                    int row = c * plane + (y * bin + i) * fw;
                    if (bin == 1) {
                        for (int x = 0; x < w; x++) {
                            dst[o + x] += src[row + x];
                        }
                    } else if (bin == 2) {
                        for (int x = 0; x < w; x++) {
                            dst[o + x] += src[row + 2 * x] + src[row + 2 * x + 1];
                        }
                    } else {
                        for (int x = 0; x < w; x++) {
                            float s = 0;
                            int r = row + x * bin;
                            for (int j = 0; j < bin; j++) {
                                s += src[r + j];
                            }
                            dst[o + x] += s;
                        }
                    }
                }
            }
        }
    }
}
