package io.fluostream.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A child process this launcher started, with its output in a log file, stopped when we stop. */
public final class ManagedProcess implements AutoCloseable {

    private final String name;
    private final List<String> command;
    private final Path log;
    private final Map<String, String> environment;
    private Process process;

    private ManagedProcess(String name, List<String> command, Path log, Map<String, String> environment) {
        this.name = name;
        this.command = List.copyOf(command);
        this.log = log;
        this.environment = Map.copyOf(environment);
    }

    public static ManagedProcess start(String name, List<String> command, Path log, Path workDir) throws IOException {
        return start(name, command, log, workDir, Map.of());
    }

    /**
     * @param environment variables added to this process's environment (secrets go here, not on the
     *                    command line, where any user of the machine could read them)
     */
    public static ManagedProcess start(String name, List<String> command, Path log, Path workDir,
                                       Map<String, String> environment) throws IOException {
        ManagedProcess p = new ManagedProcess(name, command, log, environment);
        p.launch(workDir);
        return p;
    }

    private void launch(Path workDir) throws IOException {
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(environment);
        process = pb.start();
    }

    /** Starts the same command again (after {@link #kill()} or {@link #stop()}), appending to the same log. */
    public void restart(Path workDir) throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is still running");
        }
        launch(workDir);
    }

    public String name() {
        return name;
    }

    public Path log() {
        return log;
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process.pid();
    }

    /** Asks the process to stop (SIGTERM) and waits; forces it after {@code graceSeconds}. */
    public void stop(int graceSeconds) {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Kills the process without warning (SIGKILL), as a crash would. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The last lines of the log, for error messages. */
    public String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        stop(20);
    }
}
