package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Piecewise-rigid registration on known smooth deformations: a noise-free blob scene warped by a
 * known field (through {@link FieldResampler}, by the field's inverse map), registered against the
 * unwarped scene.
 */
class PiecewiseTest {

    private final Stabiliser stabiliser = new Stabiliser(2);

    @AfterEach
    void close() {
        stabiliser.close();
    }

    /** A smooth field: a rigid part plus a sinusoid of about one field's wavelength. */
    private record Smooth(double ox, double oy, double amplitude, int size) {
        double dx(double x, double y) {
            return ox + amplitude * Math.sin(2 * Math.PI * x / (1.3 * size) + 0.4) * Math.cos(2 * Math.PI * y / (1.6 * size));
        }

        double dy(double x, double y) {
            return oy + amplitude * Math.cos(2 * Math.PI * x / (1.5 * size)) * Math.sin(2 * Math.PI * y / (1.2 * size) + 0.9);
        }
    }

    /** The frame that shows {@code reference} deformed by d: frame(q) = reference(p) with p + d(p) = q. */
    private static Image deform(Image reference, Smooth d) {
        int h = reference.height();
        int w = reference.width();
        double[] ex = new double[h * w];
        double[] ey = new double[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double px = x;
                double py = y;
                for (int i = 0; i < 12; i++) {
                    double nx = x - d.dx(px, py);
                    double ny = y - d.dy(px, py);
                    px = nx;
                    py = ny;
                }
                ex[y * w + x] = px - x;
                ey[y * w + x] = py - y;
            }
        }
        double[] cx = new double[w];
        double[] cy = new double[h];
        for (int i = 0; i < w; i++) {
            cx[i] = i;
        }
        for (int i = 0; i < h; i++) {
            cy[i] = i;
        }
        return new FieldResampler().resample(reference, new DisplacementField(h, w, cx, cy, ex, ey, new double[h * w]));
    }

    /**
     * A smooth deformation of up to ±2 px around a rigid (3.5, −2.5) px shift on 256 × 256:
     * piecewise measured 0.17 px RMS over the whole field, edges included (rigid alone: 1.6 px); bound 0.2 px.
     */
    @Test
    void recoversASmoothDeformation() {
        int side = 256;
        // Blobs beyond the field too, so the deformed frame has content at its edges.
        Scenes.Blob[] blobs = Scenes.blobs(21, side, side, 20, 0.01);
        Image reference = Scenes.render(blobs, side, side, 0, 0, 100, 10);
        Smooth truth = new Smooth(3.5, -2.5, 2.0, side);
        Image frame = deform(reference, truth);
        StabiliseSettings piecewise = StabiliseSettings.DEFAULT.withMode(StabiliseSettings.Mode.PIECEWISE)
                .withTemplate(StabiliseSettings.TemplatePolicy.FIRST).withPatches(64, 16, 6, 0.2);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, reference, 0, piecewise);
        Registration r = stabiliser.register(stream, frame, 1, piecewise);
        DisplacementField field = r.field();
        assertNotNull(field);
        double sq = 0;
        double rigidSq = 0;
        int n = 0;
        for (int y = 0; y < side; y += 2) {
            for (int x = 0; x < side; x += 2) {
                sq += Math.pow(field.dxAt(x, y) - truth.dx(x, y), 2) + Math.pow(field.dyAt(x, y) - truth.dy(x, y), 2);
                rigidSq += Math.pow(r.appliedDx() - truth.dx(x, y), 2) + Math.pow(r.appliedDy() - truth.dy(x, y), 2);
                n++;
            }
        }
        double rms = Math.sqrt(sq / n);
        double rigid = Math.sqrt(rigidSq / n);
        System.out.printf("smooth deformation: field RMS error %.4f px (rigid alone %.4f px), %d of %d patches replaced%n",
                rms, rigid, r.patchesReplaced(), r.patches());
        assertTrue(rms < 0.2, "field RMS error " + rms + " px");
        assertTrue(rigid > 0.8, "the deformation is not rigid: " + rigid + " px");
        assertEquals(0, r.patchesReplaced());

        // The corrected frame is back on the reference's grid, away from the edges the motion uncovered.
        double before = interiorRmse(frame, reference, 16);
        double after = interiorRmse(r.corrected(), reference, 16);
        System.out.printf("interior RMS difference from the reference: %.3f before, %.3f after%n", before, after);
        assertTrue(after < 0.1 * before, "corrected frame differs by " + after + " (uncorrected " + before + ")");
    }

    /**
     * A purely rigid motion gives every patch the rigid shift (measured within 0.02 px; bound
     * 0.03) and a field that is that shift: within 0.02 px more than 32 px from the edges (measured
     * 0.012 px), within 0.05 px at the edges, where the field is extrapolated beyond the patches'
     * weight (measured 0.042 px).
     */
    @Test
    void rigidMotionGivesAUniformField() {
        int side = 192;
        Scenes.Blob[] blobs = Scenes.blobs(22, side, side, 30, 0.02);
        StabiliseSettings piecewise = StabiliseSettings.DEFAULT.withMode(StabiliseSettings.Mode.PIECEWISE)
                .withPatches(64, 16, 6, 0.2);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, Scenes.render(blobs, side, side, 0, 0, 50, 5), 0, piecewise);
        Registration r = stabiliser.register(stream, Scenes.render(blobs, side, side, -6.3, 4.45, 50, 5), 1, piecewise);
        DisplacementField field = r.field();
        for (int row = 0; row < field.rows(); row++) {
            for (int c = 0; c < field.columns(); c++) {
                assertEquals(-6.3, field.patchDx(row, c), 0.03, "patch " + row + "," + c);
                assertEquals(4.45, field.patchDy(row, c), 0.03, "patch " + row + "," + c);
            }
        }
        for (int y = 0; y < side; y += 7) {
            for (int x = 0; x < side; x += 7) {
                boolean interior = Math.min(Math.min(x, y), Math.min(side - 1 - x, side - 1 - y)) > 32;
                double tolerance = interior ? 0.02 : 0.05;
                assertEquals(-6.3, field.dxAt(x, y), tolerance, "field at " + x + "," + y);
                assertEquals(4.45, field.dyAt(x, y), tolerance, "field at " + x + "," + y);
            }
        }
    }

    /**
     * Patches over a region with no structure (photon noise on the background only) do not match
     * and take the rigid shift instead of a noise peak; the others still find the motion.
     */
    @Test
    void emptyPatchesTakeTheRigidShift() {
        int side = 192;
        // No blob within reach of the top-left quarter.
        Scenes.Blob[] blobs = java.util.Arrays.stream(Scenes.blobs(23, side, side, 30, 0.02))
                .filter(b -> b.x() - 6 * b.sigma() > 100 || b.y() - 6 * b.sigma() > 100)
                .toArray(Scenes.Blob[]::new);
        Image reference = Scenes.poisson(Scenes.render(blobs, side, side, 0, 0, 400, 20), 1);
        Image frame = Scenes.poisson(Scenes.render(blobs, side, side, 2.5, 1.5, 400, 20), 2);
        StabiliseSettings piecewise = StabiliseSettings.DEFAULT.withMode(StabiliseSettings.Mode.PIECEWISE)
                .withTemplate(StabiliseSettings.TemplatePolicy.FIRST).withPatches(64, 16, 6, 0.2);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, reference, 0, piecewise);
        Registration r = stabiliser.register(stream, frame, 1, piecewise);
        DisplacementField field = r.field();
        assertEquals(0, field.patchMatch(0, 0), "the empty corner patch is replaced");
        assertEquals(r.appliedDx(), field.patchDx(0, 0), 1e-12);
        assertEquals(r.appliedDy(), field.patchDy(0, 0), 1e-12);
        assertTrue(r.patchesReplaced() >= 1 && r.patchesReplaced() <= 4, "replaced " + r.patchesReplaced());
        for (int row = 0; row < field.rows(); row++) {
            for (int c = 0; c < field.columns(); c++) {
                assertEquals(2.5, field.patchDx(row, c), 0.15, "patch " + row + "," + c);
                assertEquals(1.5, field.patchDy(row, c), 0.15, "patch " + row + "," + c);
            }
        }
    }

    /** Piecewise mode falls back like rigid mode: a blank frame is flagged and has no field. */
    @Test
    void lowConfidenceFrameHasNoField() {
        int side = 128;
        StabiliseSettings piecewise = StabiliseSettings.DEFAULT.withMode(StabiliseSettings.Mode.PIECEWISE)
                .withPatches(64, 16, 6, 0.2);
        StreamTemplate stream = new StreamTemplate();
        stabiliser.register(stream, Scenes.render(Scenes.blobs(24, side, side, 30, 0.02), side, side, 0, 0, 50, 5), 0,
                piecewise);
        Registration r = stabiliser.register(stream, new Image(1, side, side), 1, piecewise);
        assertTrue(r.lowConfidence());
        assertNull(r.field());
        assertEquals(0, Images.mean(r.corrected()));
    }

    private static double interiorRmse(Image a, Image b, int margin) {
        double sq = 0;
        int n = 0;
        for (int y = margin; y < a.height() - margin; y++) {
            for (int x = margin; x < a.width() - margin; x++) {
                double d = a.get(0, y, x) - b.get(0, y, x);
                sq += d * d;
                n++;
            }
        }
        return Math.sqrt(sq / n);
    }
}
