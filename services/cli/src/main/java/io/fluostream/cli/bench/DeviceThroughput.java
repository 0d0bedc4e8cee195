package io.fluostream.cli.bench;

import io.fluostream.learning.device.DeviceChoice;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A stage's frame throughput on the device a bench's {@code --device} names ({@link DeviceOption}):
 * the measuring part every {@code bench <stage>} shares. The stage hands over a factory that builds
 * its per-frame work for a {@link DeviceChoice} (the pure-Java kernel for {@code cpu}, the device
 * implementation for {@code djl-cpu} and {@code gpu}); this class resolves the device, warms the
 * work up, times it and returns the JSON fields:
 *
 * <ul>
 *   <li>{@code device} — as asked; {@code device_mpix_s} — frame megapixels per second of wall
 *       time, or null when the device is unavailable, with {@code device_unavailable} saying why;</li>
 *   <li>{@code device_ms_per_frame}, {@code device_cpu_ms_per_frame} (process CPU time, all threads,
 *       libtorch's included), {@code device_frames} timed, {@code device_frame_px},
 *       {@code device_threads}, {@code device_detail} (what the engine offered).</li>
 * </ul>
 *
 * <p>Wall-clock figures depend on the machine's other load; callers report the load average too.
 */
public final class DeviceThroughput {

    /** The values {@code --device} accepts. */
    public static final List<String> CHOICES = List.of("cpu", "djl-cpu", "gpu");

    /** One stage's work per frame on one device; closed after the run (device memory freed). */
    public interface StageRun extends AutoCloseable {

        /** Processes the {@code index}-th frame of the run (callers cycle through their frames). */
        void frame(int index);

        @Override
        void close();
    }

    private DeviceThroughput() {
    }

    /**
     * The device for {@code --device}, with libtorch's threads set to {@code threads} (intra-op) and
     * 1 (inter-op) before it loads.
     *
     * @throws IllegalArgumentException for a value other than cpu, djl-cpu or gpu
     * @throws IllegalStateException    for gpu when none is usable, with the reason
     */
    public static DeviceChoice resolve(String device, int threads) {
        String d = device == null ? "" : device.trim().toLowerCase(Locale.ROOT);
        if (!CHOICES.contains(d)) {
            throw new IllegalArgumentException("--device is '" + device + "'; use cpu (pure-Java kernels), djl-cpu (device"
                    + " code on libtorch's CPU kernels) or gpu");
        }
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads",
                Integer.toString(threads)));
        System.setProperty("ai.djl.pytorch.num_interop_threads", System.getProperty("ai.djl.pytorch.num_interop_threads", "1"));
        return DeviceChoice.resolve(DeviceChoice.Setting.parse(d), false);
    }

    /**
     * Times {@code stage} on {@code device}: a warm-up of at least 3 frames (or a third of
     * {@code seconds}), then frames for {@code seconds} of wall time and at least {@code minFrames}.
     *
     * @param height    frame height, px (for the megapixels)
     * @param width     frame width, px
     * @param threads   threads the stage's work uses (reported)
     * @param stage     builds the stage's per-frame work for the resolved device
     * @return the JSON fields above; {@code device_mpix_s} null with {@code device_unavailable} when
     *     the device cannot be used here
     */
    public static Map<String, Object> measure(String device, int height, int width, int threads, double seconds,
            int minFrames, Function<DeviceChoice, StageRun> stage) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("device", device);
        DeviceChoice choice;
        try {
            choice = resolve(device, threads);
        } catch (IllegalStateException e) {
            json.put("device_mpix_s", null);
            json.put("device_unavailable", e.getMessage());
            System.out.printf("device %s: unavailable: %s%n", device, e.getMessage());
            return json;
        }
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        com.sun.management.OperatingSystemMXBean cpu = os instanceof com.sun.management.OperatingSystemMXBean c ? c : null;
        int n = 0;
        long wall;
        long cpuNs;
        try (StageRun run = stage.apply(choice)) {
            int i = 0;
            long warmEnd = System.nanoTime() + (long) (seconds / 3 * 1e9);
            while (i < 3 || System.nanoTime() < warmEnd) {
                run.frame(i++);
            }
            long c0 = cpu == null ? 0 : cpu.getProcessCpuTime();
            long t0 = System.nanoTime();
            long end = t0 + (long) (seconds * 1e9);
            while (n < minFrames || System.nanoTime() < end) {
                run.frame(i++);
                n++;
            }
            wall = System.nanoTime() - t0;
            cpuNs = cpu == null ? -1 : cpu.getProcessCpuTime() - c0;
        }
        double ms = wall / 1e6 / n;
        double mpix = (double) height * width * n / (wall / 1e9) / 1e6;
        double cpuMs = cpuNs < 0 ? Double.NaN : cpuNs / 1e6 / n;
        System.out.printf(Locale.ROOT, "device %s, %dx%d, %d thread(s): %.2f ms/frame wall = %.2f MP/s; CPU %.2f ms/frame"
                + " (process)%n", choice.label(), height, width, threads, ms, mpix, cpuMs);
        json.put("device_mpix_s", round(mpix));
        json.put("device_ms_per_frame", round(ms));
        json.put("device_cpu_ms_per_frame", round(cpuMs));
        json.put("device_frames", n);
        json.put("device_frame_px", height + "x" + width);
        json.put("device_threads", threads);
        json.put("device_detail", choice.reason());
        return json;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
