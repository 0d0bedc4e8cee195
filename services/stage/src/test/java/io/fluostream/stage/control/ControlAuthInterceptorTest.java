package io.fluostream.stage.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Who may call what: bearer tokens for every call, and read-only status opened on request. */
class ControlAuthInterceptorTest {

    private final ControlTokens tokens = new ControlTokens(Map.of("default", "s3cret", "acquisition", "rig-token"));

    @Test
    void aKnownBearerTokenNamesItsPrincipalForEveryCall() {
        for (boolean open : new boolean[] {false, true}) {
            assertEquals(Optional.of("acquisition"), ControlAuthInterceptor.principal(tokens, open, "SetParameters", "Bearer rig-token"));
            assertEquals(Optional.of("default"), ControlAuthInterceptor.principal(tokens, open, "GetStatus", "bearer s3cret"));
        }
    }

    @Test
    void withoutOpenStatusEveryCallNeedsAToken() {
        assertTrue(ControlAuthInterceptor.principal(tokens, false, "GetStatus", null).isEmpty());
        assertTrue(ControlAuthInterceptor.principal(tokens, false, "GetParameters", "Bearer wrong").isEmpty());
        assertTrue(ControlAuthInterceptor.principal(tokens, false, "SetParameters", "s3cret").isEmpty(), "no Bearer scheme");
    }

    @Test
    void openStatusLetsAnyoneReadButNotChange() {
        assertEquals(Optional.of("anonymous"), ControlAuthInterceptor.principal(tokens, true, "GetStatus", null));
        assertEquals(Optional.of("anonymous"), ControlAuthInterceptor.principal(tokens, true, "GetParameters", "Bearer wrong"));
        for (String change : new String[] {"SetParameters", "Pause", "Resume", "SetSpectra", "ActivateModel", "LoadModel"}) {
            assertTrue(ControlAuthInterceptor.principal(tokens, true, change, null).isEmpty(), change);
            assertTrue(ControlAuthInterceptor.principal(tokens, true, change, "Bearer wrong").isEmpty(), change);
        }
    }
}
