package io.fluostream.cli;

import io.fluostream.frames.ClaimCheck;
import io.fluostream.frames.PipelineTopics;
import io.fluostream.frames.TopicNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;

/**
 * The whole pipeline on one machine: a real Kafka broker and the four stage services, each its own
 * JVM process as in production. Used by {@code ./fluostream up}, the demo and the end-to-end tests.
 *
 * <p>The stages' control API needs a bearer token: the stack keeps one in {@code control.token} in
 * its run directory (made on first start, readable by its owner only) and hands it to every stage
 * in the environment ({@code FLUOSTREAM_CONTROL_TOKEN}); {@code ./fluostream ctl} reads it there.
 */
public final class Stack implements AutoCloseable {

    /**
     * Heap of each stage JVM: enough for 2048×2048×4 frames (a 64 MiB float image plus the kernels'
     * scratch planes); five processes fit a 24 GiB machine. G1 only grows into it as needed.
     */
    public static final String STAGE_HEAP = System.getenv().getOrDefault("FLUOSTREAM_STAGE_HEAP", "1536m");
    public static final String BROKER_HEAP = System.getenv().getOrDefault("FLUOSTREAM_BROKER_HEAP", "768m");

    private final Home home;
    private final Path runDir;
    private final Ports ports;
    private final Consumer<String> log;
    private ManagedProcess broker;
    private final Map<PipelineStage, ManagedProcess> stages = new EnumMap<>(PipelineStage.class);
    private final List<ManagedProcess> replicas = new ArrayList<>();
    private String controlToken;
    private Map<String, String> extraConfig = Map.of();

    /** Ports of the broker and of each stage's HTTP (metrics, health) and gRPC (control) servers. */
    public record Ports(int broker, int controller, Map<PipelineStage, int[]> stages) {

        /** The fixed ports `./fluostream up` uses, so other commands find the broker at localhost:9092. */
        public static Ports defaults() {
            Map<PipelineStage, int[]> m = new EnumMap<>(PipelineStage.class);
            for (PipelineStage s : PipelineStage.values()) {
                m.put(s, new int[] {s.defaultHttpPort(), s.defaultGrpcPort()});
            }
            return new Ports(9092, 9093, m);
        }

        /** Free ports, so a demo or test does not collide with a running stack. */
        public static Ports free() {
            Map<PipelineStage, int[]> m = new EnumMap<>(PipelineStage.class);
            for (PipelineStage s : PipelineStage.values()) {
                m.put(s, new int[] {freePort(), freePort()});
            }
            return new Ports(freePort(), freePort(), m);
        }

        public int http(PipelineStage s) {
            return stages.get(s)[0];
        }

        public int grpc(PipelineStage s) {
            return stages.get(s)[1];
        }
    }

    private Stack(Home home, Path runDir, Ports ports, Consumer<String> log) {
        this.home = home;
        this.runDir = runDir;
        this.ports = ports;
        this.log = log;
    }

    /**
     * Starts broker, topics and every stage, and waits until all report ready.
     *
     * @param runDir broker data, stream state and logs go here
     * @param extraConfig system properties passed to every stage (e.g. parameter values)
     */
    public static Stack start(Home home, Path runDir, Ports ports, int partitions, Map<String, String> extraConfig,
                              Consumer<String> log) throws Exception {
        useBlobStore(runDir);
        Stack stack = new Stack(home, runDir, ports, log);
        try {
            stack.controlToken = controlToken(runDir);
            stack.extraConfig = Map.copyOf(extraConfig);
            stack.startBroker();
            stack.createTopics(partitions);
            for (PipelineStage s : PipelineStage.values()) {
                stack.startStage(s, extraConfig);
            }
            for (PipelineStage s : PipelineStage.values()) {
                stack.awaitReady(s, Duration.ofSeconds(180));
            }
            return stack;
        } catch (Exception | Error e) {
            stack.close();
            throw e;
        }
    }

    /**
     * Large pixel payloads go to a blob store every process of the stack shares (see
     * {@link ClaimCheck}): this JVM's, if set (the launcher sets {@code run/blobs}), else one in the
     * run directory. Blobs older than the topics' retention (24 h) are deleted.
     */
    private static void useBlobStore(Path runDir) {
        if (System.getProperty(ClaimCheck.DIR_PROPERTY) == null) {
            System.setProperty(ClaimCheck.DIR_PROPERTY, runDir.resolve("blobs").toString());
        }
        ClaimCheck.store().deleteOlderThan(Duration.ofHours(24));
    }

