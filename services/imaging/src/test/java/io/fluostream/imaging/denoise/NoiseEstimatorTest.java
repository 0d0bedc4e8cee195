package io.fluostream.imaging.denoise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The estimator against frames from a known camera: Poisson photo-electrons × gain + Gaussian read
 * noise (2 e⁻ rms, typical of an sCMOS) + offset 100 ADU, rounded to integer ADU, on a 256×256
 * cell-like scene. True {@code b} is the read variance plus 1/12 ADU² of rounding.
 */
class NoiseEstimatorTest {

    private static final double OFFSET = 100;
    private static final double READ_NOISE_ELECTRONS = 2.0;

    private static double trueReadVariance(double gain) {
        double readAdu = READ_NOISE_ELECTRONS * gain;
        return readAdu * readAdu + 1.0 / 12.0;
    }

    private static Image frame(double peak, double gain, long seed) {
        Image electrons = SyntheticFrames.cleanScene(1, 256, 256, peak, seed);
        return SyntheticFrames.camera(electrons, gain, READ_NOISE_ELECTRONS * gain, OFFSET, seed + 1);
    }

    /*
     * Tolerances: over 12 seeds per case the gain's rms error was 5–6 % at peak 5 e⁻ (worst 12 %),
     * 2.5 % at 20 e⁻ (worst 6 %) and 2–3 % at 100 e⁻ (worst 5 %); the read variance's 1–2 %
     * (worst 3 %) at 5 and 20 e⁻, 3–5 % (worst 9 %) at 100 e⁻, where it is only a third of the
     * variance at the darkest level and so an extrapolated intercept. At low light precision is
     * limited by how much of the scene is bright and flat, not by the method.
     */
    @ParameterizedTest(name = "peak {0} e-, gain {1} ADU/e-")
    @CsvSource({
        "5, 1, 0.15, 0.10", "5, 2, 0.15, 0.10", "5, 3, 0.15, 0.10",
        "20, 1, 0.10, 0.10", "20, 2, 0.10, 0.10", "20, 3, 0.10, 0.10",
        "100, 1, 0.10, 0.15", "100, 2, 0.10, 0.15", "100, 3, 0.10, 0.15"})
    void recoversGainAndReadVarianceFromOneFrame(double peak, double gain, double gainTol, double readTol) {
        Image raw = frame(peak, gain, 40 + (long) (peak * 10 + gain));
        NoiseModel model = new NoiseEstimator().estimate(raw, OFFSET)[0];
        assertEquals(gain, model.gain(), gainTol * gain, "gain " + model);
        assertEquals(trueReadVariance(gain), model.readVariance(), readTol * trueReadVariance(gain), "read variance " + model);
        assertEquals(OFFSET, model.offset(), 0.0, "a known offset is kept");
    }

    @Test
    void gainIsUnbiasedAtLowLight() {
        // The mean over 8 frames at peak 5 e⁻: single-frame scatter (~5.5 %) averages down to ~2 %,
        // so 6 % is ~3 standard errors; binning blocks by their own noisy mean (errors in
        // variables) gave −13 % here.
        double gain = 2;
        NoiseEstimator estimator = new NoiseEstimator();
        double sum = 0;
        for (int k = 0; k < 8; k++) {
            sum += estimator.estimate(frame(5, gain, 300 + 10L * k), OFFSET)[0].gain();
        }
        assertEquals(gain, sum / 8, 0.06 * gain);
    }

    @Test
    void unknownOffsetTakesTheDarkestLevelAsPhotonFreeAndKeepsTheVarianceThere() {
        double gain = 2;
        Image electrons = SyntheticFrames.cleanScene(1, 256, 256, 20, 7);
        Image raw = SyntheticFrames.camera(electrons, gain, READ_NOISE_ELECTRONS * gain, OFFSET, 8);
        NoiseModel model = new NoiseEstimator().estimate(raw, Double.NaN)[0];
        // The darkest level is the background, ~5 % of peak ≈ 1 e⁻ ≈ 2 ADU above the offset.
        double darkest = OFFSET + gain * min(electrons.data());
        assertEquals(darkest, model.offset(), 2.0, "offset " + model);
        assertEquals(gain, model.gain(), 0.10 * gain, "gain does not depend on the offset: " + model);
        // There, the model's variance is the true one (read variance plus the background's shot noise).
        double trueVarianceThere = trueReadVariance(gain) + gain * (model.offset() - OFFSET);
        assertEquals(trueVarianceThere, model.variance(model.offset()), 0.10 * trueVarianceThere, "" + model);
    }

