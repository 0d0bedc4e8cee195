package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;

/**
 * One stream's registration template and what a {@link Stabiliser} remembers between its frames:
 * the template image (the frame's channels, or a single registration plane), where it came from,
 * how many frames its running mean holds, the transforms prepared from it, and the last trusted
 * correction (for {@link StabiliseSettings.LowConfidencePolicy#HOLD}).
 *
 * <p>Empty at first: the stream's next frame becomes the template. Mutable and not thread-safe:
 * one stream's frames are registered one at a time.
 */
public final class StreamTemplate {

    private Image image;
    private long sequence = -1;
    private boolean fromUser;
    private int averaged;
    private int foldedSincePrepare;
    private boolean changed;
    private long version;

    // Prepared from the template by the stabiliser; rebuilt when version or geometry changes.
    Prepared prepared;
    Shift lastGoodShift;
    DisplacementField lastGoodField;

    /** Transforms of the template, for one geometry (binning, channel, patches). */
    record Prepared(long version, int bin, int channel, int patch, int stride, ReferenceSpectrum rigid,
            PatchCorrelator.PatchTemplate patches) {
    }

    /** The template image, or null while the stream has none. */
    public Image image() {
        return image;
    }

    /** Sequence number of the frame the template was started (or, for a running mean, last refreshed) from. */
    public long sequence() {
        return sequence;
    }

    /** Whether the template is a reference the user installed. */
    public boolean fromUser() {
        return fromUser;
    }

    /** Frames the running mean holds (1 for a first frame or a user reference). */
    public int averaged() {
        return averaged;
    }

    /**
     * Makes {@code reference} the template (the stabiliser keeps and may update this image: pass a
     * copy if you keep using it). Its height and width must match the stream's frames, and its
     * channels the frames' channels, or be 1 (then it is the registration plane itself).
     *
     * @param sequence the frame sequence number it stands for (for a user reference: the next
     *                 frame's), recorded in provenance
     * @param fromUser true for a reference the user installed
     */
    public void install(Image reference, long sequence, boolean fromUser) {
        if (reference == null) {
            throw new IllegalArgumentException("a template image is required; use clear() to drop the template");
        }
        this.image = reference;
        this.sequence = sequence;
        this.fromUser = fromUser;
        this.averaged = 1;
        this.foldedSincePrepare = 0;
        this.changed = true;
        this.version++;
        this.lastGoodShift = null;
        this.lastGoodField = null;
    }

    /** Drops the template (and the last trusted correction): the stream's next frame becomes the new one. */
    public void clear() {
        image = null;
        sequence = -1;
        fromUser = false;
        averaged = 0;
        foldedSincePrepare = 0;
        version++;
        prepared = null;
        lastGoodShift = null;
        lastGoodField = null;
    }

    /**
     * True once after the template image changed in a way worth persisting (started, installed or
     * a running-mean refresh), then false until it changes again.
     */
    public boolean takeChanged() {
        boolean c = changed;
        changed = false;
        return c;
    }

    long version() {
        return version;
    }

    /**
     * Folds a registered frame into the running mean, on the pixels that hold data:
     * T ← T + (R − T)/min(k + 1, N). Every {@code refresh} folds the template counts as changed
     * (re-prepared for registration, persisted by the stage).
     *
     * @param valid the output rectangle {x0, x1, y0, y1} with data (rigid), or null
     * @param mask  per pixel 1 where the output holds data (piecewise), or null
     */
    void fold(Image registered, int[] valid, byte[] mask, int frames, int refresh, long frameSequence) {
        averaged = Math.min(averaged + 1, frames);
        float alpha = 1f / averaged;
        float[] t = image.data();
        float[] r = registered.data();
        int h = image.height();
        int w = image.width();
        int n = h * w;
        int x0 = valid == null ? 0 : valid[0];
        int x1 = valid == null ? w : valid[1];
        int y0 = valid == null ? 0 : valid[2];
        int y1 = valid == null ? h : valid[3];
        for (int c = 0; c < image.channels(); c++) {
            int off = c * n;
            for (int y = y0; y < y1; y++) {
                int row = off + y * w;
                int m = y * w;
                for (int x = x0; x < x1; x++) {
                    if (mask == null || mask[m + x] != 0) {
                        t[row + x] += alpha * (r[row + x] - t[row + x]);
                    }
                }
            }
        }
        if (++foldedSincePrepare >= refresh) {
            foldedSincePrepare = 0;
            sequence = frameSequence;
            changed = true;
            version++;
        }
    }

    /** Sets the running-mean count after a restart, when only the template image was kept. */
    public void restoreAveraged(int frames) {
        if (image != null) {
            averaged = Math.max(1, frames);
        }
    }
}
