package io.fluostream.learning.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

/** Resolving {@code fluostream.device}; the GPU cases run on whichever side of the fence this machine is. */
class DeviceChoiceTest {

    @Test
    void parsesEverySettingAndRejectsOthersWithTheAcceptedValues() {
        assertEquals(DeviceChoice.Setting.AUTO, DeviceChoice.Setting.parse(null));
        assertEquals(DeviceChoice.Setting.AUTO, DeviceChoice.Setting.parse(" "));
        assertEquals(DeviceChoice.Setting.CPU, DeviceChoice.Setting.parse("CPU"));
        assertEquals(DeviceChoice.Setting.GPU, DeviceChoice.Setting.parse("gpu"));
        assertEquals(DeviceChoice.Setting.DJL_CPU, DeviceChoice.Setting.parse(" djl-cpu "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.Setting.parse("cuda"));
        assertTrue(e.getMessage().contains("'cuda'") && e.getMessage().contains("djl-cpu"), e.getMessage());
    }

    @Test
    void cpuIsPureJavaAndDjlCpuIsTheDevicePathOnTheCpu() {
        DeviceChoice cpu = DeviceChoice.resolve("cpu");
        assertFalse(cpu.onDevice());
        assertEquals("cpu", cpu.label());
        assertThrows(IllegalStateException.class, cpu::device);
        DeviceChoice djl = DeviceChoice.resolve("djl-cpu");
        assertTrue(djl.onDevice());
        assertEquals(Device.cpu(), djl.device());
        assertEquals("djl-cpu", djl.label());
        assertFalse(DeviceChoice.resolve(DeviceChoice.Setting.DJL_CPU, true).halfPrecision(), "half precision is GPU-only");
    }

    @Test
    void withoutAGpuGpuFailsAtResolutionAndAutoFallsBackToCpuSayingWhy() {
        String missing = DeviceChoice.gpuUnavailableReason().orElse(null);
        assumeTrue(missing != null, "this machine has a usable GPU");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceChoice.resolve("gpu"));
        assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("fluostream.device=auto"), e.getMessage());
        DeviceChoice auto = DeviceChoice.resolve("auto");
        assertEquals("cpu", auto.label());
        assertEquals(DeviceChoice.Setting.AUTO, auto.requested());
        assertTrue(auto.reason().contains(missing), auto.reason());
    }

    @Test
    void withAGpuAutoAndGpuPickIt() {
        assumeFalse(DeviceChoice.gpuUnavailableReason().isPresent(),
                () -> "no usable GPU: " + DeviceChoice.gpuUnavailableReason().get());
        assertEquals(Device.gpu(0), DeviceChoice.resolve("gpu").device());
        assertEquals("gpu", DeviceChoice.resolve("auto").label());
        assertTrue(DeviceChoice.resolve(DeviceChoice.Setting.GPU, true).halfPrecision());
    }
}
