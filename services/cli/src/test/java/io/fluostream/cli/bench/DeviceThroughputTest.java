package io.fluostream.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fluostream.learning.device.DeviceChoice;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What {@link DeviceThroughput} reports, with a stand-in stage (no timing is asserted). */
class DeviceThroughputTest {

    @Test
    void runsTheStageBuiltForTheResolvedDeviceAndClosesIt() {
        List<String> built = new ArrayList<>();
        int[] frames = {0};
        boolean[] closed = {false};
        Map<String, Object> json = DeviceThroughput.measure("cpu", 4, 8, 1, 0.01, 5, (DeviceChoice choice) -> {
            built.add(choice.label());
            return new DeviceThroughput.StageRun() {
                @Override
                public void frame(int index) {
                    frames[0]++;
                }

                @Override
                public void close() {
                    closed[0] = true;
                }
            };
        });
        assertEquals(List.of("cpu"), built);
        assertTrue(closed[0]);
        assertEquals("cpu", json.get("device"));
        assertTrue((Integer) json.get("device_frames") >= 5, "at least minFrames are timed: " + json);
        assertTrue(frames[0] >= (Integer) json.get("device_frames") + 3, "warm-up frames come first");
        assertTrue((Double) json.get("device_mpix_s") > 0);
        assertEquals("4x8", json.get("device_frame_px"));
    }

    @Test
    void gpuWithoutAGpuIsNullWithTheReason() {
        assumeTrue(DeviceChoice.gpuUnavailableReason().isPresent(), "a GPU is usable here");
        Map<String, Object> json = DeviceThroughput.measure("gpu", 4, 4, 1, 0.01, 1, choice -> {
            throw new AssertionError("no stage is built without a device");
        });
        assertEquals("gpu", json.get("device"));
        assertTrue(json.containsKey("device_mpix_s"));
        assertNull(json.get("device_mpix_s"));
        assertTrue(((String) json.get("device_unavailable")).contains(DeviceChoice.gpuUnavailableReason().get()));
    }

    @Test
    void onlyTheThreeDevicesAreAccepted() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceThroughput.resolve("auto", 1));
        assertTrue(e.getMessage().contains("djl-cpu"), e.getMessage());
    }
}
