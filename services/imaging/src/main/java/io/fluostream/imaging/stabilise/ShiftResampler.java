package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.VectorApi;

/**
 * Translates every channel of an image by a sub-pixel amount with cubic B-spline interpolation:
 * out(p) = in(p + d), which undoes a {@link Shift} d estimated by {@link PhaseCorrelator}.
 *
 * <p>Why B-splines: the interpolating cubic B-spline (samples prefiltered into spline
 * coefficients, Unser 1999) passes through the samples like Catmull-Rom but blurs far less: at a
 * half-pixel shift it keeps 97 % of the amplitude at half the Nyquist frequency where Catmull-Rom
 * keeps 88 %.
 *
 * <p><b>How.</b> Because d is the same for every pixel, the spline's value at p + d is a fixed
 * linear combination of the samples around p. Along x it is applied as the spline's cardinal
 * kernel η(t − j) (η = the prefilter's inverse √3·(√3 − 2)^|k| convolved with the cubic
 * B-spline), which decays as 0.268^|k|: {@value #REACH} taps beyond the B-spline's four leave out
 * weights summing to less than 10⁻⁵ (below the quantum of a 16-bit camera at full scale). Along y
 * the classical way is cheaper: the prefilter's recursion down the columns, then four taps. Both
 * passes are multiply-adds over whole rows held as separate arrays ({@code float[y][x]}), run as
 * SIMD code by {@link VectorRows} where the JVM has the Vector API.
 *
 * <p><b>Boundaries.</b> The image is extended by mirroring about its edge pixels. Output pixels
 * whose source p + d lies outside the sensor area — more than half a pixel beyond the outermost
 * pixel centres, i.e. outside [−0.5, W − 0.5) × [−0.5, H − 0.5) — are set to 0: the margin the
 * drift uncovered has no data. Downstream stages should treat those zeros as "not measured".
 *
 * <p>An instance owns scratch buffers (grown to the largest plane seen): it is <b>not
 * thread-safe</b>; use one per thread. Given a {@link Workers} team, each pass is split into row
 * ranges between its threads; the result does not depend on it.
 */
public final class ShiftResampler {

    /** Taps of the cardinal kernel kept on each side beyond the B-spline's own support. */
    static final int REACH = 7;
    /** Taps per axis: offsets j in [−REACH − 1, REACH + 2] from floor(p + d). */
    private static final int TAPS = 2 * REACH + 4;

    /** Row passes on the Vector API ({@link VectorRows}): same answers, to the bit. */
    static final boolean VECTOR = VectorApi.present();

    private final Workers workers; // null: single-threaded
    private final int parts;
    private float[][] rowPass = new float[0][0]; // the x pass, then its spline coefficients along y
    private final float[][] padded; // per part: one mirrored input row
    private final float[][] tap; // per part: that row moved by one tap
    private final float[][] acc; // per part: a row being summed
    private final float[] kernelX = new float[TAPS];
    private final double[] wy = new double[4];

    public ShiftResampler() {
        this(null);
    }

    /** @param workers team that splits the passes between its threads, or null for the caller only */
    public ShiftResampler(Workers workers) {
        this.workers = workers;
        this.parts = workers == null ? 1 : workers.count();
        this.padded = new float[parts][0];
        this.tap = new float[parts][0];
        this.acc = new float[parts][0];
    }

    /** A new image: {@code in} translated so that out(p) = in(p + (dx, dy)). */
    public Image resample(Image in, double dx, double dy) {
        Image out = new Image(in.channels(), in.height(), in.width());
        resample(in, dx, dy, out);
        return out;
    }

    /** Undoes {@code shift}: the frame resampled onto the reference's grid. */
    public Image correct(Image frame, Shift shift) {
        return resample(frame, shift.dx(), shift.dy());
    }

