package io.fluostream.stage;

import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import org.apache.kafka.streams.processor.api.Processor;

/**
 * One stage instance's shared parts: its kernel, parameters, metrics, stream ledger, control state
 * and topic names. Plain Java (no CDI), so topology tests build it directly; {@link StageRuntimeProducer}
 * makes the service's instance from config.
 */
public final class StageRuntime {

    private final StageKernel kernel;
    private final StageIdentity identity;
    private final TopicNames topics;
    private final StageParameters parameters;
    private final StageMetrics metrics;
    private final StreamLedger ledger = new StreamLedger();
    private final ControlState control = new ControlState();

    /**
     * @param parameterOverrides values from config, validated like any SetParameters call (a bad one
     *                           fails the start with the parameter's name and allowed range)
     */
    public StageRuntime(StageKernel kernel, StageIdentity identity, TopicNames topics, MeterRegistry registry,
                        Map<String, ?> parameterOverrides) {
        this.kernel = kernel;
        this.identity = identity;
        this.topics = topics;
        this.parameters = new StageParameters(kernel.parameters());
        this.parameters.set(parameterOverrides);
        this.metrics = new StageMetrics(registry, identity.stage(), kernel.qualitySignals());
        this.metrics.controlState(control);
        if (kernel.tap() != null) {
            this.metrics.registerTap();
        }
    }

    /** A new processor for one stream task (Kafka Streams asks for one per task). */
    public Processor<String, byte[], String, byte[]> newProcessor() {
        return new FrameProcessor(kernel, parameters, metrics, ledger, identity, kernel.stateful(), control, inputTopic());
    }

    /** A new processor for one task of the tap topic ({@link StageKernel#tap()}): observes, writes nothing. */
    public Processor<String, byte[], Void, Void> newTapProcessor() {
        return new TapProcessor(kernel, metrics, tapTopic());
    }

    public StageIdentity identity() {
        return identity;
    }

    public StageKernel kernel() {
        return kernel;
    }

    public boolean stateful() {
        return kernel.stateful();
    }

    public String inputTopic() {
        return topics.name(kernel.input());
    }

    public String outputTopic() {
        return topics.name(kernel.output());
    }

    /** The topic the stage only observes ({@link StageKernel#tap()}), or null for a stage without a tap. */
    public String tapTopic() {
        Topic tap = kernel.tap();
        return tap == null ? null : topics.name(tap);
    }

    public String deadLetterTopic() {
        return topics.name(Topic.DLQ);
    }

    public StageParameters parameters() {
        return parameters;
    }

    public StageMetrics metrics() {
        return metrics;
    }

    public StreamLedger ledger() {
        return ledger;
    }

    /** Where the kernel runs ({@link StageKernel#device()}): cpu, djl-cpu or gpu. */
    public String device() {
        return kernel.device();
    }

    /** Pause state and applied offset set by the control topic, and the kernel lock. */
    public ControlState control() {
        return control;
    }
}
