package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import org.junit.jupiter.api.Test;

/**
 * {@link FlowField} figures on analytic fields. Central differences are exact on linear fields,
 * so divergence and vorticity are checked to float rounding (1e-5) wherever the stencil is
 * central, and the one-sided edges too, since a linear field has the same slope there.
 */
class FlowFieldTest {

    private static final int H = 40;
    private static final int W = 50;

    /** {@code u = a·x + b·y + c, v = d·x + e·y + f} around the frame centre. */
    private static FlowField linear(double a, double b, double c, double d, double e, double f) {
        Image uv = new Image(2, H, W);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                double rx = x - 24.5;
                double ry = y - 19.5;
                uv.set(0, y, x, (float) (a * rx + b * ry + c));
                uv.set(1, y, x, (float) (d * rx + e * ry + f));
            }
        }
        return new FlowField(uv);
    }

    @Test
    void rigidRotationHasVorticityTwiceItsAngularSpeedAndNoDivergence() {
        double omega = 0.03;
        FlowField rotation = linear(0, -omega, 0, omega, 0, 0);
        SignalMask all = SignalMask.all(H, W);
        assertEquals(2 * omega, rotation.meanVorticity(all), 1e-5);
        assertEquals(0, rotation.meanDivergence(all), 1e-5);
        float[] vorticity = rotation.vorticity().data();
        for (float value : vorticity) {
            assertEquals(2 * omega, value, 1e-5);
        }
    }

    @Test
    void uniformExpansionHasDivergenceTwiceItsRateAndNoVorticity() {
        double rate = 0.02;
        FlowField expansion = linear(rate, 0, 0, 0, rate, 0);
        SignalMask all = SignalMask.all(H, W);
        assertEquals(2 * rate, expansion.meanDivergence(all), 1e-5);
        assertEquals(0, expansion.meanVorticity(all), 1e-5);
    }

    @Test
    void translationHasNoDerivativesAndItsSpeedEverywhere() {
        FlowField t = FlowField.uniform(H, W, 3, -4);
        SignalMask all = SignalMask.all(H, W);
        FlowSummary summary = t.summarize(all);
        assertEquals(5, summary.meanSpeed(), 1e-6);
        assertEquals(0, summary.meanDivergence(), 0);
        assertEquals(0, summary.meanVorticity(), 0);
        assertEquals(H * W, summary.signalPixels());
        assertEquals(3f, t.u(7, 9));
        assertEquals(-4f, t.v(7, 9));
    }

    @Test
    void endpointErrorOfAKnownOffsetIsItsLength() {
        FlowField truth = linear(0.01, 0.02, 0.5, -0.03, 0.01, -1);
        FlowField estimate = new FlowField(truth.asImage().copy());
        float[] d = estimate.asImage().data();
        int n = H * W;
        for (int i = 0; i < n; i++) {
            d[i] += 3;
            d[n + i] -= 4;
        }
        assertEquals(5, FlowField.endpointError(estimate, truth, SignalMask.all(H, W)), 1e-5);
        assertEquals(0, FlowField.endpointError(truth, truth, SignalMask.all(H, W)), 0);
    }

    @Test
    void meansAreOverTheMaskOnlyAndZeroForAnEmptyMask() {
        FlowField f = new FlowField(H, W);
        // Speed 10 in the left half, 0 in the right half.
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W / 2; x++) {
                f.asImage().set(0, y, x, 10f);
            }
        }
        assertEquals(5, f.meanSpeed(SignalMask.all(H, W)), 1e-9);
        SignalMask empty = SignalMask.fromIntensity(new Image(1, H, W));
        assertEquals(0, empty.count());
        assertEquals(new FlowSummary(0, 0, 0, 0), f.summarize(empty));
    }

    @Test
    void layoutIsUThenVAndPlanesCopyOut() {
        Image u = new Image(1, 2, 3, new float[] {1, 2, 3, 4, 5, 6});
        Image v = new Image(1, 2, 3, new float[] {7, 8, 9, 10, 11, 12});
        FlowField f = FlowField.of(u, v);
        assertEquals(6f, f.u(1, 2));
        assertEquals(12f, f.v(1, 2));
        assertEquals(2, f.asImage().channels());
        assertEquals(9f, f.asImage().get(1, 0, 2));
        f.u().data()[0] = 99f; // a copy: the field is unchanged
        assertEquals(1f, f.u(0, 0));
    }

    @Test
    void wrongShapesAreRejectedWithAMessage() {
        assertThrows(IllegalArgumentException.class, () -> new FlowField(new Image(3, 4, 4)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FlowField.endpointError(new FlowField(4, 4), new FlowField(4, 5), SignalMask.all(4, 4)));
        assertTrue(e.getMessage().contains("shapes differ"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FlowField(4, 4).meanSpeed(SignalMask.all(5, 4)));
        assertTrue(e.getMessage().contains("mask"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FlowField.of(new Image(1, 4, 4), new Image(1, 4, 3)));
    }
}
