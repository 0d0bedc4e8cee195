package io.fluostream.imaging.fft;

/**
 * In-place 2-D discrete Fourier transform of a {@code height × width} complex plane stored
 * row-major in split format ({@code re[y*width + x]}, {@code im[...]}): rows, then columns.
 *
 * <p>Same sign and scaling as {@link ComplexFft}: forward unscaled with kernel exp(−2πi·…),
 * inverse scaled by 1/(height·width). Any positive sizes work.
 *
 * <p>Columns are transformed in strips of 32 by the batched {@link ComplexFft#forward(double[],
 * double[], int, int)}: unit-stride inner loops, a cache-sized working set, no transposition.
 *
 * <p>An instance owns scratch buffers for its shape: it is not thread-safe; use one per thread.
 */
public final class ComplexFft2d {

    private final int height;
    private final int width;
    /** Columns per strip: the strip (H × 32 complex, ping-pong) stays in L2 for H up to ~2000. */
    private static final int STRIP = 32;
    /** Rows transformed together by {@link #forwardRows} on the Vector API path: one vector of doubles or more. */
    private static final int ROW_BATCH = 8;

    private final ComplexFft rows;
    private final ComplexFft columns;
    private final double[] stripRe;
    private final double[] stripIm;

    public ComplexFft2d(int height, int width) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("2-D FFT shape must be positive, got " + height + "x" + width);
        }
        this.height = height;
        this.width = width;
        this.rows = new ComplexFft(width);
        this.columns = new ComplexFft(height);
        int strip = Math.max(height * Math.min(STRIP, width), width * (ComplexFft.VECTOR_PASSES ? ROW_BATCH : 1));
        this.stripRe = new double[strip];
        this.stripIm = new double[strip];
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public void forward(double[] re, double[] im) {
        check(re, im);
        forwardRows(re, im, 0, height);
        forwardColumns(re, im, 0, width);
    }

    public void inverse(double[] re, double[] im) {
        check(re, im);
        inverseRows(re, im, 0, height);
        inverseColumns(re, im, 0, width);
    }

    /**
     * Inverse transform of a Hermitian spectrum (the spectrum of a real plane), about half the
     * work of {@link #inverse}: the real result is written to {@code re}; {@code im} is
     * overwritten as scratch. Only the columns kx ≤ W/2 are read; the others are taken to be the
     * conjugate mirror images, as they are for a real plane.
     */
    public void inverseReal(double[] re, double[] im) {
        check(re, im);
        inverseColumns(re, im, 0, width / 2 + 1);
        inverseRealRows(re, im, 0, height);
    }

    // Range steps: a transform is its row step over all rows, then its column step over all
    // columns (forward), or columns then rows (inverse). Disjoint ranges of one step may run on
    // different threads, each with its own instance (an instance's scratch is not shared).

    /**
     * Forward 1-D transforms of rows [y0, y1). With the Vector API passes, {@value #ROW_BATCH}
     * rows at a time are laid side by side (element k of row t at k·{@value #ROW_BATCH} + t) and
     * transformed as one batch: a single row's first passes have runs of 1 and 4 elements, too
     * short for vectors; interleaved, every pass runs on whole vectors, which repays the two
     * copies.
     */
    public void forwardRows(double[] re, double[] im, int y0, int y1) {
        check(re, im);
        int y = y0;
        if (ComplexFft.VECTOR_PASSES) {
            for (; y + ROW_BATCH <= y1; y += ROW_BATCH) {
                interleaveRows(re, im, y);
                rows.forward(stripRe, stripIm, 0, ROW_BATCH);
                deinterleaveRows(re, im, y);
            }
        }
        for (; y < y1; y++) {
            rows.forward(re, im, y * width);
        }
    }

    /** strip[k·ROW_BATCH + t] = row y + t at k, for t &lt; ROW_BATCH. */
    private void interleaveRows(double[] re, double[] im, int y) {
        for (int t = 0; t < ROW_BATCH; t++) {
            int row = (y + t) * width;
            for (int k = 0; k < width; k++) {
                stripRe[k * ROW_BATCH + t] = re[row + k];
                stripIm[k * ROW_BATCH + t] = im[row + k];
            }
        }
    }

    private void deinterleaveRows(double[] re, double[] im, int y) {
        for (int t = 0; t < ROW_BATCH; t++) {
            int row = (y + t) * width;
            for (int k = 0; k < width; k++) {
                re[row + k] = stripRe[k * ROW_BATCH + t];
                im[row + k] = stripIm[k * ROW_BATCH + t];
            }
        }
    }

    /** Inverse (scaled) 1-D transforms of rows [y0, y1). */
    public void inverseRows(double[] re, double[] im, int y0, int y1) {
        check(re, im);
        for (int y = y0; y < y1; y++) {
            rows.inverse(re, im, y * width);
        }
    }

    /** Forward 1-D transforms of columns [x0, x1). */
    public void forwardColumns(double[] re, double[] im, int x0, int x1) {
        check(re, im);
        columnPass(re, im, false, x0, x1);
    }

    /** Inverse (scaled) 1-D transforms of columns [x0, x1). */
    public void inverseColumns(double[] re, double[] im, int x0, int x1) {
        check(re, im);
        columnPass(re, im, true, x0, x1);
    }

    /**
     * Row step of {@link #inverseReal} for rows [y0, y1), y0 even, after {@link #inverseColumns}
     * over the columns [0, W/2]: each row is then the Hermitian spectrum of a real row, so the
     * inverses of two rows a, b are done as one complex transform of A + i·B, whose result is
     * a + i·b. The real rows are written to {@code re}.
     */
    public void inverseRealRows(double[] re, double[] im, int y0, int y1) {
        check(re, im);
        if ((y0 & 1) != 0) {
            throw new IllegalArgumentException("inverseRealRows pairs rows: start at an even row, got " + y0);
        }
        int half = width / 2;
        // Pairs side by side (element kx of pair t at kx·batch + t), one batched transform per
        // group: with the Vector API passes ROW_BATCH pairs, as in forwardRows.
        int batch = ComplexFft.VECTOR_PASSES ? ROW_BATCH : 1;
        for (int y = y0; y < y1; y += 2 * batch) {
            int count = Math.min(batch, (y1 - y + 1) / 2);
            for (int t = 0; t < count; t++) {
                int a = (y + 2 * t) * width;
                boolean pair = y + 2 * t + 1 < y1;
                int b = a + width;
                for (int kx = 0; kx < width; kx++) {
                    // Row spectra A, B at kx, from their stored half by conjugate symmetry.
                    int k = kx <= half ? kx : width - kx;
                    double sign = kx <= half ? 1 : -1;
                    double ar = re[a + k];
                    double ai = sign * im[a + k];
                    double br = pair ? re[b + k] : 0;
                    double bi = pair ? sign * im[b + k] : 0;
                    stripRe[kx * count + t] = ar - bi;
                    stripIm[kx * count + t] = ai + br;
                }
            }
            rows.inverse(stripRe, stripIm, 0, count);
            for (int t = 0; t < count; t++) {
                int a = (y + 2 * t) * width;
                boolean pair = y + 2 * t + 1 < y1;
                for (int x = 0; x < width; x++) {
                    re[a + x] = stripRe[x * count + t];
                    if (pair) {
                        re[a + width + x] = stripIm[x * count + t];
                    }
                }
            }
        }
    }

    /**
     * Transforms the columns [x0, x1) a strip at a time: the strip's rows are copied side by side
     * (contiguous runs, cheap), then all its columns go through one batched transform.
     */
    private void columnPass(double[] re, double[] im, boolean inverse, int x0, int x1) {
        for (int s0 = x0; s0 < x1; s0 += STRIP) {
            int b = Math.min(STRIP, x1 - s0);
            for (int y = 0; y < height; y++) {
                System.arraycopy(re, y * width + s0, stripRe, y * b, b);
                System.arraycopy(im, y * width + s0, stripIm, y * b, b);
            }
            if (inverse) {
                columns.inverse(stripRe, stripIm, 0, b);
            } else {
                columns.forward(stripRe, stripIm, 0, b);
            }
            for (int y = 0; y < height; y++) {
                System.arraycopy(stripRe, y * b, re, y * width + s0, b);
                System.arraycopy(stripIm, y * b, im, y * width + s0, b);
            }
        }
    }

    private void check(double[] re, double[] im) {
        int n = height * width;
        if (re.length != n || im.length != n) {
            throw new IllegalArgumentException("expected planes of " + height + "x" + width + " = " + n
                    + " samples, got " + re.length + "/" + im.length);
        }
    }
}
