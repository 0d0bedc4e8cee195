package io.fluostream.imaging.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class SimulationSettingsTest {

    private static final SimulationSettings D = SimulationSettings.defaults();

    @Test
    void defaultsAreTheDocumentedOnes() {
        assertEquals(new SimulationSettings(256, 256, 4, 3, 20, 1.5, 2.0, 100, 1.2, 20, 1.0, 8, 0.05, 1), D);
        assertEquals(40, D.aduPerUnitAbundance(), 1e-12);
        // 1 / (2 sin(π/8)) = 1.3066 px
        assertEquals(1.3066, D.maxDeformationPx(), 1e-4);
    }

    @Test
    void withersAndBuilderChangeOneFieldEach() {
        SimulationSettings s = D.withSize(64, 96).withChannelsAndFluorophores(1, 1).withSeed(7)
                .withMaxDriftPx(0).withPhotonLevel(500);
        assertEquals(64, s.height());
        assertEquals(96, s.width());
        assertEquals(1, s.channels());
        assertEquals(1, s.fluorophores());
        assertEquals(7, s.seed());
        assertEquals(0, s.maxDriftPx());
        assertEquals(500, s.photonLevel());
        assertEquals(D.psfSigmaPx(), s.psfSigmaPx());
        assertEquals(s, s.toBuilder().build());
        assertEquals(3.0, SimulationSettings.builder().offsetAdu(3).build().offsetAdu());
    }

    @Test
    void badSettingsAreRejectedWithAMessageNamingTheProblem() {
        expectRejected(() -> D.withSize(8, 256), "frame size");
        expectRejected(() -> D.withSize(256, 100_000), "frame size");
        expectRejected(() -> D.withChannelsAndFluorophores(0, 1), "channels");
        expectRejected(() -> D.withChannelsAndFluorophores(33, 1), "channels");
        expectRejected(() -> D.withChannelsAndFluorophores(2, 3), "cannot be unmixed");
        expectRejected(() -> D.withChannelsAndFluorophores(2, 0), "fluorophores");
        expectRejected(() -> D.withPhotonLevel(0), "photonLevel");
        expectRejected(() -> D.withPhotonLevel(Double.NaN), "photonLevel");
        expectRejected(() -> D.withPhotonLevel(Double.POSITIVE_INFINITY), "photonLevel");
        expectRejected(() -> D.withReadNoiseElectrons(-1), "readNoiseElectrons");
        expectRejected(() -> D.withGainAduPerElectron(0), "gainAduPerElectron");
        expectRejected(() -> D.withOffsetAdu(70_000), "offsetAdu");
        expectRejected(() -> D.withOffsetAdu(Double.NaN), "offsetAdu");
        expectRejected(() -> D.withPsfSigmaPx(0.2), "psfSigmaPx");
        expectRejected(() -> D.withMaxDriftPx(-0.1), "maxDriftPx");
        expectRejected(() -> D.withMaxFlowPxPerFrame(Double.NaN), "maxFlowPxPerFrame");
        expectRejected(() -> D.withFlowPeriodFrames(3), "flowPeriodFrames");
        expectRejected(() -> D.withBackgroundAbundance(-0.01), "backgroundAbundance");
        // 3 px/frame with a 400-frame period: max|D| ≈ 190 px, more than half of 256 px.
        expectRejected(() -> D.withMaxFlowPxPerFrame(3).withFlowPeriodFrames(400), "excursion");
    }

    private static void expectRejected(Supplier<SimulationSettings> settings, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, settings::get);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should mention " + expected);
    }
}
