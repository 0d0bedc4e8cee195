package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DeformationFieldTest {

    // A slow, large deformation (about 8 px excursion) exercises the inverse map and the strain guard.
    private static final SimulationSettings SETTINGS = SimulationSettings.defaults().withSize(96, 128)
            .withMaxFlowPxPerFrame(0.5).withFlowPeriodFrames(100);

    private static float[] uniformWeights() {
        float[] w = new float[96 * 128];
        java.util.Arrays.fill(w, 1f);
        return w;
    }

    @Test
    void theInverseMapUndoesTheDeformation() {
        DeformationField field = new DeformationField(SETTINGS, new SplittableRandom(1), uniformWeights());
        SplittableRandom rng = new SplittableRandom(2);
        double[] p0 = new double[2];
        double[] sampled = new double[6];
        double[] analytic = new double[2];
        for (int i = 0; i < 2000; i++) {
            double s = rng.nextDouble(-1, 1);
            double qx = rng.nextDouble(-10, 138);
            double qy = rng.nextDouble(-10, 106);
            field.invert(s, qx, qy, p0);
            field.sample(p0[0], p0[1], sampled);
            // Newton's tolerance is 1e-7 px on the sampled field it inverts.
            assertEquals(qx, p0[0] + s * sampled[0], 1e-6);
            assertEquals(qy, p0[1] + s * sampled[1], 1e-6);
            // Against the analytic field: bilinear sampling errs by h²/8·|D''| < 0.01 px here.
            field.displacement(p0[0], p0[1], analytic);
            assertEquals(qx, p0[0] + s * analytic[0], 0.01);
            assertEquals(qy, p0[1] + s * analytic[1], 0.01);
        }
    }

    @Test
    void theSampledFieldFollowsTheAnalyticOneAndItsJacobian() {
        DeformationField field = new DeformationField(SETTINGS, new SplittableRandom(3), uniformWeights());
        SplittableRandom rng = new SplittableRandom(4);
        double[] sampled = new double[6];
        double[] analytic = new double[2];
        double[] jacobian = new double[4];
        for (int i = 0; i < 1000; i++) {
            double x = rng.nextDouble(0, 127);
            double y = rng.nextDouble(0, 95);
            field.sample(x, y, sampled);
            field.displacement(x, y, analytic);
            field.jacobian(x, y, jacobian);
            assertEquals(analytic[0], sampled[0], 0.01);
            assertEquals(analytic[1], sampled[1], 0.01);
            // Bilinear partials are the analytic ones to within h·|D''| ≈ 0.03 /px.
            for (int k = 0; k < 4; k++) {
                assertEquals(jacobian[k], sampled[2 + k], 0.03, "partial " + k);
            }
        }
        assertTrue(field.maxStrain() < DeformationField.MAX_STRAIN);
    }

    @Test
    void theLargestDisplacementIsTheConfiguredAmplitude() {
        DeformationField field = new DeformationField(SETTINGS, new SplittableRandom(5), uniformWeights());
        double amplitude = SETTINGS.maxDeformationPx();
        assertEquals(amplitude, field.amplitudePx(), 1e-12);
        // The normalisation region is the field plus ⌈max|D|⌉ + 1 px, on whole pixels.
        int reach = (int) Math.ceil(amplitude) + 1;
        double[] d = new double[2];
        double max = 0;
        for (int y = -reach; y < 96 + reach; y++) {
            for (int x = -reach; x < 128 + reach; x++) {
                field.displacement(x, y, d);
                max = Math.max(max, Math.hypot(d[0], d[1]));
            }
        }
        assertEquals(amplitude, max, 1e-4 * amplitude);
        // s(t) = sin(2πt/T): zero at 0, bounded by 1.
        assertEquals(0, field.profile(0));
        assertEquals(1, field.profile(25), 1e-12);
    }

    @Test
    void noApparentTranslationRemainsForTheScene() {
        // A textured corner: the registration-weighted mean must vanish under this scene, not a uniform one.
        float[] scene = new float[96 * 128];
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 60; x++) {
                scene[y * 128 + x] = (float) (Math.exp(-((x - 20) * (x - 20) + (y - 15) * (y - 15)) / 50.0)
                        + Math.exp(-((x - 40) * (x - 40) + (y - 30) * (y - 30)) / 20.0));
            }
        }
        DeformationField field = new DeformationField(SETTINGS, new SplittableRandom(6), scene);
        float[] u = new float[96 * 128];
        float[] v = new float[96 * 128];
        double[] d = new double[2];
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 128; x++) {
                field.displacement(x, y, d);
                u[y * 128 + x] = (float) d[0];
                v[y * 128 + x] = (float) d[1];
            }
        }
        double[] t = DeformationField.apparentTranslation(scene, 128, 96, u, v);
        // Zero up to float rounding of an ~8 px field.
        assertEquals(0, t[0], 1e-4);
        assertEquals(0, t[1], 1e-4);
    }

    @Test
    void apparentTranslationOfAPureTranslationIsThatTranslation() {
        float[] scene = new float[40 * 50];
        for (int i = 0; i < scene.length; i++) {
            scene[i] = (float) (Math.sin(i % 50 * 0.7) * Math.cos(i / 50 * 0.45));
        }
        float[] u = new float[scene.length];
        float[] v = new float[scene.length];
        java.util.Arrays.fill(u, 1.25f);
        java.util.Arrays.fill(v, -0.5f);
        double[] t = DeformationField.apparentTranslation(scene, 50, 40, u, v);
        assertEquals(1.25, t[0], 1e-6);
        assertEquals(-0.5, t[1], 1e-6);
        // No texture: the plain mean.
        double[] flat = DeformationField.apparentTranslation(new float[scene.length], 50, 40, u, v);
        assertEquals(1.25, flat[0], 1e-6);
    }

    @Test
    void withoutFlowTheFieldIsStill() {
        DeformationField field = new DeformationField(SETTINGS.withMaxFlowPxPerFrame(0), new SplittableRandom(7),
                uniformWeights());
        assertTrue(field.isStill());
        assertEquals(0, field.profile(17));
        double[] d = new double[2];
        field.displacement(10, 10, d);
        assertEquals(0, d[0]);
        assertEquals(0, d[1]);
        double[] p = new double[2];
        field.invert(0.5, 3.25, 4.5, p);
        assertEquals(3.25, p[0]);
        assertEquals(4.5, p[1]);
    }
}