    @Test
    void aBlankFrameGivesTheQuantisationFloorNotNaN() {
        Image blank = new Image(1, 64, 64);
        Arrays.fill(blank.data(), 250f);
        NoiseModel known = new NoiseEstimator().estimate(blank, OFFSET)[0];
        assertEquals(new NoiseModel(0, NoiseEstimator.QUANTISATION_VARIANCE, OFFSET), known);
        NoiseModel unknown = new NoiseEstimator().estimate(blank, Double.NaN)[0];
        assertEquals(new NoiseModel(0, NoiseEstimator.QUANTISATION_VARIANCE, 250), unknown);
    }

    @Test
    void aFlatNoisyFrameGetsTheRightVarianceAtItsLevel() {
        // One level only: gain and read variance cannot be told apart, the variance there can.
        double gain = 2;
        Image electrons = new Image(1, 128, 128);
        Arrays.fill(electrons.data(), 30f);
        Image raw = SyntheticFrames.camera(electrons, gain, 4, OFFSET, 3);
        NoiseModel model = new NoiseEstimator().estimate(raw, OFFSET)[0];
        double truth = gain * gain * 30 + 16 + 1.0 / 12;
        // 16 384 samples: the sample variance alone has ~1.1 % standard error; 5 % is 4.5 of them.
        assertEquals(truth, model.variance(OFFSET + gain * 30), 0.05 * truth, "" + model);
    }

    @Test
    void pureGaussianNoiseHasNoSignalDependence() {
        SplittableRandom rng = new SplittableRandom(11);
        Image scene = SyntheticFrames.cleanScene(1, 256, 256, 200, 12);
        float[] d = scene.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (OFFSET + d[i] + 3 * SyntheticFrames.gaussian(rng));
        }
        NoiseModel model = new NoiseEstimator().estimate(scene, OFFSET)[0];
        // Against a 200 ADU signal range, a slope of 0.05 would add 10 ADU² (≈ the read variance).
        assertTrue(model.gain() < 0.05, "gain " + model);
        assertEquals(9.0, model.readVariance(), 0.9, "" + model);
    }

    @Test
    void tinyPlanesFallBackWithoutNaN() {
        NoiseEstimator estimator = new NoiseEstimator();
        for (int[] shape : new int[][] {{1, 1}, {1, 9}, {2, 2}, {3, 3}, {4, 7}, {9, 9}, {17, 5}}) {
            int n = shape[0] * shape[1];
            float[] plane = new float[n];
            for (int i = 0; i < n; i++) {
                plane[i] = 100 + (i * 7919 % 13);
            }
            NoiseModel model = estimator.estimate(plane, 0, shape[0], shape[1], Double.NaN);
            assertTrue(Double.isFinite(model.gain()) && Double.isFinite(model.readVariance())
                    && Double.isFinite(model.offset()), Arrays.toString(shape) + " " + model);
            assertTrue(model.readVariance() >= NoiseEstimator.QUANTISATION_VARIANCE);
            if (shape[0] < 3 || shape[1] < 3) {
                // Documented rule: too small for the residual → quantisation floor, darkest pixel as offset.
                assertEquals(new NoiseModel(0, NoiseEstimator.QUANTISATION_VARIANCE, 100), model);
            }
        }
    }

    @Test
    void rejectsBadInputWithAMessage() {
        NoiseEstimator estimator = new NoiseEstimator();
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> estimator.estimate(new float[0], 0, 0, 5, OFFSET));
        assertTrue(empty.getMessage().contains("positive size"), empty.getMessage());
        float[] plane = new float[16];
        plane[6] = Float.NaN;
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> estimator.estimate(plane, 0, 4, 4, OFFSET));
        assertTrue(nan.getMessage().contains("non-finite") && nan.getMessage().contains("y=1, x=2"), nan.getMessage());
        IllegalArgumentException tooShort = assertThrows(IllegalArgumentException.class,
                () -> estimator.estimate(new float[10], 0, 4, 4, OFFSET));
        assertTrue(tooShort.getMessage().contains("does not fit"), tooShort.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> estimator.estimate(new float[16], 0, 4, 4, Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> new NoiseEstimator(5));
    }

    @Test
    void noiseModelNeverGoesBelowTheReadVariance() {
        NoiseModel model = new NoiseModel(2, 9, 100);
        assertEquals(9, model.variance(50), 0.0, "below the offset only read noise remains");
        assertEquals(9 + 2 * 40, model.variance(140), 1e-12);
        assertEquals(Math.sqrt(89), model.sigmaAt(140), 1e-12);
        assertEquals(1.5, model.readNoiseElectrons(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> new NoiseModel(0, 0, 100));
        assertThrows(IllegalArgumentException.class, () -> new NoiseModel(-1, 1, 100));
        assertThrows(IllegalArgumentException.class, () -> new NoiseModel(1, Double.NaN, 100));
    }

    private static double min(float[] d) {
        double m = Double.POSITIVE_INFINITY;
        for (float v : d) {
            m = Math.min(m, v);
        }
        return m;
    }
}
