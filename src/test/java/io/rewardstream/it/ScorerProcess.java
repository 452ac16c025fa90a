package io.rewardstream.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A scorer ({@code io.rewardstream.cli.Main score --config FILE --ready-file FILE}) in a SEPARATE JVM: the java of
 * this JVM, this JVM's class path, {@code -Xmx1g}, stdout and stderr appended to {@code <dir>/scorer.log}. Each
 * {@link #start()} launches a new process on the same config and log (a restart); {@link #kill()} sends SIGKILL
 * ({@link Process#destroyForcibly()}), {@link #stop()} SIGTERM ({@link Process#destroy()}). {@link #close()} kills a
 * process still running, so a test that fails half-way leaves nothing behind. Not thread-safe.
 */
public final class ScorerProcess implements AutoCloseable {
    private static final Pattern METRICS = Pattern.compile("metrics=(http://\\S+)");

    private final String name;
    private final Path dir;
    private final Path config;
    private final Path readyFile;
    private final Path log;
    private Process process;
    private int starts;

    /**
     * Writes {@code properties} to {@code <dir>/scorer.properties}.
     *
     * @param name a label for messages
     * @param dir  the instance's working directory (config, ready file, log); created if missing
     */
    public ScorerProcess(String name, Path dir, Map<String, String> properties) {
        this.name = name;
        this.dir = dir;
        this.config = dir.resolve("scorer.properties");
        this.readyFile = dir.resolve("ready");
        this.log = dir.resolve("scorer.log");
        Properties p = new Properties();
        p.putAll(properties);
        try {
            Files.createDirectories(dir);
            try (Writer w = Files.newBufferedWriter(config, StandardCharsets.UTF_8)) {
                p.store(w, "scorer " + name);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Launches the JVM (the previous one must be gone). Returns at once; see {@link #awaitReady}. */
    public ScorerProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is still running (pid " + process.pid() + ")");
        }
        try {
            Files.deleteIfExists(readyFile);
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElse(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.add("-Xmx1g");
            cmd.add("-XX:+UseSerialGC");
            cmd.add("-XX:TieredStopAtLevel=1");
            String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
            if (cache != null) {
                cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
            }
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add("io.rewardstream.cli.Main");
            cmd.add("score");
            cmd.add("--config");
            cmd.add(config.toString());
            cmd.add("--ready-file");
            cmd.add(readyFile.toString());
            Files.writeString(log, "==== start #" + (++starts) + " " + String.join(" ", cmd.subList(0, 5))
                    + " ... score --config " + config + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            System.out.printf("[%s] started pid %d (start #%d), log %s%n", name, process.pid(), starts, log);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start scorer " + name, e);
        }
    }

    /**
     * Waits for the ready file (written once KafkaStreams is RUNNING).
     *
     * @throws AssertionError when the process exits first or the timeout passes (with the log's tail)
     */
    public ScorerProcess awaitReady(Duration timeout) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        while (!Files.exists(readyFile)) {
            if (!process.isAlive()) {
                throw new AssertionError(name + " exited with " + process.exitValue() + " before it was ready:\n"
                        + tail(60));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + " not ready within " + timeout + ":\n" + tail(60));
            }
            Thread.sleep(100);
        }
        System.out.printf("[%s] ready after %d ms: %s", name, (System.nanoTime() - t0) / 1_000_000, readyText());
        return this;
    }

    /** SIGKILL, then waits for the process to be gone. */
    public void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError(name + " survived SIGKILL for 30 s");
            }
            System.out.printf("[%s] killed (SIGKILL), exit %d%n", name, process.exitValue());
        }
    }

    /**
     * SIGTERM and waits for a graceful exit; falls back to SIGKILL after {@code timeout}.
     *
     * @return the exit code, or -1 when it had to be killed
     */
    public int stop(Duration timeout) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return process == null ? -1 : process.exitValue();
        }
        process.destroy();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            System.out.printf("[%s] stopped (SIGTERM), exit %d%n", name, process.exitValue());
            return process.exitValue();
        }
        kill();
        return -1;
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    public long pid() {
        return process == null ? -1 : process.pid();
    }

    public Path log() {
        return log;
    }

    public Path dir() {
        return dir;
    }

    /** The ready file's content (model version and metrics URL), or empty before readiness. */
    public String readyText() {
        try {
            return Files.exists(readyFile) ? Files.readString(readyFile) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Base URL of the scorer's metrics server, read from the ready file. */
    public Optional<String> metricsUrl() {
        Matcher m = METRICS.matcher(readyText());
        return m.find() && m.group(1).startsWith("http") ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The whole log (every start). */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** The last {@code lines} lines of the log. */
    public String tail(int lines) {
        String[] all = logText().split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
            sb.append(all[i]).append('\n');
        }
        return sb.toString();
    }

    /** Kills the process if it still runs. */
    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
