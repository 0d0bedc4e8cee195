package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;

/**
 * Warps every channel of an image by a smooth {@link DisplacementField} with cubic B-spline
 * interpolation: out(p) = in(p + d(p)), which undoes a non-rigid motion d measured by
 * piecewise-rigid registration, the same way {@link ShiftResampler} undoes a rigid shift.
 *
 * <p>Each channel is prefiltered into spline coefficients once (as in {@link ShiftResampler}); then
 * every output pixel evaluates the spline at its own source point from 4 × 4 coefficients, with
 * the field computed row by row from the patch grid. Sources outside the sensor area (beyond half
 * a pixel past the outermost pixel centres) give 0: no data there.
 *
 * <p>Not thread-safe; with a {@link Workers} team the rows are split between its threads.
 */
public final class FieldResampler {

    private final Workers workers;
    private final int parts;
    private float[][] coefficients = new float[0][0];
    private final Rows[] rows;

    /** Per-thread row buffers. */
    private static final class Rows {
        double[] u = new double[0];
        double[] v = new double[0];
        double[] scratch = new double[0];
        float[] columns = new float[0];
        float[] fractionX = new float[64]; // VectorWarp scratch: at least a vector of floats
        float[] fractionY = new float[64];

        void ensure(int width, int scratchLength) {
            if (u.length < width) {
                u = new double[width];
                v = new double[width];
                columns = new float[width];
            }
            if (scratch.length < scratchLength) {
                scratch = new double[scratchLength];
            }
        }
    }

    public FieldResampler() {
        this(null);
    }

    /** @param workers team that splits the rows between its threads, or null for the caller only */
    public FieldResampler(Workers workers) {
        this.workers = workers;
        this.parts = workers == null ? 1 : workers.count();
        this.rows = new Rows[parts];
        for (int p = 0; p < parts; p++) {
            rows[p] = new Rows();
        }
    }

    /** A new image: {@code in} warped so that out(p) = in(p + d(p)). */
    public Image resample(Image in, DisplacementField field) {
        Image out = new Image(in.channels(), in.height(), in.width());
        resample(in, field, out, null);
        return out;
    }

    /**
     * Writes {@code in} warped by {@code field} into {@code out} (same shape, not the same image):
     * out(c, p) = in(c, p + d(p)), 0 where that lies outside the sensor area.
     *
     * @param valid if not null (length ≥ H·W), set to 1 where the output holds data, 0 elsewhere
     */
    public void resample(Image in, DisplacementField field, Image out, byte[] valid) {
        if (!in.sameShape(out)) {
            throw new IllegalArgumentException("output " + out + " must have the input's shape " + in);
        }
        if (in == out || in.data() == out.data()) {
            throw new IllegalArgumentException("resampling cannot run in place; give a separate output image");
        }
        int h = in.height();
        int w = in.width();
        if (field.height() != h || field.width() != w) {
            throw new IllegalArgumentException("displacement field " + field.height() + "x" + field.width()
                    + " does not match the image " + in);
        }
        int n = h * w;
        coefficients = CubicBSpline.rows(coefficients, h, w);
        float[][] c = coefficients;
        float[] src = in.data();
        float[] dst = out.data();
        float gain = (float) ((w > 1 ? CubicBSpline.GAIN : 1) * (h > 1 ? CubicBSpline.GAIN : 1));
        for (Rows r : rows) {
            r.ensure(w, field.scratchLength());
        }
        for (int ch = 0; ch < in.channels(); ch++) {
            int off = ch * n;
            boolean markValid = ch == 0 && valid != null;
            // Spline coefficients: along each row, then down the columns.
            parallel(p -> {
                for (int y = Workers.start(p, parts, h, 1); y < Workers.end(p, parts, h, 1); y++) {
                    float[] row = c[y];
                    int base = off + y * w;
                    for (int x = 0; x < w; x++) {
                        row[x] = gain * src[base + x];
                    }
                    CubicBSpline.filterRow(row, w);
                }
            });
            parallel(p -> CubicBSpline.filterColumns(c, h, Workers.start(p, parts, w, 16),
                    Workers.end(p, parts, w, 16), rows[p].columns));
            parallel(p -> {
                Rows r = rows[p];
                for (int y = Workers.start(p, parts, h, 1); y < Workers.end(p, parts, h, 1); y++) {
                    field.row(y, r.u, r.v, r.scratch);
                    warpRow(c, h, w, y, r, dst, off + y * w, markValid ? valid : null);
                }
            });
        }
    }