    /**
     * The output pixels that {@link #resample} fills from data for a shift (dx, dy) on an h × w
     * plane, {x0, x1, y0, y1} (ends exclusive): those whose source p + d lies within
     * [−0.5, w − 0.5) × [−0.5, h − 0.5). Every other output pixel is 0.
     */
    public static int[] validRegion(int h, int w, double dx, double dy) {
        return new int[] {
            clamp((int) Math.ceil(-0.5 - dx), w),
            clamp((int) Math.ceil(w - 0.5 - dx), w),
            clamp((int) Math.ceil(-0.5 - dy), h),
            clamp((int) Math.ceil(h - 0.5 - dy), h),
        };
    }

    /**
     * Writes {@code in} translated into {@code out} (same shape, not the same image):
     * out(c, y, x) = in(c, y + dy, x + dx), 0 where that lies outside the sensor area.
     *
     * @param dx shift along x (columns), pixels, finite
     * @param dy shift along y (rows), pixels, finite
     */
    public void resample(Image in, double dx, double dy, Image out) {
        if (!in.sameShape(out)) {
            throw new IllegalArgumentException("output " + out + " must have the input's shape " + in);
        }
        if (in == out || in.data() == out.data()) {
            throw new IllegalArgumentException("resampling cannot run in place; give a separate output image");
        }
        if (!Double.isFinite(dx) || !Double.isFinite(dy)) {
            throw new IllegalArgumentException("shift must be finite, got (" + dx + ", " + dy + ")");
        }
        int h = in.height();
        int w = in.width();
        int n = h * w;
        rowPass = CubicBSpline.rows(rowPass, h, w);
        for (int p = 0; p < parts; p++) {
            if (acc[p].length < w + TAPS) {
                padded[p] = new float[w + TAPS];
                tap[p] = new float[w + TAPS];
                acc[p] = new float[w + TAPS];
            }
        }
        double fx = Math.floor(dx);
        double fy = Math.floor(dy);
        cardinalKernel(dx - fx, kernelX);
        CubicBSpline.weights(dy - fy, wy, 0);
        // The column recursion leaves out the prefilter's gain: put it in the y taps (a single
        // row is its own spline: no recursion, no gain).
        double gain = h > 1 ? CubicBSpline.GAIN : 1;
        float wy0 = (float) (gain * wy[0]);
        float wy1 = (float) (gain * wy[1]);
        float wy2 = (float) (gain * wy[2]);
        float wy3 = (float) (gain * wy[3]);
        int[] valid = validRegion(h, w, dx, dy);
        int x0 = valid[0];
        int x1 = valid[1];
        int y0 = valid[2];
        int y1 = valid[3];
        long ix = (long) fx;
        long iy = (long) fy;
        int span = x1 - x0;
        float[] src = in.data();
        float[] dst = out.data();
        float[][] r = rowPass;
        for (int ch = 0; ch < in.channels(); ch++) {
            int off = ch * n;
            if (x0 >= x1 || y0 >= y1) {
                java.util.Arrays.fill(dst, off, off + n, 0f);
                continue;
            }
            java.util.Arrays.fill(dst, off, off + y0 * w, 0f);
            java.util.Arrays.fill(dst, off + y1 * w, off + n, 0f);
            // Along x, every row (the y pass reads rows anywhere in the plane).
            parallel(p -> {
                float[] pad = padded[p];
                float[] shifted = tap[p];
                float[] sum = acc[p];
                for (int y = Workers.start(p, parts, h, 1); y < Workers.end(p, parts, h, 1); y++) {
                    int base = off + y * w;
                    // pad[i] = in(x0 + ix − REACH − 1 + i), mirrored at the edges.
                    long first = x0 + ix - REACH - 1;
                    int length = span + TAPS - 1;
                    // The run inside the row is a block copy; only the ends are mirrored.
                    int inStart = (int) Math.max(0, Math.min(length, -first));
                    int inEnd = (int) Math.max(inStart, Math.min(length, w - first));
                    if (inEnd > inStart) {
                        System.arraycopy(src, (int) (base + first + inStart), pad, inStart, inEnd - inStart);
                    }
                    for (int i = 0; i < inStart; i++) {
                        pad[i] = src[base + CubicBSpline.mirror(first + i, w)];
                    }
                    for (int i = inEnd; i < length; i++) {
                        pad[i] = src[base + CubicBSpline.mirror(first + i, w)];
                    }
                    if (VECTOR) {
                        VectorRows.taps(pad, kernelX, TAPS, sum, span);
                    } else {
                        java.util.Arrays.fill(sum, 0, span, 0f);
                        for (int j = 0; j < TAPS; j++) {
                            float kj = kernelX[j];
                            System.arraycopy(pad, j, shifted, 0, span);
                            for (int x = 0; x < span; x++) {
                                sum[x] += kj * shifted[x];
                            }
                        }
                    }
                    System.arraycopy(sum, 0, r[y], x0, span);
                }
            });
            // Along y, by column ranges: the spline recursion down the columns, then four taps.
            parallel(p -> {
                int xa = x0 + Workers.start(p, parts, span, 16);
                int xb = x0 + Workers.end(p, parts, span, 16);
                if (xa >= xb) {
                    return;
                }
                float[] row = acc[p];
                CubicBSpline.filterColumns(r, h, xa, xb, row);
                for (int y = y0; y < y1; y++) {
                    float[] r0 = r[CubicBSpline.mirror(y + iy - 1, h)];
                    float[] r1 = r[CubicBSpline.mirror(y + iy, h)];
                    float[] r2 = r[CubicBSpline.mirror(y + iy + 1, h)];
                    float[] r3 = r[CubicBSpline.mirror(y + iy + 2, h)];
                    if (VECTOR) {
                        VectorRows.fourRows(r0, r1, r2, r3, wy0, wy1, wy2, wy3, row, xa, xb);
                    } else {
                        for (int x = xa; x < xb; x++) {
                            row[x] = wy0 * r0[x] + wy1 * r1[x] + wy2 * r2[x] + wy3 * r3[x];
                        }
                    }
                    int o = off + y * w;
                    System.arraycopy(row, xa, dst, o + xa, xb - xa);
                    if (xa == x0) {
                        java.util.Arrays.fill(dst, o, o + x0, 0f);
                    }
                    if (xb == x1) {
                        java.util.Arrays.fill(dst, o + x1, o + w, 0f);
                    }
                }
            });
        }
    }

