package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import org.junit.jupiter.api.Test;

/**
 * The device unmixer (djl-cpu) against the pure-Java unmixers on simulated 10-photon frames, where
 * noise makes about half of the background's least-squares coefficients negative. Tolerance:
 * abundances and residuals within 1e-5 of the frame's largest abundance (measured: up to 6e-7),
 * frame figures within 1e-5 relative.
 */
class DeviceUnmixerTest {

    @Test
    void nonNegativeMatchesPureJava() {
        for (int f = 1; f <= 4; f++) {
            ForwardModel model = Simulated.stream(64, 5, f, 10, 3 + f);
            ReferenceSpectra spectra = ReferenceSpectra.of(model.mixingMatrix());
            Image frame = Simulated.offsetFree(model, 1);
            try (DeviceUnmixer device = new DeviceUnmixer(spectra, true, Device.cpu())) {
                compare(new NnlsUnmixer(spectra).unmix(frame), device.unmix(frame), "nnls F=" + f);
            }
        }
    }

    @Test
    void leastSquaresMatchesPureJava() {
        ForwardModel model = Simulated.stream(64, 4, 3, 10, 7);
        ReferenceSpectra spectra = ReferenceSpectra.of(model.mixingMatrix());
        Image frame = Simulated.offsetFree(model, 2);
        try (DeviceUnmixer device = new DeviceUnmixer(spectra, false, Device.cpu())) {
            compare(new LeastSquaresUnmixer(spectra).unmix(frame), device.unmix(frame), "ls");
        }
    }

    private static void compare(SpectralUnmixer.Result expected, SpectralUnmixer.Result actual, String what) {
        double scale = Simulated.maxAbs(expected.abundances());
        double diff = Simulated.maxAbsDifference(expected.abundances(), actual.abundances());
        double rdiff = Simulated.maxAbsDifference(expected.residual(), actual.residual());
        System.out.printf("%s: max|da| %.3g of %.3g (%.2g), max|dr| %.3g, mean residual %.6g vs %.6g%n", what, diff, scale,
                diff / scale, rdiff, expected.meanResidual(), actual.meanResidual());
        assertTrue(diff <= 1e-5 * scale, what + ": abundances differ by " + diff + " ADU (scale " + scale + ")");
        assertTrue(rdiff <= 1e-5 * scale, what + ": residuals differ by " + rdiff + " ADU");
        assertEquals(expected.meanResidual(), actual.meanResidual(), 1e-5 * expected.meanResidual() + 1e-9, what);
        assertEquals(expected.relativeResidual(), actual.relativeResidual(), 1e-5 * expected.relativeResidual() + 1e-9, what);
    }
}
