package io.fluostream.stage;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters in force for a stage instance. Changes are validated as a whole and swapped in
 * atomically, so a frame is processed either entirely with the old values or entirely with the new.
 */
public final class StageParameters {

    private final Map<String, Parameter> specs = new LinkedHashMap<>();
    private volatile ParameterValues current;

    public StageParameters(List<Parameter> parameters) {
        Map<String, Object> defaults = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            specs.put(p.name(), p);
            if (p.defaultValue() != null) {
                defaults.put(p.name(), p.defaultValue());
            }
        }
        current = new ParameterValues(defaults);
    }

    public List<Parameter> specs() {
        return List.copyOf(specs.values());
    }

    public ParameterValues current() {
        return current;
    }

    /**
     * Validates every change, then applies all of them; on any bad value nothing changes.
     *
     * @throws InvalidParameterException naming the first bad parameter and what it allows
     */
    public synchronized ParameterValues set(Map<String, ?> changes) {
        current = new ParameterValues(merged(changes));
        return current;
    }

    /**
     * Validates changes without applying them, as {@link #set} would.
     *
     * @throws InvalidParameterException naming the first bad parameter and what it allows
     */
    public void check(Map<String, ?> changes) {
        merged(changes);
    }

    private Map<String, Object> merged(Map<String, ?> changes) {
        Map<String, Object> next = new LinkedHashMap<>(current.asMap());
        for (Map.Entry<String, ?> e : changes.entrySet()) {
            Parameter p = specs.get(e.getKey());
            if (p == null) {
                throw new InvalidParameterException(e.getKey(),
                        "unknown parameter '" + e.getKey() + "'; this stage has: " + String.join(", ", specs.keySet()));
            }
            next.put(p.name(), p.check(e.getValue()));
        }
        return next;
    }
}
