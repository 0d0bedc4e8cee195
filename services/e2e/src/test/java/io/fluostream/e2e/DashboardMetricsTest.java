package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fluostream.cli.Home;
import io.fluostream.cli.PipelineStage;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Grafana dashboards show only metrics that exist: every metric name in every query of every
 * dashboard under grafana/dashboards is among the samples the running stages expose at
 * /q/metrics (after frames went through them). A query filtered to one stage ({@code stage="x"})
 * must find the metric on that stage.
 */
@ExtendWith(SharedPipeline.class)
// After the classes that start their own stack, so two stacks never run at once (junit-platform.properties).
@Order(Integer.MAX_VALUE - 8)
class DashboardMetricsTest {

    private static final Path DASHBOARDS = Home.locate().root().resolve("grafana/dashboards");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern STAGE_FILTER = Pattern.compile("stage\\s*=\\s*\"([a-z]+)\"");
    private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
            "bool", "offset", "and", "or", "unless", "inf", "nan", "Inf", "NaN");

    private static final Map<String, Set<String>> samplesByStage = new HashMap<>();
    private static final Set<String> allSamples = new TreeSet<>();

    @BeforeAll
    static void scrape() throws Exception {
        SharedPipeline.Running p = SharedPipeline.get();
        HttpClient http = HttpClient.newHttpClient();
        for (PipelineStage s : PipelineStage.values()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + p.http(s) + "/q/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), s.id() + " /q/metrics");
            Set<String> names = sampleNames(r.body());
            samplesByStage.put(s.id(), names);
            allSamples.addAll(names);
        }
    }

    /** Names of the samples in a Prometheus text exposition (histograms give _bucket, _count, _sum). */
    static Set<String> sampleNames(String exposition) {
        Set<String> out = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = IDENTIFIER.matcher(line);
            if (m.lookingAt()) {
                out.add(m.group());
            }
        }
        return out;
    }

    /** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
    static Set<String> metricNames(String expr) {
        String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")     // string literals
                .replaceAll("\\{[^}]*}", " ")                              // label matchers
                .replaceAll("\\[[^]]*]", " ")                              // range selectors
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> out = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(s);
        while (m.find()) {
            String id = m.group();
            int before = m.start() - 1;
            if (before >= 0 && (Character.isDigit(s.charAt(before)) || s.charAt(before) == '.' || s.charAt(before) == '$')) {
                continue; // part of a number (1e3) or a Grafana variable
            }
            int after = m.end();
            while (after < s.length() && Character.isWhitespace(s.charAt(after))) {
                after++;
            }
            if ((after < s.length() && s.charAt(after) == '(') || KEYWORDS.contains(id)) {
                continue; // a function or aggregation, or a keyword
            }
            out.add(id);
        }
        return out;
    }

    private record Query(Path dashboard, String expr) {
    }

    private static List<Query> queries() throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Query> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                collect(json.readTree(f.toFile()), f, out);
            }
        }
        return out;
    }

    private static void collect(JsonNode node, Path file, List<Query> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("expr") && e.getValue().isTextual()) {
                    out.add(new Query(file, e.getValue().asText()));
                } else if (e.getKey().equals("definition") && e.getValue().isTextual()) {
                    // template variables: label_values(metric, label)
                    Matcher m = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)").matcher(e.getValue().asText());
                    if (m.find()) {
                        out.add(new Query(file, m.group(1)));
                    }
                } else {
                    collect(e.getValue(), file, out);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collect(n, file, out));
        }
    }

    @Test
    void theParserFindsMetricNamesAndNothingElse() {
        assertEquals(Set.of("fluostream_frame_latency_seconds_bucket"), metricNames(
                "histogram_quantile(0.99, sum by (le, stage) (rate(fluostream_frame_latency_seconds_bucket{stage=~\"$stage\"}[$__rate_interval])))"));
        assertEquals(Set.of("a_sum", "a_count"), metricNames("sum(rate(a_sum{x=\"1\"}[5m]))\n/\nsum(rate(a_count[1m])) or vector(0)"));
        assertEquals(Set.of("up"), metricNames("max without (instance) (up) > 1e3"));
    }

    @Test
    void everyDashboardQueryNamesOnlyMetricsTheStagesExpose() throws Exception {
        List<Query> queries = queries();
        Set<String> dashboards = new TreeSet<>();
        List<String> missing = new ArrayList<>();
        int names = 0;
        for (Query q : queries) {
            dashboards.add(q.dashboard().getFileName().toString());
            Matcher stage = STAGE_FILTER.matcher(q.expr());
            Set<String> exposed = stage.find() ? samplesByStage.getOrDefault(stage.group(1), Set.of()) : allSamples;
            for (String metric : metricNames(q.expr())) {
                names++;
                if (!exposed.contains(metric)) {
                    missing.add(q.dashboard().getFileName() + ": " + metric + (stage.find(0) ? " (on " + stage.group(1) + ")" : "")
                            + " in: " + q.expr().replace('\n', ' '));
                }
            }
        }
        assertEquals(Set.of("denoise.json", "flow.json", "pipeline.json", "stabilise.json", "unmix.json"), dashboards);
        assertTrue(names > 100, "metric references checked: " + names);
        assertTrue(missing.isEmpty(), "dashboard queries name metrics no stage exposes:\n" + String.join("\n", missing));
    }
}
