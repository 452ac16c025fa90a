package io.rewardstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@code Main dev-stack} in its own JVM, as a user would, and checks it starts, serves and cleans up. */
class DevStackCommandIT {

    @Test
    void shouldServeBothEndpointsAndLeaveNothingBehind(@TempDir Path dir) throws Exception {
        Path ready = dir.resolve("ready.env");
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path")));
        Optional.ofNullable(System.getProperty("rewardstream.apicurio.dir"))
                .ifPresent(d -> cmd.add("-Drewardstream.apicurio.dir=" + d));
        cmd.addAll(List.of("io.rewardstream.cli.Main", "dev-stack", "--ready-file", ready.toString()));
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        ProcessHandle registry = null;
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!Files.exists(ready) && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(Files.exists(ready)).as("ready file; stderr:%n%s", Files.readString(err)).isTrue();

            Map<String, String> env = parse(Files.readAllLines(ready));
            assertThat(env.keySet()).containsExactly("KAFKA_BOOTSTRAP", "SCHEMA_REGISTRY_URL");
            assertThat(env.get("KAFKA_BOOTSTRAP")).matches("127\\.0\\.0\\.1:\\d+");
            assertThat(env.get("SCHEMA_REGISTRY_URL")).matches("http://127\\.0\\.0\\.1:\\d+/apis/ccompat/v7");
            assertThat(Files.readAllLines(out)).as("stdout is exactly the two lines").isEqualTo(Files.readAllLines(ready));

            try (Admin admin = Admin.create(Map.of("bootstrap.servers", env.get("KAFKA_BOOTSTRAP")))) {
                Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
                assertThat(topics).contains("rollouts", "rewards", "group-advantages", "preferences",
                        "ranked-preferences", "model-releases", "rewardstream-dead-letters");
                ConfigResource releases = new ConfigResource(ConfigResource.Type.TOPIC, "model-releases");
                Config c = admin.describeConfigs(List.of(releases)).all().get(30, TimeUnit.SECONDS).get(releases);
                assertThat(c.get("cleanup.policy").value()).isEqualTo("compact");
            }
            HttpResponse<String> config = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(env.get("SCHEMA_REGISTRY_URL") + "/config")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(config.statusCode()).isEqualTo(200);
            assertThat(config.body()).contains("BACKWARD");

            registry = p.descendants()
                    .filter(h -> h.info().commandLine().orElse("").contains("apicurio-registry-app"))
                    .findFirst().orElse(null);
            assertThat(registry).as("registry child process").isNotNull();
        } finally {
            p.destroy(); // SIGTERM: the shutdown hook must stop the stack
            boolean exited = p.waitFor(60, TimeUnit.SECONDS);
            if (!exited) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            assertThat(exited).as("dev-stack exits on SIGTERM").isTrue();
        }
        ProcessHandle child = registry;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (child.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(child.isAlive()).as("registry child stopped").isFalse();
        assertThat(ready).as("ready file removed on shutdown").doesNotExist();
        assertThat(Files.readString(err)).contains("dev-stack: stopped");
    }

    private static Map<String, String> parse(List<String> lines) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String l : lines) {
            int eq = l.indexOf('=');
            if (eq > 0) {
                m.put(l.substring(0, eq), l.substring(eq + 1));
            }
        }
        return m;
    }
}
