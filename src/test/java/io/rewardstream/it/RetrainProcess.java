package io.rewardstream.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The retraining job ({@code io.rewardstream.cli.Main retrain --config FILE --ready-file FILE}) in a SEPARATE JVM
 * (this JVM's java and class path, {@code -Xmx1g}); each {@link #start} writes its own log {@code <dir>/job-<n>.log}
 * so a test can wait for the phase lines of one run. {@link #kill()} = SIGKILL, {@link #stop} = SIGTERM;
 * {@link #close()} kills a process still running. Not thread-safe.
 */
final class RetrainProcess implements AutoCloseable {
    private final Path dir;
    private final Path config;
    private final Path readyFile;
    private Process process;
    private Path log;
    private int starts;

    RetrainProcess(Path dir, Path config) {
        this.dir = dir;
        this.config = config;
        this.readyFile = dir.resolve("retrain.ready");
    }

    /** Launches a new JVM with extra {@code -D} options (e.g. the chaos pause); returns at once. */
    RetrainProcess start(String... jvmOptions) {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("retrain job still running (pid " + process.pid() + ")");
        }
        try {
            Files.deleteIfExists(readyFile);   // a SIGKILLed job leaves it behind
            List<String> cmd = new ArrayList<>();
            cmd.add(ProcessHandle.current().info().command().orElse(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.add("-Xmx1g");
            cmd.add("-XX:+UseSerialGC");
            String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
            if (cache != null) {
                cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
            }
            cmd.addAll(List.of(jvmOptions));
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.rewardstream.cli.Main", "retrain",
                    "--config", config.toString(), "--ready-file", readyFile.toString()));
            log = dir.resolve("job-" + (++starts) + ".log");
            process = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            System.out.printf("[retrain] start #%d pid %d %s, log %s%n", starts, process.pid(), List.of(jvmOptions), log);
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the current run's log contains {@code text}; returns the milliseconds waited. */
    long awaitLog(String text, Duration timeout) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        while (!logText().contains(text)) {
            if (!process.isAlive()) {
                throw new AssertionError("retrain job exited (" + process.exitValue() + ") before logging '" + text
                        + "':\n" + tail(60));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("'" + text + "' not logged within " + timeout + ":\n" + tail(60));
            }
            Thread.sleep(20);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    void awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(readyFile)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("retrain job not ready:\n" + tail(60));
            }
            Thread.sleep(50);
        }
    }

    /** SIGKILL and wait until it is gone. */
    void kill() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError("retrain job survived SIGKILL");
            }
            System.out.printf("[retrain] killed #%d (SIGKILL)%n", starts);
        }
    }

    /** SIGTERM; returns the exit code, or -1 when it had to be killed after {@code timeout}. */
    int stop(Duration timeout) throws InterruptedException {
        if (process == null || !process.isAlive()) {
            return process == null ? -1 : process.exitValue();
        }
        process.destroy();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return process.exitValue();
        }
        kill();
        return -1;
    }

    String logText() {
        try {
            return log != null && Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    String tail(int lines) {
        String[] all = logText().split("\n");
        return String.join("\n", java.util.Arrays.asList(all).subList(Math.max(0, all.length - lines), all.length));
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
