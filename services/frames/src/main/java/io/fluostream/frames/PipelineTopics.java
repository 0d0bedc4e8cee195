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

/**
 * Creates the pipeline's topics (idempotent): the frame topics with the record limits frames need,
 * the compacted control topic and the audit log.
 */
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
                missing.add(newTopic(t, name, partitions, replication));
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

    private static NewTopic newTopic(Topic t, String name, int partitions, short replication) {
        switch (t) {
            case CONTROL:
                // One partition: every replica applies commands in the same order.
                return new NewTopic(name, 1, replication).configs(controlTopic());
            case AUDIT:
                return new NewTopic(name, 1, replication).configs(auditTopic());
            default:
                return new NewTopic(name, partitions, replication).configs(RecordLimits.topic());
        }
    }

    /**
     * The control topic: compacted, so the latest command per key stays forever (a replica that
     * starts replays it), and older ones for the same key go.
     */
    public static Map<String, String> controlTopic() {
        return Map.of("cleanup.policy", "compact", "min.compaction.lag.ms", "60000",
                "max.message.bytes", Integer.toString(RecordLimits.MAX_RECORD_BYTES + 1024 * 1024));
    }

    /** The audit log: kept 90 days. */
    public static Map<String, String> auditTopic() {
        return Map.of("cleanup.policy", "delete", "retention.ms", Long.toString(90L * 24 * 3600 * 1000));
    }

    /** Admin client settings for a bootstrap address. */
    public static Map<String, Object> adminConfig(String bootstrap) {
        return Map.of("bootstrap.servers", bootstrap, "request.timeout.ms", 30_000);
    }
}
