package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.util.function.DoubleBinaryOperator;
import org.junit.jupiter.api.Test;

/** Upsampling of patch shifts to a dense field, and warping by a field. */
class DisplacementFieldTest {

    private static DisplacementField sampled(int h, int w, double[] cx, double[] cy, DoubleBinaryOperator fx,
            DoubleBinaryOperator fy) {
        double[] dx = new double[cx.length * cy.length];
        double[] dy = new double[dx.length];
        for (int r = 0; r < cy.length; r++) {
            for (int c = 0; c < cx.length; c++) {
                dx[r * cx.length + c] = fx.applyAsDouble(cx[c], cy[r]);
                dy[r * cx.length + c] = fy.applyAsDouble(cx[c], cy[r]);
            }
        }
        return new DisplacementField(h, w, cx, cy, dx, dy, new double[dx.length]);
    }

    /**
     * Catmull-Rom reproduces quadratics, and the ghost centres continue the parabola, so a
     * quadratic field sampled at the centres comes back exactly everywhere, edges included.
     */
    @Test
    void quadraticFieldsAreReproducedEverywhere() {
        double[] cx = {20, 60, 100, 140};
        double[] cy = {10, 50, 90};
        DoubleBinaryOperator fx = (x, y) -> 1.5 + 0.02 * x - 0.01 * y + 1e-4 * x * x - 5e-5 * x * y;
        DoubleBinaryOperator fy = (x, y) -> -2 + 0.03 * y + 2e-4 * y * y + 1e-4 * x * y;
        DisplacementField f = sampled(100, 160, cx, cy, fx, fy);
        double[] u = new double[160];
        double[] v = new double[160];
        double[] scratch = new double[f.scratchLength()];
        for (int y = 0; y < 100; y++) {
            f.row(y, u, v, scratch);
            for (int x = 0; x < 160; x++) {
                assertEquals(fx.applyAsDouble(x, y), u[x], 1e-9, "x at " + x + "," + y);
                assertEquals(fy.applyAsDouble(x, y), v[x], 1e-9, "y at " + x + "," + y);
                assertEquals(u[x], f.dxAt(x, y), 1e-12);
                assertEquals(v[x], f.dyAt(x, y), 1e-12);
            }
        }
        Image planes = f.toPlanes();
        assertEquals(fx.applyAsDouble(7, 93), planes.get(0, 93, 7), 1e-5);
        assertEquals(fy.applyAsDouble(7, 93), planes.get(1, 93, 7), 1e-5);
    }

    @Test
    void summariesAndUniformFields() {
        DisplacementField uniform = DisplacementField.uniform(40, 50, 1.25, -0.5);
        assertEquals(1.25, uniform.dxAt(0, 0), 1e-12);
        assertEquals(-0.5, uniform.dyAt(49, 39), 1e-12);
        DisplacementField f = new DisplacementField(40, 50, new double[] {10, 40}, new double[] {20},
                new double[] {1, 4}, new double[] {0, 4}, new double[] {1, 1});
        assertEquals(5, f.maxPatchDeviation(1, 0), 1e-12);
        assertEquals(2.5, f.meanPatchDeviation(1, 0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new DisplacementField(4, 4, new double[] {1, 2},
                new double[] {1}, new double[] {0}, new double[] {0}, new double[] {0}));
        assertThrows(IllegalArgumentException.class, () -> new DisplacementField(4, 4, new double[] {1},
                new double[] {1}, new double[] {Double.NaN}, new double[] {0}, new double[] {0}));
    }

    /** A uniform field warps exactly like the rigid resampler, including the zeroed margins. */
    @Test
    void uniformFieldWarpsLikeARigidShift() {
        int h = 70;
        int w = 90;
        Image in = Images.stack(Scenes.render(Scenes.blobs(31, h, w, 20, 0.03), h, w, 0, 0, 80, 4),
                Scenes.render(Scenes.blobs(32, h, w, 20, 0.03), h, w, 0, 0, 30, 1));
        double dx = 3.37;
        double dy = -5.81;
        Image rigid = new ShiftResampler().resample(in, dx, dy);
        byte[] valid = new byte[h * w];
        Image warped = new Image(2, h, w);
        new FieldResampler(null).resample(in, DisplacementField.uniform(h, w, dx, dy), warped, valid);
        assertEquals(0, Images.rmse(rigid, warped), 1e-3, "same spline, evaluated two ways");
        int[] region = ShiftResampler.validRegion(h, w, dx, dy);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean inside = x >= region[0] && x < region[1] && y >= region[2] && y < region[3];
                assertEquals(inside ? 1 : 0, valid[y * w + x], "valid at " + x + "," + y);
            }
        }
    }

    /** Splitting the work between threads changes nothing. */
    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int h = 64;
        int w = 96;
        Image in = Scenes.render(Scenes.blobs(33, h, w, 20, 0.03), h, w, 0, 0, 80, 4);
        DisplacementField f = new DisplacementField(h, w, new double[] {20, 50, 80}, new double[] {15, 45},
                new double[] {1, 2, 0.5, -1, 0, 1.5}, new double[] {0.5, -0.5, 1, 2, 1, 0}, new double[6]);
        try (Workers two = new Workers(2)) {
            Image a = new FieldResampler(null).resample(in, f);
            Image b = new FieldResampler(two).resample(in, f);
            assertEquals(0, Images.rmse(a, b), 0.0);
            Image c = new ShiftResampler(null).resample(in, 1.7, -2.2);
            Image d = new ShiftResampler(two).resample(in, 1.7, -2.2);
            assertEquals(0, Images.rmse(c, d), 0.0);
        }
    }
}
