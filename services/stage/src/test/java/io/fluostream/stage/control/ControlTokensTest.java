package io.fluostream.stage.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ControlTokensTest {

    @Test
    void aTokenIsKnownByItsNameAndAnythingElseIsNot() {
        Map<String, String> byName = new LinkedHashMap<>();
        byName.put("default", "s3cret");
        byName.put("acquisition", "rig-token");
        byName.put("empty", " ");
        ControlTokens tokens = new ControlTokens(byName);
        assertEquals(Optional.of("acquisition"), tokens.principal("rig-token"));
        assertEquals(Optional.of("default"), tokens.principal(" s3cret "));
        assertTrue(tokens.principal("s3cre").isEmpty());
        assertTrue(tokens.principal("").isEmpty(), "a blank token configured must not let a blank one in");
        assertTrue(tokens.principal(null).isEmpty());
    }

    @Test
    void noTokensMeansNobodyGetsIn() {
        ControlTokens none = new ControlTokens(Map.of());
        assertTrue(none.isEmpty());
        assertTrue(none.principal("anything").isEmpty());
    }
}
