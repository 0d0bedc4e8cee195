package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DriftTrajectoryTest {

    @Test
    void startsAtZeroAndNeverLeavesTheBound() {
        for (double maxDrift : new double[] {0.5, 20, 200}) {
            for (int seed = 0; seed < 20; seed++) {
                DriftTrajectory drift = new DriftTrajectory(maxDrift, new SplittableRandom(seed));
                assertEquals(0, drift.x(0));
                assertEquals(0, drift.y(0));
                double max = 0;
                double maxStep = 0;
                for (int t = 1; t < 20_000; t++) {
                    max = Math.max(max, Math.hypot(drift.x(t), drift.y(t)));
                    maxStep = Math.max(maxStep, Math.hypot(drift.x(t) - drift.x(t - 1), drift.y(t) - drift.y(t - 1)));
                }
                // |d| ≤ maxDrift by construction; the documented speed bound is 0.03·maxDrift per frame.
                assertTrue(max <= maxDrift, "drift " + max + " beyond " + maxDrift);
                assertTrue(max > 0.2 * maxDrift, "drift hardly moves: " + max + " of " + maxDrift);
                assertTrue(maxStep <= 0.03 * maxDrift, "step " + maxStep + " for bound " + maxDrift);
            }
        }
    }

    @Test
    void zeroBoundMeansNoDrift() {
        DriftTrajectory drift = new DriftTrajectory(0, new SplittableRandom(1));
        for (int t = 0; t < 100; t++) {
            assertEquals(0, drift.x(t));
            assertEquals(0, drift.y(t));
        }
    }
}