    /**
     * Weights of the samples at offsets j = −REACH − 1 … REACH + 2 from floor(p) for the spline's
     * value at fraction t ∈ [0, 1) past it: η(t − j), η(x) = Σ_m √3·z^|m|·β³(x − m), z = √3 − 2.
     */
    static void cardinalKernel(double t, float[] out) {
        final double z = CubicBSpline.POLE;
        double[] beta = new double[4];
        java.util.Arrays.fill(out, 0f);
        double[] acc = new double[TAPS];
        // β³(t − j − m) is non-zero only for j + m in {−1, 0, 1, 2}, with weights beta[j + m + 1].
        CubicBSpline.weights(t, beta, 0);
        for (int j = -REACH - 1; j <= REACH + 2; j++) {
            double sum = 0;
            for (int q = -1; q <= 2; q++) {
                int m = q - j; // q = j + m
                sum += Math.sqrt(3) * Math.pow(z, Math.abs(m)) * beta[q + 1];
            }
            acc[j + REACH + 1] = sum;
        }
        for (int i = 0; i < TAPS; i++) {
            out[i] = (float) acc[i];
        }
    }

    private void parallel(java.util.function.IntConsumer body) {
        if (workers == null) {
            body.accept(0);
        } else {
            workers.run(body);
        }
    }

    private static int clamp(int v, int len) {
        return Math.max(0, Math.min(len, v));
    }
}
