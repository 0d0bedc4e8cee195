package io.fluostream.stage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.learning.device.DeviceChoice;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code fluostream.device} as a service resolves it ({@link StageDevices#resolve}) and what the
 * runtime reports for GetStatus ({@link StageRuntime#device()}: the kernel's device).
 */
class StageDevicesTest {

    private static DeviceChoice resolve(String value) {
        return StageDevices.resolve(key -> DeviceChoice.PROPERTY.equals(key) ? Optional.ofNullable(value) : Optional.empty());
    }

    @Test
    void explicitSettingsResolveToTheirPath() {
        assertEquals("cpu", resolve("cpu").label());
        assertFalse(resolve("cpu").onDevice());
        assertEquals("djl-cpu", resolve("djl-cpu").label());
        assertTrue(resolve(" DJL-CPU ").onDevice());
    }

    @Test
    void unsetMeansAutoWhichIsTheGpuOnlyWhenOneIsUsable() {
        DeviceChoice auto = resolve(null);
        assertEquals(DeviceChoice.Setting.AUTO, auto.requested());
        assertEquals(DeviceChoice.gpuUnavailableReason().isPresent() ? "cpu" : "gpu", auto.label());
    }

    @Test
    void gpuWithoutAGpuFailsWithTheReasonInsteadOfFallingBack() {
        Optional<String> missing = DeviceChoice.gpuUnavailableReason();
        assumeTrue(missing.isPresent(), "a GPU is usable here: gpu resolves (GpuEquivalenceTest covers it)");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> resolve("gpu"));
        assertTrue(e.getMessage().contains(missing.get()), e.getMessage());
        assertTrue(e.getMessage().contains("auto") && e.getMessage().contains("cpu"), "says what to do: " + e.getMessage());
    }

    @Test
    void aValueNotOnTheListIsRefusedNamingTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> resolve("cuda"));
        assertTrue(e.getMessage().contains("djl-cpu"), e.getMessage());
    }

    @Test
    void statusReportsTheKernelsDevice() {
        StageKernel doubler = new FrameProcessorTopologyTest.Doubler();
        StageKernel onDevice = new StageKernel() {
            @Override
            public String stage() {
                return doubler.stage();
            }

            @Override
            public Topic input() {
                return doubler.input();
            }

            @Override
            public Topic output() {
                return doubler.output();
            }

            @Override
            public List<Parameter> parameters() {
                return doubler.parameters();
            }

            @Override
            public List<QualitySignal> qualitySignals() {
                return doubler.qualitySignals();
            }

            @Override
            public StageOutput process(FrameInput input) throws FrameRejected {
                return doubler.process(input);
            }

            @Override
            public String device() {
                return "djl-cpu";
            }
        };
        StageRuntime runtime = new StageRuntime(onDevice, new StageIdentity("doubler", "test", "t1"),
                TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
        assertEquals("djl-cpu", runtime.device());
        StageRuntime plain = new StageRuntime(new FrameProcessorTopologyTest.Doubler(),
                new StageIdentity("doubler", "test", "t2"), TopicNames.defaults(), new SimpleMeterRegistry(), Map.of());
        assertEquals("cpu", plain.device(), "a kernel without a device path runs the pure-Java kernels");
    }
}
