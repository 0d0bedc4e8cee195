package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SceneTest {

    private static final double PSF = 1.2;
    private static final int W = 64;
    private static final int H = 48;

    private static float[] render(Scene scene, double driftX, double driftY) {
        float[] out = new float[2 * W * H];
        scene.render(0, driftX, driftY, null, null, out);
        return out;
    }

    @Test
    void aPunctumIsItsGaussianBlurredByThePsf() {
        double sigma = 0.6;
        double a = 0.8;
        Scene scene = Scene.of(W, H, 2, PSF, List.of(), List.of(Scene.punctum(20.3, 17.6, sigma, a, PSF, 1)));
        float[] out = render(scene, 0, 0);
        double variance = sigma * sigma + PSF * PSF; // Gaussian ⊗ Gaussian: variances add
        double flux = 0;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double r2 = (x - 20.3) * (x - 20.3) + (y - 17.6) * (y - 17.6);
                double expected = a * Math.exp(-r2 / (2 * variance));
                // Peak normalised to the abundance; cut off at 4.5σ (exp(−10.1) = 4e-5 of the peak).
                assertEquals(expected, out[W * H + y * W + x], 5e-5 * a, "pixel " + x + "," + y);
                assertEquals(0f, out[y * W + x], "the other label's plane stays empty");
                flux += out[W * H + y * W + x];
            }
        }
        // The integral of the blurred punctum is a·2π(σ² + σ_psf²); the pixel sum samples it (the
        // Gaussian is smooth enough that the sum equals the integral to 1e-6).
        assertEquals(a * 2 * Math.PI * variance, flux, 1e-3 * flux);
    }

    @Test
    void aStraightFilamentIsARidgeOfItsAbundance() {
        double cross = 0.4;
        double a = 0.7;
        List<Scene.Blob> blobs = new ArrayList<>();
        // Horizontal, x = 4..60 at y = 20.4, no turns.
        Scene.addFilament(blobs, 4, 20.4, 0, new double[56], cross, a, PSF, 0);
        Scene scene = Scene.of(W, H, 2, PSF, List.of(), blobs);
        float[] out = render(scene, 0, 0);
        double variance = cross * cross + PSF * PSF;
        for (int x = 14; x <= 50; x++) { // away from the ends
            for (int y = 12; y <= 29; y++) {
                double expected = a * Math.exp(-(y - 20.4) * (y - 20.4) / (2 * variance));
                // Ripple of a chain spaced at its own σ is ~1e-8; float accumulation of ~15 blobs ~1e-6.
                assertEquals(expected, out[y * W + x], 1e-5, "pixel " + x + "," + y);
            }
        }
    }

    @Test
    void anEllipseHasAnErfEdgeAcrossItsOutline() {
        double a = 14;
        double b = 9;
        double theta = 0.5;
        double edge = Math.hypot(1.0, PSF);
        double abundance = 0.6;
        Scene scene = Scene.of(W, H, 2, PSF, List.of(
                Scene.ellipse(30.5, 22.2, a, b, theta, edge, abundance, 0, false)), List.of());
        float[] out = render(scene, 0, 0);
        double c = Math.cos(theta);
        double s = Math.sin(theta);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                // In the ellipse's own axes (an independent route from the renderer's inverse shape matrix).
                double u = c * (x - 30.5) + s * (y - 22.2);
                double v = -s * (x - 30.5) + c * (y - 22.2);
                double rho2 = u * u / (a * a) + v * v / (b * b);
                double gradient = Math.hypot(u / (a * a), v / (b * b));
                double distance = gradient == 0 ? Double.NEGATIVE_INFINITY : (rho2 - 1) / (2 * gradient);
                double expected = abundance * 0.5 * erfc(distance / (Math.sqrt(2) * edge));
                // erfc approximation error 1.5e-7; cut-offs below 1e-7 of the plateau.
                assertEquals(expected, out[y * W + x], 1e-6, "pixel " + x + "," + y);
            }
        }
        // Known values: the plateau inside, half height on the outline (major-axis end), nothing far out.
        assertEquals(abundance, out[22 * W + 30], 1e-6);
        Scene onAxis = Scene.of(W, H, 1, PSF, List.of(Scene.ellipse(20, 20, 10, 6, 0, edge, 1, 0, false)), List.of());
        float[] axis = new float[W * H];
        onAxis.render(0, 0, 0, null, null, axis);
        assertEquals(0.5, axis[20 * W + 30], 1e-6);
        assertEquals(0.5, axis[26 * W + 20], 1e-6);
        assertEquals(0, axis[20 * W + 45], 1e-7);
    }

    @Test
    void aCellBodyIsBrighterInItsThickerMiddle() {
        Scene scene = Scene.of(W, H, 1, PSF, List.of(Scene.ellipse(30, 24, 16, 12, 0, 1.5, 1, 0, true)), List.of());
        float[] out = new float[W * H];
        scene.render(0, 0, 0, null, null, out);
        assertEquals(1, out[24 * W + 30], 1e-6);                  // centre: abundance
        assertEquals(0.5 * (1 - 0.4 / 2), out[24 * W + 46], 1e-6); // outline: half the 0.8 rim
    }

    @Test
    void aDriftIsAnExactSubPixelShift() {
        SimulationSettings settings = SimulationSettings.defaults().withSize(H, W).withChannelsAndFluorophores(2, 2);
        Scene scene = Scene.generate(settings, 30, new SplittableRandom(8));
        float[] fractional = render(scene, 0.37, -0.81);
        float[] shifted = render(scene, 0.37 + 5, -0.81 - 3);
        // Moving the drift by whole pixels moves the image by whole pixels: same values, up to the
        // float rounding of the structures' positions (~1e-6).
        double worst = 0;
        for (int f = 0; f < 2; f++) {
            for (int y = 0; y < H - 3; y++) {
                for (int x = 5; x < W; x++) {
                    worst = Math.max(worst, Math.abs(shifted[f * W * H + (y) * W + x]
                            - fractional[f * W * H + (y + 3) * W + (x - 5)]));
                }
            }
        }
        assertTrue(worst < 1e-5, "integer re-shift differs by " + worst);
    }

    @Test
    void sceneDensitiesScaleWithArea() {
        SimulationSettings small = SimulationSettings.defaults().withSize(128, 128);
        SimulationSettings large = SimulationSettings.defaults().withSize(512, 512);
        Scene a = Scene.generate(small, 0, new SplittableRandom(1));
        Scene b = Scene.generate(large, 0, new SplittableRandom(1));
        // One cell (plus nucleus) per 3600 px², one punctum per 400 px², 1 px of filament per 70 px².
        assertEquals(2 * Math.round(128 * 128 / 3600.0), a.ellipseCount());
        assertEquals(2 * Math.round(512 * 512 / 3600.0), b.ellipseCount());
        // Filaments come whole (40–160 px), so the small scene's count is coarse: allow a quarter.
        double ratio = (double) b.blobCount() / a.blobCount();
        assertEquals(16, ratio, 4, "blobs (puncta + filament segments) should scale with area");
    }

    @Test
    void deformedBlobsAndCellsEachFollowTheTruthFlow() {
        SimulationSettings settings = SimulationSettings.defaults().withSize(H, W).withChannelsAndFluorophores(2, 2)
                .withMaxDriftPx(0).withMaxFlowPxPerFrame(1.0);
        Scene all = Scene.generate(settings, 30, new SplittableRandom(12));
        float[] weights = new float[W * H];
        java.util.Arrays.fill(weights, 1f);
        DeformationField field = new DeformationField(settings, new SplittableRandom(13), weights);
        // Split the scene so that each kind of structure is checked on its own.
        Scene blobsOnly = Scene.of(W, H, 2, PSF, List.of(), all.blobs()).moving(field);
        Scene cellsOnly = Scene.of(W, H, 2, PSF, all.ellipses(), List.of()).moving(field);
        double sFrom = 0.3;
        double sTo = 0.3 + 2 * Math.sin(Math.PI / settings.flowPeriodFrames()); // the fastest step
        float[] flow = new float[2 * W * H];
        field.forwardFlow(sFrom, sTo, W, H, flow);
        for (Scene scene : new Scene[] {blobsOnly, cellsOnly}) {
            float[] before = renderDeformed(scene, field, sFrom);
            float[] after = renderDeformed(scene, field, sTo);
            io.fluostream.imaging.Image next = new io.fluostream.imaging.Image(2, H, W, after);
            double warped = 0;
            double unwarped = 0;
            for (int f = 0; f < 2; f++) {
                for (int y = 6; y < H - 6; y++) {
                    for (int x = 6; x < W - 6; x++) {
                        int i = y * W + x;
                        double p = before[f * W * H + i];
                        double q = LanczosSampler.sample(next, f, x + flow[i], y + flow[W * H + i]);
                        warped += (q - p) * (q - p);
                        unwarped += (after[f * W * H + i] - p) * (after[f * W * H + i] - p);
                    }
                }
            }
            double ratio = Math.sqrt(warped / unwarped);
            // Cells are advected exactly (resampling error only, ~3 %). Blobs are blurred after they
            // deform and the PSF does not deform with the tissue, which adds ~σ_psf·|∇D|/|D| (measured
            // 6–8 % with the 0.4 peak strain here). A flow 20 % off on the blobs gives 27 %.
            assertTrue(ratio < 0.1, (scene == blobsOnly ? "blobs" : "cells") + ": warped/unwarped " + ratio);
        }
    }

    private static float[] renderDeformed(Scene scene, DeformationField field, double s) {
        double[] mx = new double[W * H];
        double[] my = new double[W * H];
        field.materialPoints(s, 0, 0, W, H, mx, my);
        float[] out = new float[2 * W * H];
        scene.render(s, 0, 0, mx, my, out);
        return out;
    }

    /** erfc by Simpson integration of exp(−t²) (independent of the renderer's rational approximation). */
    private static double erfc(double x) {
        if (x == Double.NEGATIVE_INFINITY) {
            return 2;
        }
        double z = Math.abs(x);
        if (z > 8) {
            return x > 0 ? 0 : 2;
        }
        int n = 2000;
        double h = z / n;
        double sum = 1 + Math.exp(-z * z);
        for (int i = 1; i < n; i++) {
            sum += (i % 2 == 1 ? 4 : 2) * Math.exp(-(i * h) * (i * h));
        }
        double erf = 2 / Math.sqrt(Math.PI) * sum * h / 3;
        return x >= 0 ? 1 - erf : 1 + erf;
    }
}
