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
        final double[] wx = new double[4];
        final double[] wy = new double[4];

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

    /** One output row: each pixel's spline value at its source point x + u, y + v. */
    private static void warpRow(float[][] c, int h, int w, int y, Rows r, float[] dst, int o, byte[] valid) {
        double[] wx = r.wx;
        double[] wy = r.wy;
        for (int x = 0; x < w; x++) {
            double sx = x + r.u[x];
            double sy = y + r.v[x];
            if (!(sx >= -0.5 && sx < w - 0.5 && sy >= -0.5 && sy < h - 0.5)) {
                dst[o + x] = 0f;
                if (valid != null) {
                    valid[y * w + x] = 0;
                }
                continue;
            }
            double fx = Math.floor(sx);
            double fy = Math.floor(sy);
            CubicBSpline.weights(sx - fx, wx, 0);
            CubicBSpline.weights(sy - fy, wy, 0);
            int ix = (int) fx;
            int iy = (int) fy;
            // Taps at floor − 1 … floor + 2; only near an edge do they need mirroring.
            boolean inside = ix >= 1 && ix + 2 < w && iy >= 1 && iy + 2 < h;
            double sum = 0;
            for (int j = 0; j < 4; j++) {
                float[] row = c[inside ? iy - 1 + j : CubicBSpline.mirror(iy - 1 + j, h)];
                double acc;
                if (inside) {
                    int k = ix - 1;
                    acc = wx[0] * row[k] + wx[1] * row[k + 1] + wx[2] * row[k + 2] + wx[3] * row[k + 3];
                } else {
                    acc = 0;
                    for (int i = 0; i < 4; i++) {
                        acc += wx[i] * row[CubicBSpline.mirror(ix - 1 + i, w)];
                    }
                }
                sum += wy[j] * acc;
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
