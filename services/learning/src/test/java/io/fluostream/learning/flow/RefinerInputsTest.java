package io.fluostream.learning.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.flow.FlowField;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link RefinerInputs}: what the network sees is scale-free, and its answer returns exactly. */
class RefinerInputsTest {

    private static Image texture(long seed, int h, int w) {
        Random rnd = new Random(seed);
        Image im = new Image(1, h, w);
        for (int i = 0; i < im.data().length; i++) {
            im.data()[i] = 50 + 100 * rnd.nextFloat();
        }
        return im;
    }

    @Test
    void aUniformResidualIsAddedEverywhere() {
        FlowField field = FlowField.uniform(37, 50, 0.25, -1.0);
        int m = RefinerInputs.pooled(37) * RefinerInputs.pooled(50);
        float[] residual = new float[2 * m];
        java.util.Arrays.fill(residual, 0, m, 0.5f);
        java.util.Arrays.fill(residual, m, 2 * m, -0.125f);
        RefinerInputs.addResidual(residual, field);
        for (int y = 0; y < 37; y++) {
            for (int x = 0; x < 50; x++) {
                assertEquals(0.75f, field.u(y, x), 1e-6f);
                assertEquals(-1.125f, field.v(y, x), 1e-6f);
            }
        }
    }

    @Test
    void inputsDoNotDependOnTheIntensityScale() {
        Image a = texture(1, 40, 44);
        Image b = texture(2, 40, 44);
        FlowField f = FlowField.uniform(40, 44, 0.3, 0.1);
        Image unit = RefinerInputs.build(a, b, f);
        Image bright = RefinerInputs.build(scaled(a, 37f), scaled(b, 37f), f);
        for (int i = 0; i < unit.data().length; i++) {
            assertEquals(unit.data()[i], bright.data()[i], 1e-5f * Math.max(1, Math.abs(unit.data()[i])));
        }
        assertEquals(RefinerInputs.CHANNELS, unit.channels());
        assertEquals(10, unit.height());
        assertEquals(11, unit.width());
    }

    @Test
    void aUniformEstimateIsPassedOnScaledAndNeedsNoSmoothing() {
        Image a = texture(3, 32, 32);
        FlowField f = FlowField.uniform(32, 32, 2.0, -1.0);
        Image in = RefinerInputs.build(a, a, f);
        int m = in.height() * in.width();
        for (int i = 0; i < m; i++) {
            assertEquals(2.0f / RefinerInputs.FLOW_SCALE, in.data()[3 * m + i], 1e-6f);
            assertEquals(-1.0f / RefinerInputs.FLOW_SCALE, in.data()[4 * m + i], 1e-6f);
            for (int c = 5; c < RefinerInputs.CHANNELS; c++) {
                assertEquals(0f, in.data()[c * m + i], 1e-6f, "smoothing changes nothing in a uniform field");
            }
        }
    }

    @Test
    void theResidualIsTruthMinusEstimatePooled() {
        FlowField truth = FlowField.uniform(16, 20, 1.5, 0.5);
        FlowField estimate = FlowField.uniform(16, 20, 1.0, 1.0);
        Image r = RefinerInputs.residual(truth, estimate);
        int m = r.height() * r.width();
        for (int i = 0; i < m; i++) {
            assertEquals(0.5f, r.data()[i], 1e-6f);
            assertEquals(-0.5f, r.data()[m + i], 1e-6f);
        }
    }

    private static Image scaled(Image im, float k) {
        Image out = im.copy();
        for (int i = 0; i < out.data().length; i++) {
            out.data()[i] *= k;
        }
        return out;
    }
}
