package io.fluostream.broker;

import io.fluostream.frames.RecordLimits;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node Kafka broker in KRaft mode (combined broker + controller) in this JVM.
 *
 * <p>Run as a process: {@code EmbeddedBroker --data-dir DIR [--port 9092] [--controller-port 9093]}.
 * It formats {@code DIR} on first use, so a restart on the same directory keeps every topic,
 * offset and transaction: the failure tests rely on that. It prints {@code BROKER READY host:port}
 * once it accepts clients, and stops cleanly on SIGTERM.
 */
public final class EmbeddedBroker implements AutoCloseable {

    private final KafkaRaftServer server;
    private final String bootstrap;

    private EmbeddedBroker(KafkaRaftServer server, String bootstrap) {
        this.server = server;
        this.bootstrap = bootstrap;
    }

    /** Formats {@code dataDir} if needed and starts the broker. */
    public static EmbeddedBroker start(Path dataDir, String host, int port, int controllerPort) throws IOException {
        Files.createDirectories(dataDir);
        Properties props = serverProperties(dataDir, host, port, controllerPort);
        Path propsFile = dataDir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(propsFile)) {
            props.store(w, "written by FluoStream EmbeddedBroker");
        }
        if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
            format(propsFile);
        }
        KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        server.startup();
        return new EmbeddedBroker(server, host + ":" + port);
    }

    static Properties serverProperties(Path dataDir, String host, int port, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@" + host + ":" + controllerPort);
        p.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("log.dirs", dataDir.resolve("logs").toString());
        // One node: every internal topic has one replica. Exactly-once needs the transaction log
        // settings in particular, or producers' transactions never initialise.
        p.put("offsets.topic.replication.factor", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        // Fewer internal partitions than the defaults (50) start faster on a 2-core machine.
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.partitions", "2");
        // Topics are created on purpose (PipelineTopics, Streams' internal topics); a typo should fail.
        p.put("auto.create.topics.enable", "false");
        p.put("log.retention.hours", "24");
        p.put("log.segment.bytes", Integer.toString(256 * 1024 * 1024));
        for (Map.Entry<String, String> e : RecordLimits.broker().entrySet()) {
            p.put(e.getKey(), e.getValue());
        }
        return p;
    }

    private static void format(Path propsFile) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String[] args = {"format", "-t", Uuid.randomUuid().toString(), "-c", propsFile.toString()};
        int rc = StorageTool.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            throw new IllegalStateException("formatting the Kafka log directory failed (" + rc + "): "
                    + out.toString(StandardCharsets.UTF_8));
        }
    }

    public String bootstrap() {
        return bootstrap;
    }

    public void awaitShutdown() {
        server.awaitShutdown();
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    public static void main(String[] args) throws Exception {
        Path dataDir = null;
        String host = "localhost";
        int port = 9092;
        int controllerPort = 9093;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data-dir":
                    dataDir = Path.of(args[++i]);
                    break;
                case "--host":
                    host = args[++i];
                    break;
                case "--port":
                    port = Integer.parseInt(args[++i]);
                    break;
                case "--controller-port":
                    controllerPort = Integer.parseInt(args[++i]);
                    break;
                default:
                    System.err.println("unknown option " + args[i]
                            + "\nusage: EmbeddedBroker --data-dir DIR [--host H] [--port 9092] [--controller-port 9093]");
                    System.exit(2);
            }
        }
        if (dataDir == null) {
            System.err.println("--data-dir is required");
            System.exit(2);
        }
        EmbeddedBroker broker = start(dataDir, host, port, controllerPort);
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "broker-shutdown"));
        System.out.println("BROKER READY " + broker.bootstrap());
        System.out.flush();
        broker.awaitShutdown();
    }
}
