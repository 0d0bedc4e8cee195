package io.fluostream.stage;

import io.fluostream.imaging.MatrixText;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** An immutable snapshot of a stage's parameters, read by the kernel once per frame. */
public final class ParameterValues {

    private final Map<String, Object> values;
    private final String hash;

    ParameterValues(Map<String, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.hash = hashOf(this.values);
    }

    public static ParameterValues of(Map<String, Object> values) {
        return new ParameterValues(values);
    }

    public double number(String name) {
        return (Double) require(name);
    }

    public int integer(String name) {
        return Math.toIntExact((Long) require(name));
    }

    public String text(String name) {
        return (String) require(name);
    }

    public boolean flag(String name) {
        return (Boolean) require(name);
    }

    /** A matrix parameter, or null when it has no value. */
    public double[][] matrix(String name) {
        return (double[][]) values.get(name);
    }

    public Map<String, Object> asMap() {
        return values;
    }

    /** Short hash of every value, recorded in provenance so outputs made differently can be told apart. */
    public String hash() {
        return hash;
    }

    private Object require(String name) {
        Object v = values.get(name);
        if (v == null) {
            throw new IllegalStateException("parameter " + name + " has no value");
        }
        return v;
    }

    private static String hashOf(Map<String, Object> values) {
        StringBuilder sb = new StringBuilder();
        values.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> sb.append(e.getKey()).append('=')
                .append(e.getValue() instanceof double[][] ? MatrixText.format((double[][]) e.getValue()) : e.getValue())
                .append('\n'));
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
