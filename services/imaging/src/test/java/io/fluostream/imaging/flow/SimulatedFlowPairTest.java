package io.fluostream.imaging.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulationSettings;
import org.junit.jupiter.api.Test;

/** {@link SimulatedFlowPair}: the truth flow maps the frames onto each other. */
class SimulatedFlowPairTest {

    private static final SimulationSettings SETTINGS = SimulationSettings.defaults().withSize(128, 128)
            .withMaxFlowPxPerFrame(3).withSeed(5);

    @Test
    void nearlyNoiseFreeFramesAreMappedOntoEachOtherByTheTruth() {
        SimulatedFlowPair pair = SimulatedFlowPair.simulate(SETTINGS.withPhotonLevel(1e5), 0, 1, SimulatedFlowPair.Input.RAW);
        SignalMask mask = pair.signalMask(12);
        Image back = Warp.bilinear(pair.next(), pair.truth());
        double error = 0;
        double signal = 0;
        for (int i = 0; i < back.data().length; i++) {
            if (mask.contains(i)) {
                double d = back.data()[i] - pair.previous().data()[i];
                error += d * d;
                signal += pair.previous().data()[i] * pair.previous().data()[i];
            }
        }
        // measured 1.6% rms (bilinear interpolation and the residual noise at 10^5 e-)
        assertTrue(Math.sqrt(error / signal) < 0.03, "relative rms " + Math.sqrt(error / signal));
        assertTrue(mask.count() > 1000, "test premise: the frame has signal");
    }

    @Test
    void rawFramesAreOffsetFreeAndDenoisedOnesComeFromTheDenoiser() {
        SimulatedFlowPair raw = SimulatedFlowPair.simulate(SETTINGS, 0, 1, SimulatedFlowPair.Input.RAW);
        SimulatedFlowPair denoised = SimulatedFlowPair.simulate(SETTINGS, 0, 1, SimulatedFlowPair.Input.DENOISED);
        double rawMean = mean(raw.previous());
        double cleanMean = mean(raw.cleanPrevious());
        // The offset (100 ADU x 4 channels) is removed: the mean matches the clean frame's.
        assertEquals(cleanMean, rawMean, 0.02 * cleanMean);
        assertEquals(cleanMean, mean(denoised.previous()), 0.02 * cleanMean);
        assertEquals(SimulatedFlowPair.Input.DENOISED, denoised.input());
    }

    @Test
    void driftOrAMissingPredecessorIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SimulatedFlowPair.simulate(new ForwardModel(SETTINGS, 0), 1, SimulatedFlowPair.Input.RAW));
        assertTrue(e.getMessage().contains("drift"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SimulatedFlowPair.simulate(SETTINGS, 0, 0, SimulatedFlowPair.Input.RAW));
    }

    private static double mean(Image im) {
        double s = 0;
        for (float v : im.data()) {
            s += v;
        }
        return s / im.data().length;
    }
}
