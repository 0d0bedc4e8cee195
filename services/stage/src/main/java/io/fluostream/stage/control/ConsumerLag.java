package io.fluostream.stage.control;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Records waiting in the input partitions this replica owns, from Kafka Streams' own consumer
 * metrics: the sum over those partitions of {@code records-lag} (consumer-fetch-manager-metrics,
 * the main consumer only; the restore consumer reads changelogs). The consumer updates it on every
 * fetch; for a partition it does not fetch (a paused stage), it is the value of the last fetch.
 */
public final class ConsumerLag {

    private ConsumerLag() {
    }

    /** The lag, or NaN before the consumer has fetched from the input topic. */
    public static double of(KafkaStreams streams, String inputTopic) {
        // The consumer's metric tags spell the topic with '_' for '.'.
        String tagged = inputTopic.replace('.', '_');
        Map<String, Double> perPartition = new HashMap<>();
        for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
            MetricName n = e.getKey();
            if (!n.name().equals("records-lag") || !n.group().equals("consumer-fetch-manager-metrics")) {
                continue;
            }
            String client = n.tags().getOrDefault("client-id", "");
            String topic = n.tags().getOrDefault("topic", "");
            if (client.endsWith("-restore-consumer") || !(topic.equals(inputTopic) || topic.equals(tagged))) {
                continue;
            }
            Object v = e.getValue().metricValue();
            if (v instanceof Double && Double.isFinite((Double) v)) {
                perPartition.put(client + "/" + n.tags().get("partition"), (Double) v);
            }
        }
        if (perPartition.isEmpty()) {
            return Double.NaN;
        }
        return perPartition.values().stream().mapToDouble(Double::doubleValue).sum();
    }
}
