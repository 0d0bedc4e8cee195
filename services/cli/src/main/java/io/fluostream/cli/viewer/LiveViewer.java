package io.fluostream.cli.viewer;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fluostream.cli.Json;
import io.fluostream.frames.FrameImages;
import io.fluostream.frames.RecordLimits;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The live viewer: a small web page that shows, per stream, the latest raw frame, its
 * reconstruction (frames.stabilised: denoised, unmixed, drift-corrected) and the flow field
 * (frames.flow) side by side, refreshed as new frames arrive. It reads the topics itself with a
 * group-less consumer (it never joins a stage's group or commits offsets), keeps the latest frame of
 * each stream and view, and draws a picture only when one is asked for.
 *
 * <p>Endpoints: {@code /} the page; {@code /api/streams} the streams with their latest sequence
 * numbers (JSON; the page polls it); {@code /frame.png?stream=S&view=raw|reconstructed|flow}.
 */
public final class LiveViewer implements AutoCloseable {

    /** What the page shows, and from which topic. */
    public enum View {
        RAW("raw", Topic.RAW), RECONSTRUCTED("reconstructed", Topic.STABILISED), FLOW("flow", Topic.FLOW);

        final String id;
        final Topic topic;

        View(String id, Topic topic) {
            this.id = id;
            this.topic = topic;
        }

        static View byId(String id) {
            for (View v : values()) {
                if (v.id.equals(id)) {
                    return v;
                }
            }
            throw new IllegalArgumentException("unknown view '" + id + "'; views: raw, reconstructed, flow");
        }
    }

    private record Latest(long sequence, long receivedAtMs, byte[] frame, Map<String, Double> figures) {
    }

    private final Map<String, Map<View, Latest>> latest = new ConcurrentHashMap<>();
    private final Map<String, byte[]> pictures = new ConcurrentHashMap<>();
    private final HttpServer server;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Map<String, View> viewByTopic = new HashMap<>();
    private final Thread reader;
    private volatile boolean running = true;

    private LiveViewer(String bootstrap, TopicNames names, InetSocketAddress address) throws IOException {
        for (View v : View.values()) {
            viewByTopic.put(names.name(v.topic), v);
        }
        Map<String, Object> c = new HashMap<>(RecordLimits.consumer());
        c.put("bootstrap.servers", bootstrap);
        c.put("enable.auto.commit", false);
        c.put("isolation.level", "read_committed");
        c.put("client.id", "fluostream-viewer");
        consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer());
        server = HttpServer.create(address, 0);
        server.createContext("/", this::page);
        server.createContext("/api/streams", this::streams);
        server.createContext("/frame.png", this::picture);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "viewer-http");
            t.setDaemon(true);
            return t;
        }));
        reader = new Thread(this::follow, "viewer-kafka");
        reader.setDaemon(true);
    }

    /**
     * Starts serving on {@code port} (0: any free port) of {@code host}.
     *
     * @param host "localhost" to keep the viewer on this machine, "0.0.0.0" to share it
     */
    public static LiveViewer start(String bootstrap, TopicNames names, String host, int port) throws IOException {
        LiveViewer v = new LiveViewer(bootstrap, names, new InetSocketAddress(host, port));
        v.reader.start();
        v.server.start();
        return v;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public String url() {
        return "http://localhost:" + port() + "/";
    }

    // --- Kafka ------------------------------------------------------------------------------------

    private void follow() {
        try {
            List<TopicPartition> parts = new ArrayList<>();
            while (running && parts.isEmpty()) {
                for (String topic : viewByTopic.keySet()) {
                    List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                    for (PartitionInfo p : infos == null ? List.<PartitionInfo>of() : infos) {
                        parts.add(new TopicPartition(topic, p.partition()));
                    }
                }
            }
            consumer.assign(parts);
            // Start a few records back, so the page has pictures before the next frame arrives.
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
            for (TopicPartition tp : parts) {
                consumer.seek(tp, Math.max(begin.get(tp), end.get(tp) - 4));
            }
            while (running) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
                    accept(r);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                System.err.println("viewer: stopped reading frames: " + e);
            }
        } finally {
            consumer.close(Duration.ofSeconds(2));
        }
    }

    private void accept(ConsumerRecord<String, byte[]> r) {
        View view = viewByTopic.get(r.topic());
        if (view == null || r.value() == null) {
            return;
        }
        Frame f;
        try {
            f = Frame.parseFrom(r.value());
        } catch (IOException e) {
            return; // not a frame (the raw topic may hold malformed records): nothing to show
        }
        Map<View, Latest> views = latest.computeIfAbsent(f.getStreamId(), k -> new ConcurrentHashMap<>());
        Latest previous = views.get(view);
        if (previous == null || f.getSequence() >= previous.sequence()) {
            views.put(view, new Latest(f.getSequence(), System.currentTimeMillis(), r.value(), new TreeMap<>(f.getFiguresMap())));
        }
    }

    // --- HTTP -------------------------------------------------------------------------------------

    private void page(HttpExchange x) throws IOException {
        if (!x.getRequestURI().getPath().equals("/")) {
            send(x, 404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8));
            return;
        }
        try (InputStream in = LiveViewer.class.getResourceAsStream("/viewer/index.html")) {
            send(x, 200, "text/html; charset=utf-8", in.readAllBytes());
        }
    }

    private void streams(HttpExchange x) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String stream : new TreeMap<>(latest).keySet()) {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("stream", stream);
            Map<View, Latest> views = latest.get(stream);
            for (View v : View.values()) {
                Latest l = views.get(v);
                s.put(v.id, l == null ? -1 : l.sequence());
            }
            Latest flow = views.get(View.FLOW);
            if (flow != null && flow.figures().containsKey("flow.mean_speed_px")) {
                s.put("meanSpeedPx", flow.figures().get("flow.mean_speed_px"));
            }
            out.add(s);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("streams", out);
        send(x, 200, "application/json", Json.write(body).getBytes(StandardCharsets.UTF_8));
    }

    private void picture(HttpExchange x) throws IOException {
        Map<String, String> q = query(x.getRequestURI().getRawQuery());
        View view;
        try {
            view = View.byId(q.getOrDefault("view", ""));
        } catch (IllegalArgumentException e) {
            send(x, 400, "text/plain", e.getMessage().getBytes(StandardCharsets.UTF_8));
            return;
        }
        String stream = q.getOrDefault("stream", "");
        Map<View, Latest> views = latest.get(stream);
        Latest l = views == null ? null : views.get(view);
        if (l == null) {
            send(x, 404, "text/plain", ("no " + view.id + " frame of stream '" + stream + "' yet").getBytes(StandardCharsets.UTF_8));
            return;
        }
        String key = stream + "\n" + view.id + "\n" + l.sequence();
        byte[] png = pictures.get(key);
        if (png == null) {
            png = render(view, l.frame());
            // One picture per stream and view: drop the older ones.
            pictures.keySet().removeIf(k -> k.startsWith(stream + "\n" + view.id + "\n"));
            pictures.put(key, png);
        }
        send(x, 200, "image/png", png);
    }

    private static byte[] render(View view, byte[] bytes) {
        try {
            Frame f = FrameImages.parse(bytes);
            Image im = FrameImages.image(f);
            // Small frames are enlarged (nearest neighbour) to at least 256 px, so pixels stay visible.
            int scale = Math.max(1, (256 + im.width() - 1) / Math.max(im.width(), 1));
            if (view == View.FLOW) {
                return FramePictures.png(FramePictures.flow(im, scale, Math.max(4, im.width() / 16)));
            }
            return FramePictures.png(FramePictures.scaled(FramePictures.composite(im), scale));
        } catch (Exception e) {
            throw new IllegalStateException("cannot draw the frame: " + e.getMessage(), e);
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        x.getResponseHeaders().set("Cache-Control", "no-store");
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        server.stop(0);
        try {
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
