package io.fluostream.stage.control;

import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.microprofile.config.Config;

/**
 * Settings for the Kafka clients the control plane opens beside Kafka Streams (control-topic
 * consumer and producer, admin): the same bootstrap servers, and the same security settings, passed
 * through from the {@code kafka-streams.*} properties Kafka Streams itself gets:
 * {@code kafka-streams.security.protocol}, {@code kafka-streams.sasl.*}, {@code kafka-streams.ssl.*}.
 */
public final class KafkaClientSettings {

    private static final String PREFIX = "kafka-streams.";

    private KafkaClientSettings() {
    }

    public static Map<String, Object> from(Config config) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bootstrap.servers", config.getOptionalValue("quarkus.kafka-streams.bootstrap-servers", String.class)
                .orElse("localhost:9092"));
        for (String name : config.getPropertyNames()) {
            if (!name.startsWith(PREFIX)) {
                continue;
            }
            String key = name.substring(PREFIX.length());
            if (isSecurity(key)) {
                config.getOptionalValue(name, String.class).ifPresent(v -> out.put(key, v));
            }
        }
        return out;
    }

    /** Whether a Kafka client property is a security setting (passed to every client). */
    public static boolean isSecurity(String key) {
        return key.equals("security.protocol") || key.startsWith("sasl.") || key.startsWith("ssl.");
    }
}
