package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.denoise.ClassicalDenoiser;
import io.fluostream.imaging.flow.ConsistentFlow;
import io.fluostream.imaging.flow.PyramidalFlow;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.stabilise.PhaseCorrelator;
import io.fluostream.imaging.stabilise.StabiliseSettings;
import io.fluostream.imaging.stabilise.Stabiliser;
import io.fluostream.imaging.stabilise.StreamTemplate;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import java.io.IOException;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No per-frame native memory leak: every device stage runs {@value #WARM_UP} frames of 128×128 to
 * warm up, then {@link #FRAMES} more (2000 by default, {@code -Dfluostream.leak-test.frames=N} for
 * longer runs); across those the arrays its long-lived manager holds stay exactly the same, and the
 * native memory in use (glibc's allocator: libtorch's CPU tensors, direct buffers) grows by less
 * than {@value #TOLERANCE_MIB} MiB per 1000 frames. One leaked 128×128 plane per frame would be
 * 64 MiB per 1000 frames. The JVM's own malloc use (JIT arenas, GC remembered sets, arena trims)
 * moves the figure by up to ~20 MiB either way, once per run rather than per frame (flow over
 * 1000 frames: −0.6, +17.5 and +20 MiB in three runs; over 3000 frames: −12 MiB): 2000 frames keep
 * that one-off below the budget with the same per-frame sensitivity. Cheap
 * settings (one wavelet level; both flow directions on two levels, one step each) keep the run short: the same
 * operations run per frame, only fewer times.
 */
class DeviceMemoryTest {

    static final int FRAMES = Integer.getInteger("fluostream.leak-test.frames", 2000);
    static final int WARM_UP = 200;
    static final long TOLERANCE_MIB = 16;
    private static final int SIZE = 128;

    private final ForwardModel model = Simulated.stream(SIZE, 3, 2, 20, 17);
    private final Image[] frames = {Simulated.offsetFree(model, 0), Simulated.offsetFree(model, 1), Simulated.offsetFree(model, 2)};

    @BeforeAll
    static void needsTheAllocatorFigure() {
        assumeTrue(NativeMemory.allocatorAvailable(), "glibc mallinfo2 is not available on this platform");
    }

    @Test
    void unmixHoldsNoMemoryPerFrame() throws IOException {
        try (DeviceUnmixer unmixer = new DeviceUnmixer(ReferenceSpectra.of(model.mixingMatrix()), true, Device.cpu())) {
            run("unmix", i -> unmixer.unmix(frames[i % 3]), unmixer::heldArrays);
        }
    }

    @Test
    void denoiseHoldsNoMemoryPerFrame() throws IOException {
        try (DeviceDenoiser denoiser = new DeviceDenoiser(new ClassicalDenoiser.Settings(1, 3.0, 1.0, 8), Device.cpu())) {
            run("denoise", i -> denoiser.denoise(frames[i % 3], 0), denoiser::heldArrays);
        }
    }

    @Test
    void stabiliseHoldsNoMemoryPerFrame() throws IOException {
        try (DeviceStabiliser stabiliser = new DeviceStabiliser(SIZE, SIZE, PhaseCorrelator.Settings.DEFAULT, Device.cpu());
                DeviceStabiliser.Reference reference = stabiliser.prepare(frames[0])) {
            // The frames' drift moves the integer peak, so the fine pass's reference cache is rebuilt too.
            run("stabilise", i -> stabiliser.stabilise(reference, frames[i % 3], -1, 0), stabiliser::heldArrays);
        }
    }

    /**
     * The stage's way: {@link Stabiliser} with the device rigid path and a running-mean template
     * refreshed on every frame, so every frame prepares a new device template and frees the last.
     */
    @Test
    void stageStabiliserOnTheDeviceHoldsNoMemoryPerFrame() throws IOException {
        StabiliseSettings settings = StabiliseSettings.DEFAULT.withTemplateFrames(32, 1);
        StreamTemplate template = new StreamTemplate();
        Image out = new Image(frames[0].channels(), SIZE, SIZE);
        try (DeviceRigidPath path = new DeviceRigidPath(Device.cpu()); Stabiliser stabiliser = new Stabiliser(1, path)) {
            run("stage stabiliser", i -> stabiliser.register(template, frames[i % 3], i, settings, out), path::heldArrays);
        }
    }

    @Test
    void flowHoldsNoMemoryPerFrame() throws IOException {
        Image[] planes = {frames[0].channel(0), frames[1].channel(0), frames[2].channel(0)};
        PyramidalFlow.Settings settings = PyramidalFlow.Settings.lowLight().withLevels(2).withIterations(1);
        try (DeviceConsistentFlow flow = new DeviceConsistentFlow(ConsistentFlow.Settings.defaults().withFlow(settings),
                Device.cpu())) {
            run("flow", i -> flow.estimate(planes[i % 3], planes[(i + 1) % 3]), flow::heldArrays);
        }
    }

    private static void run(String stage, IntConsumer frame, IntSupplier held) throws IOException {
        for (int i = 0; i < WARM_UP; i++) {
            frame.accept(i);
        }
        int heldBefore = held.getAsInt();
        long allocatedBefore = NativeMemory.allocatedBytes();
        long rssBefore = NativeMemory.residentKib();
        for (int i = 0; i < FRAMES; i++) {
            frame.accept(i);
        }
        int heldAfter = held.getAsInt();
        long grown = NativeMemory.allocatedBytes() - allocatedBefore;
        long rssGrown = NativeMemory.residentKib() - rssBefore;
        System.out.printf("%s: %d frames, held arrays %d -> %d, allocated %+d KiB, VmRSS %+d KiB%n", stage, FRAMES,
                heldBefore, heldAfter, grown >> 10, rssGrown);
        assertEquals(heldBefore, heldAfter, stage + ": arrays held across frames");
        assertTrue(grown < (TOLERANCE_MIB << 20) * FRAMES / 1000, stage + ": native memory in use grew by "
                + (grown >> 10) + " KiB over " + FRAMES + " frames");
    }
}
