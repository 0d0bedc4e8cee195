package io.fluostream.denoise;

import io.fluostream.frames.RecordLimits;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.learning.denoise.ModelLog;
import io.fluostream.learning.denoise.ModelRefusedException;
import io.fluostream.learning.denoise.TrainingOptions;
import io.fluostream.proto.ModelRecord;
import io.fluostream.stage.StageRuntime;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Connects this replica's denoiser to the model topic (fluostream.models): publishes the versions
 * and activations made here, and reads the topic from the start in a thread of its own, applying
 * every record to the model registry — so all replicas serve the same version, a restarted replica
 * comes back to it, and loading a model never runs on the stream thread.
 *
 * <p>At start it also loads {@code fluostream.denoise.model-path} (a TorchScript file or an exported
 * model record) and starts on-line training when {@code fluostream.denoise.train-on-start} is true.
 */
@ApplicationScoped
public class ModelTopic {

    private static final Logger LOG = Logger.getLogger(ModelTopic.class);

    @Inject
    DenoiseKernel kernel;

    @Inject
    StageRuntime runtime;

    @ConfigProperty(name = "fluostream.bootstrap", defaultValue = "localhost:9092")
    String bootstrap;

    @ConfigProperty(name = "fluostream.denoise.model-topic", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "fluostream.denoise.train-on-start", defaultValue = "true")
    boolean trainOnStart;

    @ConfigProperty(name = "fluostream.denoise.training-threads", defaultValue = "1")
    int trainingThreads;

    @ConfigProperty(name = "fluostream.denoise.model-path")
    Optional<String> modelPath;

    @ConfigProperty(name = "fluostream.denoise.model-channels", defaultValue = "1")
    int modelChannels;

    @ConfigProperty(name = "fluostream.denoise.model-context-frames", defaultValue = "0")
    int modelContextFrames;

    private KafkaProducer<String, byte[]> producer;
    private KafkaConsumer<String, byte[]> consumer;
    private Thread reader;
    private volatile boolean stopping;

    void start(@Observes StartupEvent event) {
        kernel.configure(TrainingOptions.defaults().withThreads(trainingThreads), modelChannels, modelContextFrames);
        if (!enabled) {
            LOG.info("model topic off (fluostream.denoise.model-topic=false): models stay on this replica");
        } else {
            String topic = TopicNames.from(k -> org.eclipse.microprofile.config.ConfigProvider.getConfig()
                    .getOptionalValue(k, String.class)).name(Topic.MODELS);
            Map<String, Object> p = new HashMap<>(RecordLimits.producer());
            p.put("bootstrap.servers", bootstrap);
            p.put("acks", "all");
            p.put("enable.idempotence", true);
            producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
            Map<String, Object> c = new HashMap<>();
            c.put("bootstrap.servers", bootstrap);
            c.put("enable.auto.commit", false);
            c.put("max.partition.fetch.bytes", RecordLimits.MAX_RECORD_BYTES + 1024 * 1024);
            c.put("fetch.max.bytes", 2 * RecordLimits.MAX_RECORD_BYTES);
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
            kernel.publishTo(new KafkaModelLog(producer, topic));
            reader = new Thread(() -> read(topic), "denoise-model-topic");
            reader.setDaemon(true);
            reader.start();
        }
        modelPath.filter(s -> !s.isBlank()).ifPresent(this::loadConfigured);
        if (trainOnStart) {
            int context = runtime.parameters().current().integer("temporal_context");
            kernel.startTraining(TrainingOptions.defaults().withContextFrames(context).withThreads(trainingThreads));
            LOG.infof("on-line training started (%d thread(s), temporal context %d)", trainingThreads, context);
        }
    }

    private void loadConfigured(String path) {
        try {
            String id = kernel.load(Path.of(path), modelChannels, modelContextFrames, true);
            LOG.infof("loaded %s from %s", id, path);
        } catch (ModelRefusedException e) {
            // The classical method (or the version on the model topic) serves; the service still starts.
            LOG.errorf("fluostream.denoise.model-path: %s", e.getMessage());
        }
    }

    private void read(String topic) {
        try {
            List<TopicPartition> partitions = waitForPartitions(topic);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (!stopping) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    apply(r);
                }
            }
        } catch (WakeupException e) {
            // stopping
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.errorf(e, "model topic reader stopped: new models will not reach this replica");
        } finally {
            consumer.close();
        }
    }

    private List<TopicPartition> waitForPartitions(String topic) throws InterruptedException {
        while (!stopping) {
            var infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            }
            LOG.warnf("model topic %s does not exist yet; create it compacted (./fluostream up does)", topic);
            TimeUnit.SECONDS.sleep(5);
        }
        return List.of();
    }

    private void apply(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            return; // a deleted version
        }
        try {
            kernel.denoiser().registry().apply(ModelRecord.parseFrom(r.value()));
            kernel.denoiser().registry().lastRefusal().ifPresent(reason -> LOG.debug(reason));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            LOG.warnf("record %s at offset %d of the model topic is not a ModelRecord: skipped (%s)", r.key(), r.offset(),
                    e.getMessage());
        }
    }

    void stop(@Observes ShutdownEvent event) {
        stopping = true;
        kernel.stopTraining();
        if (consumer != null) {
            consumer.wakeup();
        }
        if (reader != null) {
            try {
                reader.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** Publishes to the model topic; waits for the broker so a caller learns of a failure. */
    private static final class KafkaModelLog implements ModelLog {
        private final KafkaProducer<String, byte[]> producer;
        private final String topic;

        KafkaModelLog(KafkaProducer<String, byte[]> producer, String topic) {
            this.producer = producer;
            this.topic = topic;
        }

        @Override
        public void publish(String key, ModelRecord record) {
            try {
                producer.send(new ProducerRecord<>(topic, key, record.toByteArray())).get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while publishing " + key + " to " + topic, e);
            } catch (Exception e) {
                throw new IllegalStateException("cannot publish " + key + " to " + topic + ": " + e.getMessage(), e);
            }
        }
    }
}
