package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.Shift;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same device code on CUDA against libtorch's CPU kernels (djl-cpu), stage by stage. Skips
 * with the reason where no GPU is usable (every CI machine today). Tolerances are looser than the
 * CPU equivalence tests': cuFFT, cuBLAS (TF32 where allowed) and GPU reductions round differently.
 */
class GpuEquivalenceTest {

    private final ForwardModel model = Simulated.stream(128, 4, 3, 20, 9);

    @BeforeAll
    static void needsAGpu() {
        assumeFalse(DeviceChoice.gpuUnavailableReason().isPresent(),
                () -> "no usable GPU: " + DeviceChoice.gpuUnavailableReason().get());
    }

    @Test
    void unmix() {
        ReferenceSpectra spectra = ReferenceSpectra.of(model.mixingMatrix());
        Image frame = Simulated.offsetFree(model, 1);
        try (DeviceUnmixer cpu = new DeviceUnmixer(spectra, true, Device.cpu());
                DeviceUnmixer gpu = new DeviceUnmixer(spectra, true, Device.gpu())) {
            SpectralUnmixer.Result a = cpu.unmix(frame);
            SpectralUnmixer.Result b = gpu.unmix(frame);
            assertTrue(Simulated.maxAbsDifference(a.abundances(), b.abundances()) <= 1e-3 * Simulated.maxAbs(a.abundances()));
        }
    }

    @Test
    void denoise() {
        Image raw = model.frame(0).raw();
        try (DeviceDenoiser cpu = new DeviceDenoiser(ClassicalDenoiser.Settings.defaults(), Device.cpu());
                DeviceDenoiser gpu = new DeviceDenoiser(ClassicalDenoiser.Settings.defaults(), Device.gpu())) {
            assertTrue(Simulated.relativeRms(cpu.denoise(raw, Double.NaN).denoised(), gpu.denoise(raw, Double.NaN).denoised()) <= 1e-4);
        }
    }

    @Test
    void stabilise() {
        Image reference = Images.sumChannels(model.frame(0).abundances());
        Image moving = model.frame(4).abundances();
        try (DeviceStabiliser cpu = new DeviceStabiliser(128, 128, PhaseCorrelator.Settings.DEFAULT, Device.cpu());
                DeviceStabiliser gpu = new DeviceStabiliser(128, 128, PhaseCorrelator.Settings.DEFAULT, Device.gpu());
                DeviceStabiliser.Reference rc = cpu.prepare(reference);
                DeviceStabiliser.Reference rg = gpu.prepare(reference)) {
            Shift a = cpu.estimate(rc, moving);
            Shift b = gpu.estimate(rg, moving);
            assertEquals(a.dx(), b.dx(), 0.005);
            assertEquals(a.dy(), b.dy(), 0.005);
            assertTrue(Simulated.maxAbsDifference(cpu.resample(moving, a.dx(), a.dy()), gpu.resample(moving, a.dx(), a.dy()))
                    <= 1e-3 * Simulated.maxAbs(moving));
        }
    }

    @Test
    void flow() {
        Image previous = Images.sumChannels(model.driftFreeAbundances(1));
        Image next = Images.sumChannels(model.driftFreeAbundances(2));
        try (DeviceFlow cpu = new DeviceFlow(PyramidalFlow.Settings.defaults(), Device.cpu());
                DeviceFlow gpu = new DeviceFlow(PyramidalFlow.Settings.defaults(), Device.gpu())) {
            FlowField a = cpu.estimate(previous, next);
            FlowField b = gpu.estimate(previous, next);
            assertTrue(Simulated.maxAbsDifference(a.asImage(), b.asImage()) <= 0.01);
        }
    }
}
