package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelPackager;
import io.rewardstream.scoring.PythonModels;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;

import java.io.IOException;
import java.io.Writer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The CPU image built from {@code docker/Dockerfile} (see {@link ContainerImages}) runs {@code score} on the host
 * network against this JVM's embedded broker and registry, serving a SavedModel exported by Python (Keras 3
 * {@code ExportArchive}, {@code src/test/resources/models/python/keras-export}) that {@code model package} packaged:
 * N rollouts in, N rewards out, each with the score the same model gives the rollout in this JVM, and
 * {@code /health/ready} answered. Skipped (with the reason) where no Docker engine or base image exists.
 */
@ExtendWith(SharedLocalStack.class)
class ContainerScorerIT {
    private static final int N = 200;

    @BeforeEach
    void needsDocker() {
        ContainerImages.assumeEngineAndBaseImage();
    }

    @Test
    void shouldScoreEveryRolloutWithThePackagedPythonModelInsideTheContainer(LocalStack stack) throws Exception {
        long t0 = System.nanoTime();
        ScorerIt.Names n = ScorerIt.Names.unique("container-scorer");
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        Path work = ScorerIt.workDir(n.prefix());
        Path model = PythonModels.copy("keras-export", work.resolve("model"));
        ModelPackager.pack(new ModelPackager.Request(model, "py-keras", 1, "ids", 260, null, 128, 0, false));
        ContainerImages.openUp(model, false);

        int port = freePort();
        Map<String, String> cfg = ScorerIt.config(stack, n, Path.of("/models/py-keras"),
                Path.of("/var/lib/rewardstream/streams"));
        cfg.put("metrics.host", "127.0.0.1");
        cfg.put("metrics.port", String.valueOf(port));
        cfg.put("batch.max.delay.ms", "100");
        Path conf = Files.createDirectories(work.resolve("conf"));
        writeProperties(conf.resolve("scorer.properties"), cfg);
        ContainerImages.openUp(conf, false);

        String image = ContainerImages.cpuImage();
        long tImage = System.nanoTime();
        try (GenericContainer<?> scorer = ContainerImages.cli("scorer", "score", "--config",
                        "/etc/rewardstream/it/scorer.properties")
                .withFileSystemBind(conf.toString(), "/etc/rewardstream/it", BindMode.READ_ONLY)
                .withFileSystemBind(model.toString(), "/models/py-keras", BindMode.READ_ONLY)) {
            scorer.start();
            String ready = awaitReady(scorer, port, Duration.ofMinutes(3));
            long tReady = System.nanoTime();
            assertThat(ready).isEqualTo("ready py-keras:1");

            List<Rollout> rollouts = new RolloutGenerator(11, n.prefix(), 260, 128).groups(N / 4, 4);
            try (ScorerTraffic traffic = new ScorerTraffic(stack);
                 ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
                 SavedModelRewardModel local = ModelLoader.load(model, RuntimeConfig.DEFAULTS)) {
                traffic.produce(n.rollouts(), rollouts);
                List<String> ids = rollouts.stream().map(r -> r.getRolloutId().toString()).toList();
                assertThat(rewards.awaitIds(ids, Duration.ofSeconds(120))).as("every rollout rewarded").isTrue();
                long tScored = System.nanoTime();
                Map<String, Reward> byId = new HashMap<>();
                rewards.all().forEach(r -> byId.put(r.getRolloutId().toString(), r));
                assertThat(byId).hasSize(N);
                for (Rollout r : rollouts) {
                    Reward w = byId.get(r.getRolloutId().toString());
                    assertThat(w.getModelVersion().toString()).isEqualTo("py-keras:1");
                    assertThat(w.getScore()).as("score of %s", r.getRolloutId())
                            .isCloseTo(ScorerIt.referenceScore(local, r), within(1e-3));
                }
                System.out.printf("[containers] scorer container %s: image %.1f s, ready %.1f s, %d rollouts "
                                + "rewarded in %.1f s%n", image, (tImage - t0) / 1e9, (tReady - tImage) / 1e9, N,
                        (tScored - tReady) / 1e9);
            }
        }
    }

    static String awaitReady(GenericContainer<?> c, int port, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI uri = URI.create("http://127.0.0.1:" + port + "/health/ready");
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!c.isRunning()) {
                throw new AssertionError("container exited before it was ready:\n" + c.getLogs());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                last = r.statusCode() + " " + r.body().trim();
                if (r.statusCode() == 200) {
                    return r.body().trim();
                }
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new AssertionError("/health/ready on port " + port + " not 200 within " + timeout + " (last: " + last
                + ")\n" + c.getLogs());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void writeProperties(Path file, Map<String, String> values) throws IOException {
        Properties p = new Properties();
        p.putAll(values);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "container IT");
        }
    }
}
