package io.fluostream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Free ports for a stack lie below the kernel's ephemeral range (where outgoing connections take
 * their local ports, so a port picked there can be gone before the stage binds it), are distinct
 * and can be bound.
 */
class StackPortsTest {

    @Test
    void freePortsAreDistinctBindableAndOutsideTheEphemeralRange() throws IOException {
        Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
        int ephemeralStart = Files.exists(range)
                ? Integer.parseInt(Files.readAllLines(range).get(0).trim().split("\\s+")[0]) : 32_768;
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            int port = Stack.freePort();
            assertTrue(seen.add(port), "port " + port + " handed out twice");
            if (ephemeralStart > 21_000) {
                assertTrue(port >= 20_000 && port < ephemeralStart, "port " + port + " is below " + ephemeralStart);
            }
            try (ServerSocket s = new ServerSocket(port)) {
                assertEquals(port, s.getLocalPort());
            }
        }
    }
}