    /** One output row: each pixel's spline value at its own source point x + u, y + v. */
    private static void warpRow(float[][] c, int h, int w, int y, Rows r, float[] dst, int o, byte[] valid) {
        if (!ShiftResampler.VECTOR) {
            warpPixels(c, h, w, y, r.u, r.v, dst, o, valid, 0, w);
            return;
        }
        // Runs of a vector's length where the field moves the pixels alike; the rest pixel by pixel.
        int lanes = VectorWarp.lanes();
        int x = 0;
        while (x < w) {
            if (x + lanes <= w && VectorWarp.run(c, h, w, y, x, r.u, r.v, dst, o, r.fractionX, r.fractionY)) {
                if (valid != null) {
                    java.util.Arrays.fill(valid, y * w + x, y * w + x + lanes, (byte) 1);
                }
                x += lanes;
            } else {
                int end = Math.min(w, x + lanes);
                warpPixels(c, h, w, y, r.u, r.v, dst, o, valid, x, end);
                x = end;
            }
        }
    }

    /** Output pixels [x0, x1) of row y, one at a time (double arithmetic, any source point). */
    private static void warpPixels(float[][] c, int h, int w, int y, double[] u, double[] v, float[] dst, int o,
            byte[] valid, int x0, int x1) {
        for (int x = x0; x < x1; x++) {
            double sx = x + u[x];
            double sy = y + v[x];
            if (!(sx >= -0.5 && sx < w - 0.5 && sy >= -0.5 && sy < h - 0.5)) {
                dst[o + x] = 0f;
                if (valid != null) {
                    valid[y * w + x] = 0;
                }
                continue;
            }
            int ix = (int) Math.floor(sx);
            int iy = (int) Math.floor(sy);
            // Cubic B-spline weights of the taps at floor − 1 … floor + 2 (as CubicBSpline.weights).
            double t = sx - ix;
            double s = 1 - t;
            double t2 = t * t;
            double s2 = s * s;
            double wx0 = s2 * s / 6;
            double wx1 = 2.0 / 3 - t2 + t2 * t / 2;
            double wx2 = 2.0 / 3 - s2 + s2 * s / 2;
            double wx3 = t2 * t / 6;
            t = sy - iy;
            s = 1 - t;
            t2 = t * t;
            s2 = s * s;
            double wy0 = s2 * s / 6;
            double wy1 = 2.0 / 3 - t2 + t2 * t / 2;
            double wy2 = 2.0 / 3 - s2 + s2 * s / 2;
            double wy3 = t2 * t / 6;
            double sum;
            if (ix >= 1 && ix + 2 < w && iy >= 1 && iy + 2 < h) {
                int k = ix - 1;
                float[] r0 = c[iy - 1];
                float[] r1 = c[iy];
                float[] r2 = c[iy + 1];
                float[] r3 = c[iy + 2];
                sum = wy0 * (wx0 * r0[k] + wx1 * r0[k + 1] + wx2 * r0[k + 2] + wx3 * r0[k + 3])
                        + wy1 * (wx0 * r1[k] + wx1 * r1[k + 1] + wx2 * r1[k + 2] + wx3 * r1[k + 3])
                        + wy2 * (wx0 * r2[k] + wx1 * r2[k + 1] + wx2 * r2[k + 2] + wx3 * r2[k + 3])
                        + wy3 * (wx0 * r3[k] + wx1 * r3[k + 1] + wx2 * r3[k + 2] + wx3 * r3[k + 3]);
            } else {
                // Near an edge the taps are mirrored.
                double[] wxs = {wx0, wx1, wx2, wx3};
                double[] wys = {wy0, wy1, wy2, wy3};
                sum = 0;
                for (int j = 0; j < 4; j++) {
                    float[] row = c[CubicBSpline.mirror(iy - 1 + j, h)];
                    double acc = 0;
                    for (int i = 0; i < 4; i++) {
                        acc += wxs[i] * row[CubicBSpline.mirror(ix - 1 + i, w)];
                    }
                    sum += wys[j] * acc;
                }
            }
            dst[o + x] = (float) sum;
            if (valid != null) {
                valid[y * w + x] = 1;
            }
        }
    }

    private void parallel(java.util.function.IntConsumer body) {
        if (workers == null) {
            body.accept(0);
        } else {
            workers.run(body);
        }
    }
}
