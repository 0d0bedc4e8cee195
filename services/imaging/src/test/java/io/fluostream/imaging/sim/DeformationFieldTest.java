package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DeformationFieldTest {

    private static final SimulationSettings SETTINGS = SimulationSettings.defaults().withSize(96, 128);

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
    void theWeightedMeanDisplacementIsZero() {
        // Weights concentrated in one corner: the mean must vanish under these weights, not uniform ones.
        float[] weights = new float[96 * 128];
        for (int y = 0; y < 40; y++) {
            for (int x = 0; x < 50; x++) {
                weights[y * 128 + x] = (float) Math.exp(-((x - 20) * (x - 20) + (y - 15) * (y - 15)) / 200.0);
            }
        }
        DeformationField field = new DeformationField(SETTINGS, new SplittableRandom(6), weights);
        double[] d = new double[2];
        double sw = 0;
        double su = 0;
        double sv = 0;
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 128; x++) {
                field.displacement(x, y, d);
                sw += weights[y * 128 + x];
                su += weights[y * 128 + x] * d[0];
                sv += weights[y * 128 + x] * d[1];
            }
        }
        // The mean is taken on the float grid: zero to float precision of an ~8 px field.
        assertEquals(0, su / sw, 1e-5);
        assertEquals(0, sv / sw, 1e-5);
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
