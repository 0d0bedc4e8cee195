package io.fluostream.rig;

import io.fluostream.frames.RecordLimits;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.proto.Frame;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A simulated acquisition rig: renders each stream's frames with the {@link ForwardModel} and
 * publishes them, keyed by stream id, to the raw topic at the requested frame rate. Frame t of
 * every stream is published before frame t+1 of any, as a multi-position acquisition would.
 */
public final class RigSimulator {

    /** What was published. */
    public record Published(int streams, int frames, long bytes, double seconds) {
    }

    private final RigOptions options;

    public RigSimulator(RigOptions options) {
        this.options = options;
    }

    /** The forward model of stream {@code index}: the same one anyone can rebuild for ground truth. */
    public static ForwardModel model(RigOptions options, int index) {
        return new ForwardModel(options.simulation(), index);
    }

    public static Map<String, Object> producerConfig(String bootstrap) {
        Map<String, Object> p = new HashMap<>(RecordLimits.producer());
        p.put("bootstrap.servers", bootstrap);
        // Idempotent: a retried send cannot duplicate a frame.
        p.put("enable.idempotence", true);
        p.put("acks", "all");
        p.put("linger.ms", 5);
        // Pixels are already compressed (byte-shuffle + zstd).
        p.put("compression.type", "none");
        return p;
    }

    /** Publishes every frame and waits until the broker has acknowledged all of them. */
    public Published publish(String bootstrap, String topic, Consumer<String> progress) throws InterruptedException, ExecutionException {
        ForwardModel[] models = new ForwardModel[options.streams()];
        for (int i = 0; i < models.length; i++) {
            models[i] = model(options, i);
        }
        long bytes = 0;
        long start = System.nanoTime();
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerConfig(bootstrap),
                new StringSerializer(), new ByteArraySerializer())) {
            Future<RecordMetadata> last = null;
            for (int t = 0; t < options.frames(); t++) {
                pace(start, t);
                for (int i = 0; i < models.length; i++) {
                    String id = RigOptions.streamId(i);
                    long nowUs = System.currentTimeMillis() * 1000;
                    Frame f = SimulatedFrames.toFrame(models[i], models[i].frame(t), id, nowUs, options.fps());
                    byte[] value = f.toByteArray();
                    bytes += value.length;
                    last = producer.send(new ProducerRecord<>(topic, null, nowUs / 1000, id, value));
                }
                if (progress != null && (t + 1) % 50 == 0) {
                    progress.accept("rig: published frame " + (t + 1) + "/" + options.frames() + " of " + models.length + " streams");
                }
            }
            producer.flush();
            if (last != null) {
                last.get();
            }
        }
        return new Published(options.streams(), options.frames(), bytes, (System.nanoTime() - start) / 1e9);
    }

    private void pace(long startNanos, int t) throws InterruptedException {
        if (options.fps() <= 0) {
            return;
        }
        long due = startNanos + (long) (t * 1e9 / options.fps());
        long wait = due - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }
}
