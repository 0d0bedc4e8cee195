package io.fluostream.imaging.sim;

import java.util.SplittableRandom;

/**
 * The stage's global drift d(t) in px: the scene content at drift-free position p appears in frame t
 * at p + d(t).
 *
 * <p>Each axis is a sum of three slow sinusoids (periods 150–900 frames, random phases), shifted so
 * that d(0) = 0. Per axis the amplitudes sum to maxDrift/(2√2), so |d_x|, |d_y| ≤ maxDrift/√2 and
 * |d(t)| ≤ maxDrift for every t, however long the stream; the speed stays below
 * 0.03·maxDrift px/frame (sub-pixel per frame for the default 20 px).
 */
final class DriftTrajectory {

    private static final int TERMS = 3;
    private static final double MIN_PERIOD = 150;
    private static final double MAX_PERIOD = 900;

    private final double[] amplitude = new double[2 * TERMS];
    private final double[] omega = new double[2 * TERMS];
    private final double[] phase = new double[2 * TERMS];

    DriftTrajectory(double maxDriftPx, SplittableRandom rng) {
        double perAxis = maxDriftPx / Math.sqrt(2);
        for (int axis = 0; axis < 2; axis++) {
            double[] weight = new double[TERMS];
            double total = 0;
            for (int k = 0; k < TERMS; k++) {
                weight[k] = rng.nextDouble(0.3, 1.0);
                total += weight[k];
            }
            for (int k = 0; k < TERMS; k++) {
                int i = axis * TERMS + k;
                // |sin(a) - sin(b)| <= 2, hence the factor 2 in the amplitude budget.
                amplitude[i] = perAxis * weight[k] / (2 * total);
                omega[i] = 2 * Math.PI / rng.nextDouble(MIN_PERIOD, MAX_PERIOD);
                phase[i] = rng.nextDouble(0, 2 * Math.PI);
            }
        }
    }

    /** d_x(t), px (column direction). */
    double x(double t) {
        return axis(0, t);
    }

    /** d_y(t), px (row direction). */
    double y(double t) {
        return axis(1, t);
    }

    private double axis(int axis, double t) {
        double d = 0;
        for (int k = 0; k < TERMS; k++) {
            int i = axis * TERMS + k;
            d += amplitude[i] * (Math.sin(omega[i] * t + phase[i]) - Math.sin(phase[i]));
        }
        return d;
    }
}
