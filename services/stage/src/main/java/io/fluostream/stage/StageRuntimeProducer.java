package io.fluostream.stage;

import io.fluostream.frames.TopicNames;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.Config;
import org.apache.kafka.streams.Topology;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Builds the service's {@link StageRuntime} from config, and its topology (every stage has the
 * same graph, {@link FrameTopology}; stages differ only in their {@link StageKernel}): topic names ({@code fluostream.topics.*}),
 * the instance name ({@code fluostream.instance}, default host/pid) and parameter values
 * ({@code fluostream.<stage>.<parameter>}). With the control plane on ({@code fluostream.control.enabled},
 * default true), stream tasks wait until the control topic has been replayed.
 */
@ApplicationScoped
public class StageRuntimeProducer {

    @Produces
    @ApplicationScoped
    StageRuntime stageRuntime(StageKernel kernel, MeterRegistry registry) {
        Config config = ConfigProvider.getConfig();
        String stage = kernel.stage();
        String instance = config.getOptionalValue("fluostream.instance", String.class)
                .orElse(ManagementFactory.getRuntimeMXBean().getName());
        String version = Optional.ofNullable(StageRuntimeProducer.class.getPackage().getImplementationVersion()).orElse("dev");
        Map<String, Object> overrides = new LinkedHashMap<>();
        String prefix = "fluostream." + stage + ".";
        for (Parameter p : kernel.parameters()) {
            config.getOptionalValue(prefix + p.name(), String.class).ifPresent(v -> overrides.put(p.name(), v));
        }
        StageRuntime runtime = new StageRuntime(kernel, new StageIdentity(stage, version, instance),
                TopicNames.from(key -> config.getOptionalValue(key, String.class)), registry, overrides);
        runtime.device(config.getOptionalValue("fluostream.device", String.class).orElse("cpu"));
        if (config.getOptionalValue("fluostream.control.enabled", Boolean.class).orElse(true)) {
            // Stream tasks wait until ControlPlane has replayed the control topic (pause state first).
            runtime.control().holdUntilReplayed(
                    config.getOptionalValue("fluostream.control.replay-timeout", java.time.Duration.class)
                            .orElse(java.time.Duration.ofMinutes(4)).toMillis());
        }
        return runtime;
    }

    // Dependent scope: Kafka Streams reads the topology's fields directly, which a client proxy would hide.
    @Produces
    Topology topology(StageRuntime stage) {
        return FrameTopology.build(stage);
    }

    /** Every meter of the service (JVM and process ones too) carries the stage tag. */
    @Produces
    @Singleton
    MeterFilter stageTag(StageKernel kernel) {
        return MeterFilter.commonTags(Tags.of("stage", kernel.stage()));
    }
}
