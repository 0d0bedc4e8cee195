package io.fluostream.frames;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** Topic names in force: the defaults of {@link Topic}, overridden by config. */
public final class TopicNames {

    private final Map<Topic, String> names = new EnumMap<>(Topic.class);

    private TopicNames(Function<String, Optional<String>> config) {
        for (Topic t : Topic.values()) {
            names.put(t, config.apply(t.configKey()).filter(s -> !s.isBlank()).orElse(t.defaultName()));
        }
    }

    /** Names from a config lookup (e.g. MicroProfile Config or system properties). */
    public static TopicNames from(Function<String, Optional<String>> config) {
        return new TopicNames(config);
    }

    public static TopicNames defaults() {
        return new TopicNames(k -> Optional.empty());
    }

    public String name(Topic topic) {
        return names.get(topic);
    }
}