    private void startBroker() throws Exception {
        log.accept("starting Kafka broker on localhost:" + ports.broker());
        List<String> cmd = List.of(Home.java(), "-Xmx" + BROKER_HEAP, "-XX:+UseG1GC",
                "-cp", home.brokerClasspath(), "io.fluostream.broker.EmbeddedBroker",
                "--data-dir", runDir.resolve("broker").toString(),
                "--port", Integer.toString(ports.broker()),
                "--controller-port", Integer.toString(ports.controller()));
        broker = ManagedProcess.start("broker", cmd, runDir.resolve("logs/broker.log"), home.root());
        awaitBroker(Duration.ofSeconds(90));
    }

    /** Waits until the broker answers an admin request (also after a restart). */
    public void awaitBroker(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!broker.isAlive()) {
                throw new IllegalStateException("the Kafka broker exited during start:\n" + broker.tail(30));
            }
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap(), "request.timeout.ms", 3000,
                    "default.api.timeout.ms", 5000))) {
                admin.describeCluster().nodes().get();
                return;
            } catch (Exception e) {
                last = e;
                Thread.sleep(300);
            }
        }
        throw new IllegalStateException("the Kafka broker did not answer within " + timeout + ":\n" + broker.tail(30), last);
    }

    private void createTopics(int partitions) throws Exception {
        try (Admin admin = Admin.create(PipelineTopics.adminConfig(bootstrap()))) {
            PipelineTopics.create(admin, TopicNames.defaults(), partitions, (short) 1);
        }
    }

    private void startStage(PipelineStage s, Map<String, String> extraConfig) throws IOException {
        log.accept("starting " + s.id() + " (http " + ports.http(s) + ", grpc " + ports.grpc(s) + ")");
        stages.put(s, launchStage(s, s.id(), s.id() + "-1", ports.http(s), ports.grpc(s), extraConfig));
    }

    /** @param name the process's name, its log file and its state directory */
    private ManagedProcess launchStage(PipelineStage s, String name, String instance, int httpPort, int grpcPort,
                                       Map<String, String> extraConfig) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Home.java(), "-Xmx" + STAGE_HEAP, "-XX:+UseG1GC",
                "-XX:ActiveProcessorCount=2",
                // DJL's PyTorch engine loads its native library from the jar: nothing is downloaded.
                "-Dai.djl.offline=true",
                "-Dfluostream.bootstrap=" + bootstrap(),
                "-Dquarkus.http.port=" + httpPort,
                "-Dquarkus.grpc.server.port=" + grpcPort,
                // Each instance keeps its own state directory: it holds the instance's process id,
                // so a restarted instance fences its own unfinished transactions at once.
                "-Dkafka-streams.state.dir=" + runDir.resolve("state").resolve(name),
                "-Dfluostream.instance=" + instance,
                "-D" + ClaimCheck.DIR_PROPERTY + "=" + ClaimCheck.store().root(),
                "-D" + ClaimCheck.THRESHOLD_PROPERTY + "=" + ClaimCheck.thresholdBytes()));
        extraConfig.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        if (s == PipelineStage.UNMIX) {
            // The unmixer's fast path runs on the incubating Vector API (scalar fallback without).
            cmd.add("--add-modules=jdk.incubator.vector");
        }
        cmd.add("-jar");
        cmd.add(home.stageApp(s).toString());
        return ManagedProcess.start(name, cmd, runDir.resolve("logs/" + name + ".log"), home.root(),
                Map.of("FLUOSTREAM_CONTROL_TOKEN", controlToken));
    }

    /**
     * Starts one more replica of a stage (instance {@code <stage>-<n>}, its own ports and state
     * directory), as scaling out a Deployment would, and waits until it is ready. The stack stops it
     * on close.
     */
    public Replica startReplica(PipelineStage s, Duration timeout) throws Exception {
        return startReplica(s, timeout, Map.of());
    }

    /** As {@link #startReplica(PipelineStage, Duration)}, with config of its own (e.g. TLS) over the stack's. */
    public Replica startReplica(PipelineStage s, Duration timeout, Map<String, String> config) throws Exception {
        String instance = s.id() + "-" + (2 + replicas.stream().filter(r -> r.name().startsWith(s.id() + "-")).count());
        int http = freePort();
        int grpc = freePort();
        log.accept("starting " + instance + " (http " + http + ", grpc " + grpc + ")");
        Map<String, String> merged = new java.util.LinkedHashMap<>(extraConfig);
        merged.putAll(config);
        ManagedProcess p = launchStage(s, instance, instance, http, grpc, merged);
        replicas.add(p);
        awaitReady(instance, p, http, timeout);
        return new Replica(instance, p, http, grpc);
    }

    /** Starts a replica again after it was stopped or killed, and waits until it is ready. */
    public void restartReplica(Replica r, Duration timeout) throws Exception {
        r.process().restart(home.root());
        awaitReady(r.instance(), r.process(), r.httpPort(), timeout);
    }

    /** A stage replica the stack started beside the first one. */
    public record Replica(String instance, ManagedProcess process, int httpPort, int grpcPort) {
    }

    /** The bearer token the stages accept on their control API. */
    public String controlToken() {
        return controlToken;
    }

    /** Where a stack keeps its control token. */
    public static Path tokenFile(Path runDir) {
        return runDir.resolve("control.token");
    }

    /** The run directory's control token, made (random, owner-only file) when there is none yet. */
    static String controlToken(Path runDir) throws IOException {
        Path file = tokenFile(runDir);
        if (Files.exists(file)) {
            String t = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (!t.isEmpty()) {
                return t;
            }
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        Files.createDirectories(runDir);
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(file);
        }
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
        return token;
    }

    /** Waits until the stage's readiness check passes (its Kafka Streams app is running). */
    public void awaitReady(PipelineStage s, Duration timeout) throws InterruptedException {
        awaitReady(s.id(), stages.get(s), ports.http(s), timeout);
    }

    private void awaitReady(String name, ManagedProcess p, int httpPort, Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        URI ready = URI.create("http://localhost:" + httpPort + "/q/health/ready");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException(name + " exited during start:\n" + p.tail(40));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(3)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    log.accept(name + " ready");
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException(name + " was not ready within " + timeout + ":\n" + p.tail(40));
    }

    public String bootstrap() {
        return "localhost:" + ports.broker();
    }

    public Ports ports() {
        return ports;
    }

    public Path runDir() {
        return runDir;
    }

    public ManagedProcess broker() {
        return broker;
    }

    public ManagedProcess stage(PipelineStage s) {
        return stages.get(s);
    }

    /** Starts a stage again after it was stopped or killed, with the same command and state directory. */
    public void restart(PipelineStage s) throws IOException {
        stages.get(s).restart(home.root());
    }

    public void restartBroker() throws Exception {
        broker.restart(home.root());
        awaitBroker(Duration.ofSeconds(90));
    }

    @Override
    public void close() {
        // Stages first, so they commit and leave their groups while the broker is still there.
        List<Thread> stopping = new ArrayList<>();
        List<ManagedProcess> all = new ArrayList<>(stages.values());
        all.addAll(replicas);
        for (ManagedProcess p : all) {
            Thread t = new Thread(() -> p.stop(30), "stop-" + p.name());
            t.start();
            stopping.add(t);
        }
        for (Thread t : stopping) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (broker != null) {
            broker.stop(30);
        }
    }

    /** Deletes a run directory's data (broker log, stream state), keeping its logs. */
    public static void deleteData(Path runDir) {
        for (String sub : List.of("broker", "state")) {
            Path p = runDir.resolve(sub);
            if (Files.exists(p)) {
                try (var walk = Files.walk(p)) {
                    walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(f -> f.toFile().delete());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /** Ports handed out by this JVM: one not yet bound would still look free. */
    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
    private static final SplittableRandom PORT_CHOICE = new SplittableRandom(new SecureRandom().nextLong());

    /**
     * A port free to listen on, chosen below the kernel's ephemeral range. A port from
     * {@code bind(0)} lies inside that range, where any outgoing connection (the stages' own, to the
     * broker) may take it as its local port before the process it was meant for binds it: seen in
     * CI as a stage failing to start with "Port … seems to be in use".
     */
    static int freePort() {
        int top = Math.min(ephemeralRangeStart(), 32_768);
        int bottom = 20_000;
        for (int attempt = 0; top - bottom >= 1000 && attempt < 200; attempt++) {
            int port;
            synchronized (PORT_CHOICE) {
                port = bottom + PORT_CHOICE.nextInt(top - bottom);
            }
            if (!HANDED_OUT.contains(port) && bindable(port) && HANDED_OUT.add(port)) {
                return port;
            }
        }
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean bindable(int port) {
        try (ServerSocket s = new ServerSocket(port)) {
            s.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** First port of Linux's ephemeral range ({@code ip_local_port_range}); 32768 where unknown. */
    private static int ephemeralRangeStart() {
        try {
            // readAllLines, not readString: /proc files report size 0, and readString returned "3" here.
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
