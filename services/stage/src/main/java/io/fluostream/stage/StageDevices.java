package io.fluostream.stage;

import io.fluostream.learning.device.DeviceChoice;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.util.Optional;
import java.util.function.Function;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * The service's {@link DeviceChoice}: {@value DeviceChoice#PROPERTY} ({@code auto} by default;
 * env {@code FLUOSTREAM_DEVICE}) and {@value DeviceChoice#HALF_PRECISION_PROPERTY} resolved once,
 * when the kernel is built at start. {@code gpu} with no usable GPU fails the start with the reason
 * (no silent fallback). A stage adopts the device path by injecting it:
 * {@code @Inject DeviceChoice device} (or a constructor parameter), then building its device
 * implementation on {@code device.device()} when {@code device.onDevice()} and returning
 * {@code device.label()} from {@link StageKernel#device()}.
 *
 * <p>Before libtorch loads, its intra-op and inter-op threads default to 1
 * ({@code ai.djl.pytorch.num_threads}, {@code num_interop_threads}; set them as system properties
 * to change it): left alone, libtorch takes every core for each stream thread, and its OpenMP
 * threads spin-wait — on a loaded 2-core machine {@code bench stabilise --device djl-cpu} took
 * 106 ms of CPU per 128×128 frame with 2 threads against 6.7 ms with 1.
 */
@ApplicationScoped
public class StageDevices {

    private static final Logger LOG = Logger.getLogger(StageDevices.class);
    static final String DEFAULT_TORCH_THREADS = "1";

    @Produces
    @Singleton
    DeviceChoice deviceChoice() {
        DeviceChoice choice = resolve(key -> ConfigProvider.getConfig().getOptionalValue(key, String.class));
        LOG.infof("stage device: %s", choice);
        return choice;
    }

    /** Resolves the device at start even in a stage that does not use it, so a bad setting fails the start. */
    void onStart(@Observes StartupEvent event, DeviceChoice choice) {
        LOG.debugf("stage device resolved: %s", choice.label());
    }

    /**
     * Resolves the device from a config lookup.
     *
     * @throws IllegalArgumentException for a value other than auto, cpu, gpu or djl-cpu
     * @throws IllegalStateException    for {@code gpu} when no GPU is usable, with the reason
     */
    public static DeviceChoice resolve(Function<String, Optional<String>> config) {
        DeviceChoice.Setting setting = DeviceChoice.Setting.parse(config.apply(DeviceChoice.PROPERTY).orElse("auto"));
        boolean half = config.apply(DeviceChoice.HALF_PRECISION_PROPERTY).map(Boolean::parseBoolean).orElse(false);
        if (setting != DeviceChoice.Setting.CPU) {
            System.setProperty("ai.djl.pytorch.num_threads",
                    System.getProperty("ai.djl.pytorch.num_threads", DEFAULT_TORCH_THREADS));
            System.setProperty("ai.djl.pytorch.num_interop_threads",
                    System.getProperty("ai.djl.pytorch.num_interop_threads", "1"));
        }
        return DeviceChoice.resolve(setting, half);
    }
}
