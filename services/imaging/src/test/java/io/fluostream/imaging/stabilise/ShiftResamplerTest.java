package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import org.junit.jupiter.api.Test;

/**
 * Known answers for the translation: exact sample moves for whole-pixel shifts, and for sub-pixel
 * shifts the analytic scene rendered at the shifted position ({@link Scenes}).
 */
class ShiftResamplerTest {

    private static final int H = 96;
    private static final int W = 112;

    private final ShiftResampler resampler = new ShiftResampler();

    /** A whole-pixel shift only moves samples: the interpolating spline reproduces them (float rounding). */
    @Test
    void wholePixelShiftMovesSamplesExactly() {
        Image in = Scenes.noise(1, H, W, 1000);
        Image out = resampler.resample(in, 3, -2);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int sy = y - 2;
                int sx = x + 3;
                float expected = sy >= 0 && sx < W ? in.get(0, sy, sx) : 0f;
                assertEquals(expected, out.get(0, y, x), 2e-3, "at y=" + y + ", x=" + x); // 2e-6 of 1000
            }
        }
        assertEquals(0, Images.rmse(in, resampler.resample(in, 0, 0)), 2e-3);
    }

    /**
     * Sub-pixel shifts against the scene rendered exactly at the shifted position. The residual is
     * the interpolation error, measured two ways: as RMS relative to the scene's contrast, and as
     * the apparent extra displacement (least squares along the scene's gradient), which must stay
     * below 0.01 px — the brief's consistency bound.
     */
    @Test
    void subPixelShiftMatchesTheExactlyShiftedScene() {
        Scenes.Blob[] blobs = Scenes.blobs(4, H, W, 30, 0.02);
        Image scene = Scenes.render(blobs, H, W, 0, 0, 100, 10);
        double[][] shifts = {{0.37, -0.81}, {0.5, 0.5}, {-0.25, 0.125}, {20.6, -11.3}};
        for (double[] d : shifts) {
            Image out = resampler.resample(scene, d[0], d[1]);
            // out(p) = scene(p + d): the scene's content moved by −d.
            Image truth = Scenes.render(blobs, H, W, -d[0], -d[1], 100, 10);
            Image gx = gradient(blobs, -d[0], -d[1], true);
            Image gy = gradient(blobs, -d[0], -d[1], false);
            int margin = 4;
            int x0 = Math.max(0, (int) Math.ceil(-d[0])) + margin;
            int x1 = Math.min(W, (int) Math.floor(W - d[0])) - margin;
            int y0 = Math.max(0, (int) Math.ceil(-d[1])) + margin;
            int y1 = Math.min(H, (int) Math.floor(H - d[1])) - margin;
            double[] apparent = displacement(out, truth, gx, gy, x0, x1, y0, y1);
            double relative = rms(out, truth, x0, x1, y0, y1) / contrast(truth, x0, x1, y0, y1);
            System.out.printf("shift (%.3f, %.3f): RMS error %.4f of contrast, apparent displacement (%.5f, %.5f) px%n",
                    d[0], d[1], relative, apparent[0], apparent[1]);
            assertTrue(Math.abs(apparent[0]) < 0.01 && Math.abs(apparent[1]) < 0.01,
                    "apparent displacement " + apparent[0] + ", " + apparent[1]);
            // Cubic B-spline error on blobs of σ ≥ 1.2 px: measured ≤ 3e-4 of the contrast.
            assertTrue(relative < 2e-3, "RMS error " + relative + " of contrast");
        }
    }

    /** Shift by d then by −d: the interior comes back; the loss is the spline's smoothing, twice. */
    @Test
    void roundTripReproducesTheInterior() {
        Image scene = Scenes.render(Scenes.blobs(6, H, W, 30, 0.02), H, W, 0, 0, 100, 10);
        double dx = 7.43;
        double dy = -3.61;
        Image back = resampler.resample(resampler.resample(scene, dx, dy), -dx, -dy);
        // Pixels p whose content survived both passes: p and p + d inside the field, 4 px from the
        // zeroed margin so the spline's taps and prefilter see only data.
        int x0 = (int) Math.ceil(dx) + 4;
        int x1 = W - 4;
        int y0 = 4;
        int y1 = H + (int) Math.floor(dy) - 4;
        double relative = rms(back, scene, x0, x1, y0, y1) / contrast(scene, x0, x1, y0, y1);
        System.out.printf("round trip (%.2f, %.2f): RMS error %.4f of contrast%n", dx, dy, relative);
        // Measured 4e-4: about twice the one-way error of the test above.
        assertTrue(relative < 4e-3, "round-trip RMS error " + relative + " of contrast");
        double[] apparent = displacement(back, scene, gradient(Scenes.blobs(6, H, W, 30, 0.02), 0, 0, true),
                gradient(Scenes.blobs(6, H, W, 30, 0.02), 0, 0, false), x0, x1, y0, y1);
        assertTrue(Math.abs(apparent[0]) < 0.01 && Math.abs(apparent[1]) < 0.01,
                "round trip moved the content by " + apparent[0] + ", " + apparent[1]);
    }

    /** Output whose source p + d lies more than half a pixel outside the pixel centres is 0. */
    @Test
    void pixelsWhoseSourceIsOutsideTheFieldAreZero() {
        float[] ones = new float[H * W];
        java.util.Arrays.fill(ones, 1f);
        Image in = new Image(1, H, W, ones);
        double dx = 10.3;
        double dy = -5.6;
        Image out = resampler.resample(in, dx, dy);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double sx = x + dx;
                double sy = y + dy;
                boolean inside = sx >= -0.5 && sx < W - 0.5 && sy >= -0.5 && sy < H - 0.5;
                // Inside, a constant image stays constant (the spline reproduces constants).
                assertEquals(inside ? 1f : 0f, out.get(0, y, x), 1e-5, "at y=" + y + ", x=" + x);
            }
        }
        // x + 10.3 < 111.5 ⇔ x ≤ 101; y − 5.6 ≥ −0.5 ⇔ y ≥ 6 (5.1 px rows lost, the 6th pixel's centre maps to 0.4)
        assertEquals(1f, out.get(0, 6, 101), 1e-5);
        assertEquals(0f, out.get(0, 5, 101));
        assertEquals(0f, out.get(0, 6, 102));
        assertEquals(0, Images.mean(resampler.resample(in, 2.0 * W, 0)));
    }

    /** The same translation for every channel; it is linear and keeps constants. */
    @Test
    void everyChannelIsTranslatedAlike() {
        Image a = Scenes.render(Scenes.blobs(9, H, W, 30, 0.02), H, W, 0, 0, 100, 10);
        Image b = new Image(1, H, W);
        for (int i = 0; i < H * W; i++) {
            b.data()[i] = 3 * a.data()[i] + 5;
        }
        Image out = resampler.resample(Images.stack(a, b), 2.71, -1.41);
        Image single = resampler.resample(a, 2.71, -1.41);
        for (int y = 2; y < H; y++) {
            for (int x = 0; x < W - 4; x++) {
                assertEquals(single.get(0, y, x), out.get(0, y, x), 1e-4);
                assertEquals(3 * out.get(0, y, x) + 5, out.get(1, y, x), 1e-3); // float rounding of ~300
            }
        }
    }

    /** Thin and odd shapes, where the prefilter's boundary handling has the least room. */
    @Test
    void handlesThinAndOddShapes() {
        for (int[] shape : new int[][] {{1, 1}, {1, 9}, {9, 1}, {2, 3}, {5, 7}, {31, 17}}) {
            int h = shape[0];
            int w = shape[1];
            Image in = Scenes.noise(h * 100 + w, h, w, 10);
            assertEquals(0, Images.rmse(in, resampler.resample(in, 0, 0)), 1e-5, h + "x" + w);
            Image moved = resampler.resample(in, w > 1 ? 1 : 0, 0);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x + 1 < w; x++) {
                    assertEquals(in.get(0, y, x + 1), moved.get(0, y, x), 1e-5, h + "x" + w);
                }
            }
            resampler.resample(in, 0.4, -0.3); // runs, same shape
        }
    }

    /** End to end: estimate the drift of a frame, correct it, and get the reference back. */
    @Test
    void correctingAnEstimatedShiftRestoresTheReference() {
        Scenes.Blob[] blobs = Scenes.blobs(12, H, W, 30, 0.02);
        Image reference = Scenes.render(blobs, H, W, 0, 0, 100, 10);
        Image frame = Scenes.render(blobs, H, W, -6.37, 9.82, 100, 10);
        Shift shift = new PhaseCorrelator(H, W).estimate(reference, frame);
        Image corrected = resampler.correct(frame, shift);
        // Valid where p + d lies in the frame: x ∈ [6.37, W), y ∈ [0, H − 9.82); 4 px margin.
        int x0 = 11;
        int x1 = W - 4;
        int y0 = 4;
        int y1 = H - 10 - 4;
        double relative = rms(corrected, reference, x0, x1, y0, y1) / contrast(reference, x0, x1, y0, y1);
        System.out.printf("estimated %s, corrected frame off by %.4f of contrast%n", shift, relative);
        // The estimate is within ~0.01 px, worth ~2e-3 of contrast on these blobs; 1 px off is ~0.1.
        assertTrue(relative < 5e-3, "corrected frame differs by " + relative + " of contrast");
    }

    @Test
    void rejectsBadInput() {
        Image in = new Image(2, 8, 9);
        assertThrows(IllegalArgumentException.class, () -> resampler.resample(in, Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> resampler.resample(in, 0, Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> resampler.resample(in, 0, 0, new Image(1, 8, 9)));
        assertThrows(IllegalArgumentException.class, () -> resampler.resample(in, 0.5, 0, in));
    }

    /** ∂scene/∂x (or y) of the scene translated by (dx, dy), by central differences of the analytic render. */
    private static Image gradient(Scenes.Blob[] blobs, double dx, double dy, boolean alongX) {
        double h = 1e-3;
        Image plus = Scenes.render(blobs, H, W, dx - (alongX ? h : 0), dy - (alongX ? 0 : h), 100, 10);
        Image minus = Scenes.render(blobs, H, W, dx + (alongX ? h : 0), dy + (alongX ? 0 : h), 100, 10);
        Image g = new Image(1, H, W);
        for (int i = 0; i < H * W; i++) {
            // Moving the content by −h samples the scene at p + h: the derivative along +x.
            g.data()[i] = (float) ((plus.data()[i] - (double) minus.data()[i]) / (2 * h));
        }
        return g;
    }

    /**
     * The displacement e minimising Σ (out − truth − e·∇truth)² over the box: how far out's
     * content sits from truth's, along +x/+y of the sampling position (out(p) ≈ truth(p + e)).
     */
    private static double[] displacement(Image out, Image truth, Image gx, Image gy, int x0, int x1, int y0, int y1) {
        double sxx = 0;
        double sxy = 0;
        double syy = 0;
        double bx = 0;
        double by = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                double r = out.get(0, y, x) - (double) truth.get(0, y, x);
                double a = gx.get(0, y, x);
                double b = gy.get(0, y, x);
                sxx += a * a;
                sxy += a * b;
                syy += b * b;
                bx += a * r;
                by += b * r;
            }
        }
        double det = sxx * syy - sxy * sxy;
        return new double[] {(syy * bx - sxy * by) / det, (sxx * by - sxy * bx) / det};
    }

    private static double rms(Image a, Image b, int x0, int x1, int y0, int y1) {
        double s = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                double d = a.get(0, y, x) - (double) b.get(0, y, x);
                s += d * d;
            }
        }
        return Math.sqrt(s / ((double) (x1 - x0) * (y1 - y0)));
    }

    /** Max − min over the box: the scale the relative errors are quoted against. */
    private static double contrast(Image a, int x0, int x1, int y0, int y1) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                lo = Math.min(lo, a.get(0, y, x));
                hi = Math.max(hi, a.get(0, y, x));
            }
        }
        return hi - lo;
    }
}
