package io.fluostream.learning.device;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a stage runs its reconstruction: the per-service setting {@value #PROPERTY} resolved, once
 * at start, against what the PyTorch engine sees.
 *
 * <ul>
 *   <li>{@code auto} — the GPU when the engine sees one, else the pure-Java CPU kernels;</li>
 *   <li>{@code cpu} — the pure-Java kernels of {@code fluostream-imaging} (no native library);</li>
 *   <li>{@code gpu} — the device path on CUDA device 0; with no usable GPU, {@link #resolve}
 *       fails with the reason instead of falling back silently;</li>
 *   <li>{@code djl-cpu} — the device path executed by libtorch on the CPU: how CI tests the device
 *       code, and an option where libtorch's CPU kernels beat the Java ones.</li>
 * </ul>
 *
 * <p>{@link #label()} is what GetStatus reports. Immutable.
 */
public final class DeviceChoice {

    /** The configuration key (MicroProfile config / system property); env var {@code FLUOSTREAM_DEVICE}. */
    public static final String PROPERTY = "fluostream.device";

    /**
     * Half precision for networks on the GPU (e.g. the denoising U-Net): {@code true} to allow it.
     * Ignored off the GPU, where float16 kernels are slow and gain nothing.
     */
    public static final String HALF_PRECISION_PROPERTY = "fluostream.device.half-precision";

    /** The values {@value #PROPERTY} accepts. */
    public enum Setting {
        AUTO("auto"), CPU("cpu"), GPU("gpu"), DJL_CPU("djl-cpu");

        private final String text;

        Setting(String text) {
            this.text = text;
        }

        public String text() {
            return text;
        }

        /**
         * Parses {@code auto | cpu | gpu | djl-cpu} (case and surrounding space ignored; blank means
         * auto).
         *
         * @throws IllegalArgumentException naming the accepted values
         */
        public static Setting parse(String value) {
            if (value == null || value.isBlank()) {
                return AUTO;
            }
            String v = value.trim().toLowerCase(Locale.ROOT);
            for (Setting s : values()) {
                if (s.text.equals(v)) {
                    return s;
                }
            }
            throw new IllegalArgumentException(PROPERTY + " is '" + value
                    + "'; use one of auto (GPU if present, else CPU), cpu (pure Java), gpu, djl-cpu (device code on the CPU)");
        }
    }

    private final Setting requested;
    private final Device device;
    private final String label;
    private final String reason;
    private final boolean halfPrecision;

    private DeviceChoice(Setting requested, Device device, String label, String reason, boolean halfPrecision) {
        this.requested = requested;
        this.device = device;
        this.label = label;
        this.reason = reason;
        this.halfPrecision = halfPrecision;
    }

    /** The pure-Java kernels. */
    public static DeviceChoice cpu() {
        return new DeviceChoice(Setting.CPU, null, "cpu", "fluostream.device=cpu", false);
    }

    /** The device code on libtorch's CPU kernels. */
    public static DeviceChoice djlCpu() {
        return new DeviceChoice(Setting.DJL_CPU, Device.cpu(), "djl-cpu", "fluostream.device=djl-cpu", false);
    }

    /** {@link #resolve(Setting, boolean)} of the parsed setting, without half precision. */
    public static DeviceChoice resolve(String setting) {
        return resolve(Setting.parse(setting), false);
    }

    /**
     * Resolves a setting against this machine.
     *
     * @param halfPrecision allow float16 networks; honoured only on the GPU
     * @throws IllegalStateException for {@code gpu} when no GPU is usable, with the reason and what
     *     to do
     */
    public static DeviceChoice resolve(Setting setting, boolean halfPrecision) {
        switch (setting) {
            case CPU:
                return cpu();
            case DJL_CPU:
                return djlCpu();
            case GPU: {
                Optional<String> missing = gpuUnavailableReason();
                if (missing.isPresent()) {
                    throw new IllegalStateException(PROPERTY + "=gpu but " + missing.get()
                            + ". Set " + PROPERTY + "=auto (GPU when present, else CPU) or cpu to run without one.");
                }
                return gpu(Setting.GPU, "fluostream.device=gpu", halfPrecision);
            }
            default: {
                Optional<String> missing = gpuUnavailableReason();
                if (missing.isPresent()) {
                    return new DeviceChoice(Setting.AUTO, null, "cpu", "fluostream.device=auto and " + missing.get(), false);
                }
                return gpu(Setting.AUTO, "fluostream.device=auto and a GPU is visible", halfPrecision);
            }
        }
    }

    private static DeviceChoice gpu(Setting requested, String why, boolean halfPrecision) {
        return new DeviceChoice(requested, Device.gpu(0), "gpu", why + " (" + describeGpu() + ")", halfPrecision);
    }

    /**
     * Why the device path cannot use a GPU here, or empty when it can. Asks the CUDA driver first
     * (cheap, no libtorch), then the PyTorch engine: a GPU that the driver shows but the engine
     * does not means a CPU-only native library (build with {@code mvn -Pgpu}).
     */
    public static Optional<String> gpuUnavailableReason() {
        int driverGpus;
        try {
            driverGpus = CudaUtils.getGpuCount();
        } catch (RuntimeException | LinkageError e) {
            driverGpus = 0;
        }
        if (driverGpus <= 0) {
            return Optional.of("no CUDA GPU is visible on this machine (no NVIDIA driver or device)");
        }
        int engineGpus;
        String engine;
        try {
            Engine e = Engine.getEngine("PyTorch");
            engineGpus = e.getGpuCount();
            engine = "PyTorch " + e.getVersion();
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("the PyTorch engine failed to load (" + e.getMessage() + ")");
        }
        if (engineGpus <= 0) {
            return Optional.of("the CUDA driver shows " + driverGpus + " GPU(s) but " + engine
                    + " is a CPU-only build; rebuild with mvn -Pgpu (pytorch-native-cu124)");
        }
        return Optional.empty();
    }

    private static String describeGpu() {
        try {
            return "CUDA " + CudaUtils.getCudaVersionString() + ", compute capability "
                    + CudaUtils.getComputeCapability(0);
        } catch (RuntimeException | LinkageError e) {
            return "CUDA device 0";
        }
    }

    /** True for the device path (djl-cpu or gpu), false for the pure-Java kernels. */
    public boolean onDevice() {
        return device != null;
    }

    /**
     * The DJL device of the device path.
     *
     * @throws IllegalStateException for the pure-Java choice, which has none
     */
    public Device device() {
        if (device == null) {
            throw new IllegalStateException("the pure-Java CPU path has no DJL device");
        }
        return device;
    }

    /** {@code cpu}, {@code djl-cpu} or {@code gpu}: what GetStatus and the benchmarks report. */
    public String label() {
        return label;
    }

    /** What was asked for. */
    public Setting requested() {
        return requested;
    }

    /** Why this device: the setting and what the machine offered (for logs). */
    public String reason() {
        return reason;
    }

    /** Whether networks may run in float16: only on the GPU, and only when asked for. */
    public boolean halfPrecision() {
        return halfPrecision;
    }

    @Override
    public String toString() {
        return label + " (" + reason + ")";
    }
}
