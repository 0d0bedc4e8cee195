package io.fluostream.cli;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where the project lives and where its built pieces are: the broker's classpath and each stage's
 * Quarkus app. The {@code ./fluostream} script sets {@code fluostream.home}; tests find it upward
 * from the working directory.
 */
public final class Home {

    private final Path root;

    private Home(Path root) {
        this.root = root;
    }

    public static Home locate() {
        String prop = System.getProperty("fluostream.home");
        if (prop != null) {
            return new Home(Path.of(prop).toAbsolutePath().normalize());
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.exists(p.resolve("fluostream")) && Files.isDirectory(p.resolve("services"))) {
                return new Home(p);
            }
            p = p.getParent();
        }
        throw new IllegalStateException("cannot find the FluoStream checkout: set -Dfluostream.home");
    }

    public Path root() {
        return root;
    }

    public Path stageApp(PipelineStage stage) {
        return requireBuilt(root.resolve("services").resolve(stage.id()).resolve("target/quarkus-app/quarkus-run.jar"));
    }

    /** Class path of the embedded broker: its jar and target/lib. */
    public String brokerClasspath() throws IOException {
        Path target = root.resolve("services/broker/target");
        Path lib = requireBuilt(target.resolve("lib"));
        try (Stream<Path> jars = Files.list(target)) {
            Path jar = jars.filter(j -> j.getFileName().toString().matches("fluostream-broker-.*\\.jar")).findFirst()
                    .orElseThrow(() -> notBuilt(target.resolve("fluostream-broker-*.jar")));
            return String.join(File.pathSeparator, List.of(jar.toString(), lib + File.separator + "*"));
        }
    }

    public static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Path requireBuilt(Path p) {
        if (!Files.exists(p)) {
            throw notBuilt(p);
        }
        return p;
    }

    private static IllegalStateException notBuilt(Path p) {
        return new IllegalStateException(p + " is missing: build first (mvn -DskipTests package, or ./fluostream demo builds it)");
    }
}
