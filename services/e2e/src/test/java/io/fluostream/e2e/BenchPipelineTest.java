package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.cli.FluoStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code ./fluostream bench pipeline} on small frames, with a warm-up: the real services run, the
 * warm-up frames are left out of every figure (the measured frames are all counted once, none
 * lost, none doubled) and each stage's throughput comes from the measured frames' processing times.
 */
class BenchPipelineTest {

    @Test
    void warmUpFramesAreNotCounted() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            exit = new CommandLine(new FluoStream()).execute("bench", "pipeline", "--size", "64", "--channels", "2",
                    "--frames", "8", "--warmup", "24", "--fps", "8");
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        System.out.print(output);
        List<String> lines = output.lines().toList();
        String json = lines.get(lines.size() - 1);
        assertEquals(0, exit, "bench exit code; output:\n" + output);
        assertTrue(output.contains("warming up: 24 frames"), output);
        assertEquals("8", field(json, "frames"));
        assertEquals("24", field(json, "warmup_frames"));
        assertEquals("0", field(json, "lost"));
        assertEquals("0", field(json, "duplicated"));
        // Only the eight measured frames have a latency: one block of 20 (warm-up frames would make two).
        assertTrue(output.lines().anyMatch(l -> l.matches(".*latency by arrival.*ms: \\d+/\\d+$")), output);
        for (String stage : List.of("denoise", "unmix", "stabilise", "flow")) {
            double mpix = Double.parseDouble(field(json, stage));
            assertTrue(mpix > 0, stage + " throughput from the measured frames: " + json);
        }
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":([^,}]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return m.group(1);
    }
}
