package io.rewardstream.dev;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Apicurio Registry 2.5.11 (in-memory storage) run as a child JVM on 127.0.0.1 and a free port, used as the local
 * Confluent-compatible schema registry. The global compatibility level is set to BACKWARD before
 * {@link #start()} returns (Apicurio's default is NONE).
 *
 * <p>The runner jar is looked up under the system property {@code rewardstream.apicurio.dir}, else under
 * {@code <rewardstream.home or cwd>/target/apicurio} (unpacked there by {@code ./mvnw package}).
 *
 * <p>Ownership: the caller must {@link #close()} it; a JVM shutdown hook also kills the child so no process is
 * left behind if the caller forgets (not after SIGKILL of this JVM). Thread-safe; {@link #close()} is idempotent.
 */
public final class ApicurioRegistry implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ApicurioRegistry.class);
    /** System property naming the directory holding the unpacked {@code apicurio-registry-app} zip. */
    public static final String DIR_PROPERTY = "rewardstream.apicurio.dir";
    static final String RUNNER_JAR = "apicurio-registry-app-2.5.11.Final-runner.jar";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int START_ATTEMPTS = 3;

    private final Process process;
    private final Path dir;
    private final int port;
    private final Cds cds;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private ApicurioRegistry(Process process, Path dir, int port, Cds cds) {
        this.process = process;
        this.dir = dir;
        this.port = port;
        this.cds = cds;
        this.shutdownHook = new Thread(() -> stop(process, cds), "apicurio-shutdown");
    }

    /**
     * Starts the registry and waits until its Confluent API answers, then sets global compatibility to BACKWARD.
     *
     * @throws IllegalStateException if the runner jar is missing (message says how to get it), or the child exits
     *                               or is not ready within 120 s (the message carries the tail of its log)
     * @throws Exception             on I/O failure or interruption; the child is always stopped on failure
     */
    public static ApicurioRegistry start() throws Exception {
        Path jar = findRunnerJar();
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            try {
                return startOnce(jar);
            } catch (PortLostException e) {
                // The free port was taken between probing and binding: retry on another one.
                last = e;
                log.warn("Apicurio could not bind its port (attempt {}/{}), retrying", attempt, START_ATTEMPTS);
            }
        }
        throw last;
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** The Confluent-compatible API base, {@code http://127.0.0.1:<port>/apis/ccompat/v7}. */
    public String confluentApiUrl() {
        return baseUrl() + "/apis/ccompat/v7";
    }

    /** The child process (e.g. to check that it is gone after {@link #close()}). */
    public ProcessHandle processHandle() {
        return process.toHandle();
    }

    /** Stops the child (SIGTERM, then SIGKILL after 10 s) and deletes its temp directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running or will run; stopping twice is harmless.
        }
        stop(process, cds);
        EmbeddedKafka.deleteRecursively(dir);
    }

    private static ApicurioRegistry startOnce(Path jar) throws Exception {
        long t0 = System.nanoTime();
        int port = EmbeddedKafka.freePort();
        Path dir = Files.createTempDirectory("rewardstream-apicurio-");
        Path logFile = dir.resolve("registry.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Cds cds = Cds.plan(jar, dir);
        List<String> command = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC"));
        command.addAll(cds.jvmOptions());
        command.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile());
        pb.environment().put("QUARKUS_HTTP_HOST", "127.0.0.1");
        pb.environment().put("QUARKUS_HTTP_PORT", String.valueOf(port));
        pb.environment().put("QUARKUS_PROFILE", "prod");
        Process process = pb.start();
        ApicurioRegistry registry = new ApicurioRegistry(process, dir, port, cds);
        Runtime.getRuntime().addShutdownHook(registry.shutdownHook);
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            awaitReady(http, registry, logFile);
            setBackward(http, registry);
            log.info("Apicurio registry ready at {} in {} ms (log {}, {})", registry.confluentApiUrl(),
                    (System.nanoTime() - t0) / 1_000_000, logFile, cds.describe());
            return registry;
        } catch (Exception | Error e) {
            registry.close();
            throw e;
        }
    }

    private static void awaitReady(HttpClient http, ApicurioRegistry r, Path logFile) throws Exception {
        HttpRequest probe = HttpRequest.newBuilder(URI.create(r.confluentApiUrl() + "/subjects"))
                .timeout(Duration.ofSeconds(5)).GET().build();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!r.process.isAlive()) {
                String tail = tail(logFile);
                if (tail.contains("Port " + r.port + " seems to be in use") || tail.contains("Address already in use")) {
                    throw new PortLostException("Apicurio port " + r.port + " in use:\n" + tail);
                }
                throw new IllegalStateException("Apicurio registry exited with code " + r.process.exitValue()
                        + " before becoming ready; log " + logFile + ":\n" + tail);
            }
            try {
                HttpResponse<String> resp = http.send(probe, HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // Connection refused until Quarkus is listening.
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("Apicurio registry not ready within " + READY_TIMEOUT + "; log " + logFile
                + ":\n" + tail(logFile));
    }

    private static void setBackward(HttpClient http, ApicurioRegistry r) throws Exception {
        HttpRequest put = HttpRequest.newBuilder(URI.create(r.confluentApiUrl() + "/config"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"compatibility\":\"BACKWARD\"}"))
                .build();
        HttpResponse<String> resp = http.send(put, HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException("Setting BACKWARD compatibility failed: HTTP " + resp.statusCode()
                    + " " + resp.body());
        }
    }

    /** Locates the runner jar; see the class comment for the search order. */
    static Path findRunnerJar() {
        String configured = System.getProperty(DIR_PROPERTY);
        Path base;
        if (configured != null && !configured.isBlank()) {
            base = Path.of(configured);
        } else {
            String home = System.getProperty("rewardstream.home", System.getProperty("user.dir"));
            base = Path.of(home, "target", "apicurio");
        }
        if (Files.isDirectory(base)) {
            try (Stream<Path> files = Files.find(base, 4,
                    (p, a) -> a.isRegularFile() && p.getFileName().toString().equals(RUNNER_JAR))) {
                Optional<Path> jar = files.findFirst();
                if (jar.isPresent()) {
                    return jar.get();
                }
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot search " + base + " for " + RUNNER_JAR, e);
            }
        }
        throw new IllegalStateException("Apicurio registry runner " + RUNNER_JAR + " not found under "
                + base.toAbsolutePath() + " (set -D" + DIR_PROPERTY + "=DIR); run `./mvnw package -DskipTests` "
                + "to unpack io.apicurio:apicurio-registry-app:2.5.11.Final:zip:all into target/apicurio");
    }

    private static void stop(Process process, Cds cds) {
        if (!process.isAlive()) {
            return;
        }
        List<ProcessHandle> children = new ArrayList<>(process.descendants().toList());
        process.destroy();
        boolean graceful = false;
        try {
            // A run that dumps the class-data archive at exit needs longer to stop.
            Duration timeout = cds.dumping() ? STOP_TIMEOUT.multipliedBy(3) : STOP_TIMEOUT;
            graceful = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!graceful) {
                process.destroyForcibly();
                process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.forEach(ProcessHandle::destroyForcibly);
        if (graceful) {
            cds.keepArchive();
        }
    }

    /**
     * Application class-data sharing for the registry JVM: the first run dumps its loaded classes at exit
     * ({@code -XX:ArchiveClassesAtExit}, into its temp dir); a gracefully stopped run's archive is moved beside
     * the jar, and later runs map it ({@code -XX:SharedArchiveFile}), which cut registry start from ~31-36 s to
     * ~6-7 s on this loaded 2-core machine. The archive name carries the JVM and jar identity, so a different
     * JVM or jar gets its own archive; an unusable archive only makes the JVM warn and start without it.
     */
    private record Cds(Path archive, Path dump) {
        static Cds plan(Path jar, Path tempDir) {
            try {
                String id = System.getProperty("java.vm.version") + "-" + Files.size(jar) + "-"
                        + Files.getLastModifiedTime(jar).toMillis();
                Path archive = jar.resolveSibling(".rewardstream-cds-" + id.replaceAll("[^A-Za-z0-9._-]", "_")
                        + ".jsa");
                if (Files.isRegularFile(archive) && Files.size(archive) > 0) {
                    return new Cds(archive, null);
                }
                if (Files.isWritable(jar.getParent())) {
                    return new Cds(archive, tempDir.resolve("app-cds.jsa"));
                }
            } catch (IOException e) {
                log.debug("No class-data sharing for Apicurio: {}", e.toString());
            }
            return new Cds(null, null);
        }

        boolean dumping() {
            return dump != null;
        }

        List<String> jvmOptions() {
            if (dump != null) {
                return List.of("-XX:ArchiveClassesAtExit=" + dump);
            }
            return archive != null ? List.of("-XX:SharedArchiveFile=" + archive) : List.of();
        }

        String describe() {
            return dump != null ? "creating class-data archive" : archive != null ? "class-data archive" : "no CDS";
        }

        void keepArchive() {
            if (dump == null || !Files.isRegularFile(dump)) {
                return;
            }
            try {
                Path tmp = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
                Files.move(dump, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                log.info("Saved Apicurio class-data archive {} (faster registry starts from now on)", archive);
            } catch (IOException e) {
                log.debug("Could not keep class-data archive {}: {}", archive, e.toString());
            }
        }
    }

    private static String tail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static final class PortLostException extends IllegalStateException {
        PortLostException(String message) {
            super(message);
        }
    }
}
