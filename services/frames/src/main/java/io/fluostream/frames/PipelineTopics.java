package io.fluostream.frames;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;

/** Creates the pipeline's topics with the record limits frames need (idempotent). */
public final class PipelineTopics {

    private PipelineTopics() {
    }

    /**
     * Creates every topic of {@link Topic} that does not exist yet.
     *
     * @param partitions partitions per frame topic: the most stage instances that can share the work
     */
    public static void create(Admin admin, TopicNames names, int partitions, short replication)
            throws InterruptedException, ExecutionException, TimeoutException {
        Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        List<NewTopic> missing = new ArrayList<>();
        for (Topic t : Topic.values()) {
            String name = names.name(t);
            if (!existing.contains(name)) {
                missing.add(t == Topic.MODELS
                        ? new NewTopic(name, 1, replication).configs(modelTopic())
                        : new NewTopic(name, partitions, replication).configs(RecordLimits.topic()));
            }
        }
        if (!missing.isEmpty()) {
            try {
                admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    /**
     * The model topic: compacted, so every model version (its own key) and the latest activation stay
     * for replicas that start later; records as large as frames (TorchScript imports can be big).
     */
    public static Map<String, String> modelTopic() {
        Map<String, String> c = new java.util.HashMap<>(RecordLimits.topic());
        c.put("cleanup.policy", "compact");
        return c;
    }

    /** Admin client settings for a bootstrap address. */
    public static Map<String, Object> adminConfig(String bootstrap) {
        return Map.of("bootstrap.servers", bootstrap, "request.timeout.ms", 30_000);
    }
}
