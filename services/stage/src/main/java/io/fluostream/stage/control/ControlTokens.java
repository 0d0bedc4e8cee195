package io.fluostream.stage.control;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.eclipse.microprofile.config.Config;

/**
 * The bearer tokens that may steer a stage, each with a name that the audit log records as who made
 * the call. From config:
 *
 * <ul>
 *   <li>{@code fluostream.control.token}: one token, named {@code default} (env
 *       {@code FLUOSTREAM_CONTROL_TOKEN}, e.g. from a Kubernetes Secret)</li>
 *   <li>{@code fluostream.control.tokens.<name>}: named tokens</li>
 *   <li>{@code fluostream.control.tokens-file}: a properties file of {@code name=token} lines (a
 *       mounted Secret)</li>
 * </ul>
 *
 * With no token at all, every call that needs one is refused, saying how to set one.
 */
public final class ControlTokens {

    private static final String NAMED = "fluostream.control.tokens.";

    private final Map<String, byte[]> tokens = new LinkedHashMap<>();

    ControlTokens(Map<String, String> byName) {
        byName.forEach((name, token) -> {
            if (token != null && !token.isBlank()) {
                tokens.put(name, token.trim().getBytes(StandardCharsets.UTF_8));
            }
        });
    }

    public static ControlTokens from(Config config) {
        Map<String, String> byName = new LinkedHashMap<>();
        config.getOptionalValue("fluostream.control.token", String.class).ifPresent(t -> byName.put("default", t));
        for (String key : config.getPropertyNames()) {
            if (key.startsWith(NAMED) && key.length() > NAMED.length()) {
                config.getOptionalValue(key, String.class).ifPresent(t -> byName.put(key.substring(NAMED.length()), t));
            }
        }
        Optional<String> file = config.getOptionalValue("fluostream.control.tokens-file", String.class);
        if (file.isPresent()) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(Path.of(file.get()), StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read fluostream.control.tokens-file " + file.get() + ": " + e.getMessage(), e);
            }
            p.stringPropertyNames().forEach(n -> byName.put(n, p.getProperty(n)));
        }
        return new ControlTokens(byName);
    }

    public boolean isEmpty() {
        return tokens.isEmpty();
    }

    /** The name of the token presented, if it is one of ours (compared in constant time). */
    public Optional<String> principal(String presented) {
        if (presented == null) {
            return Optional.empty();
        }
        byte[] p = presented.trim().getBytes(StandardCharsets.UTF_8);
        String found = null;
        for (Map.Entry<String, byte[]> e : tokens.entrySet()) {
            // No early exit: the time taken does not tell which token nearly matched.
            if (MessageDigest.isEqual(e.getValue(), p) && found == null) {
                found = e.getKey();
            }
        }
        return Optional.ofNullable(found);
    }
}
