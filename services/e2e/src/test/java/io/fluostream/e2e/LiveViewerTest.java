package io.fluostream.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fluostream.cli.viewer.LiveViewer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The live viewer on the shared pipeline: its API lists the simulated streams with a raw, a
 * reconstructed and a flow frame each; its pictures are not blank; and the page, rendered by
 * headless Chromium (Debian's chromium package), shows them (a screenshot that is not blank).
 */
@ExtendWith(SharedPipeline.class)
// After the classes that start their own stack, so two stacks never run at once (junit-platform.properties).
@Order(Integer.MAX_VALUE - 7)
class LiveViewerTest {

    private static LiveViewer viewer;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        SharedPipeline.Running p = SharedPipeline.get();
        viewer = LiveViewer.start(p.stack.bootstrap(), p.names, "localhost", 0);
    }

    @AfterAll
    static void stop() {
        if (viewer != null) {
            viewer.close();
        }
    }

    /** The streams the viewer shows, once each has a raw, a reconstructed and a flow frame. */
    private static List<String> streamsWithAllViews() throws Exception {
        ObjectMapper json = new ObjectMapper();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JsonNode body = null;
        List<String> complete = List.of();
        while (System.nanoTime() < deadline) {
            body = json.readTree(get("api/streams").body());
            complete = new java.util.ArrayList<>();
            for (JsonNode s : body.path("streams")) {
                if (s.path("raw").asLong() >= 0 && s.path("reconstructed").asLong() >= 0 && s.path("flow").asLong() >= 0) {
                    complete.add(s.path("stream").asText());
                }
            }
            // The viewer starts a few records before the end of each partition, so which streams it
            // shows depends on what was published last. Wait until each has all three views (a
            // stream whose last frames were rejected upstream never gets them: then those that do).
            if (!complete.isEmpty() && complete.size() == body.path("streams").size()) {
                return complete;
            }
            Thread.sleep(300);
        }
        if (!complete.isEmpty()) {
            return complete;
        }
        throw new AssertionError("the viewer shows no stream with a raw, a reconstructed and a flow frame: " + body);
    }

    private static HttpResponse<byte[]> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(viewer.url() + path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void everyStreamHasARawAReconstructedAndAFlowPictureThatIsNotBlank() throws Exception {
        for (String stream : streamsWithAllViews()) {
            for (String view : List.of("raw", "reconstructed", "flow")) {
                HttpResponse<byte[]> r = get("frame.png?stream=" + java.net.URLEncoder.encode(stream, "UTF-8") + "&view=" + view);
                assertEquals(200, r.statusCode(), view + " of " + stream + ": " + new String(r.body()));
                BufferedImage im = ImageIO.read(new ByteArrayInputStream(r.body()));
                assertTrue(im.getWidth() >= 256, view + " is drawn at least 256 px wide");
                assertTrue(distinctColours(im, 0, 0, im.getWidth(), im.getHeight()) > 50, view + " of " + stream + " is not blank");
            }
        }
        assertEquals(404, get("frame.png?stream=nobody&view=raw").statusCode());
        assertEquals(400, get("frame.png?stream=x&view=sideways").statusCode());
    }

    @Test
    void thePageShowsTheFramesInHeadlessChromium() throws Exception {
        Optional<String> chromium = chromium();
        Assumptions.assumeTrue(chromium.isPresent(),
                "no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it when it runs as root): the page is not rendered");
        streamsWithAllViews();
        Path dir = Files.createTempDirectory("viewer-shot");
        Path shot = dir.resolve("viewer.png");
        Process p = new ProcessBuilder(chromium.get(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + dir.resolve("profile"), "--window-size=1100,800", "--virtual-time-budget=10000",
                "--screenshot=" + shot, viewer.url())
                .redirectErrorStream(true).redirectOutput(dir.resolve("chromium.log").toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("chromium did not finish within 120 s: " + Files.readString(dir.resolve("chromium.log")));
        }
        assertTrue(Files.exists(shot), "chromium wrote no screenshot: " + Files.readString(dir.resolve("chromium.log")));
        BufferedImage im = ImageIO.read(shot.toFile());
        // Below the header: the first stream's three pictures. A page without pictures is the flat
        // background and a little text (a few dozen colours at most).
        int colours = distinctColours(im, 0, 60, im.getWidth(), Math.min(im.getHeight(), 440));
        System.out.println("viewer screenshot " + shot + ": " + colours + " colours");
        assertTrue(colours > 1000, "the screenshot shows no frames (" + colours + " colours): " + shot);
    }

    static Optional<String> chromium() {
        String env = System.getenv("FLUOSTREAM_CHROMIUM");
        if (env != null && new File(env).canExecute()) {
            return Optional.of(env);
        }
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
                File f = new File(dir, name);
                if (f.canExecute()) {
                    return Optional.of(f.getPath());
                }
            }
        }
        return Optional.empty();
    }

    private static int distinctColours(BufferedImage im, int x0, int y0, int x1, int y1) {
        Set<Integer> colours = new HashSet<>();
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                colours.add(im.getRGB(x, y) & 0xffffff);
            }
        }
        return colours.size();
    }
}
