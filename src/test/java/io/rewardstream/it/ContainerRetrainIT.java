package io.rewardstream.it;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.release.ReleaseLog;
import io.rewardstream.training.RetrainJobIT;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Both jobs in containers of the CPU image built from {@code docker/Dockerfile}, on the host network against this
 * JVM's embedded broker and registry, sharing a model root directory as in {@code docker/compose.yaml}: the scorer
 * container starts on the signed release {@code fb:1} (a built-in tiny model trained here on addition); the retraining
 * container, holding the private key, receives preference pairs of a shifted task (multiplication), trains, passes
 * its gate and publishes the signed release {@code fb:2}; the scorer container verifies it and swaps
 * ({@code /health/ready} says {@code ready fb:2}) and the rewards of new rollouts carry {@code fb:2}.
 * Skipped (with the reason) where no Docker engine or base image exists.
 */
@ExtendWith(SharedLocalStack.class)
class ContainerRetrainIT {
    private static final String ROOT = "/var/lib/rewardstream/models";
    private static final String KEYS = "/etc/rewardstream/keys";

    @BeforeEach
    void needsDocker() {
        ContainerImages.assumeEngineAndBaseImage();
    }

    @Test
    void shouldSwapTheScorerContainerToTheReleaseTheRetrainingContainerPublishes(LocalStack stack) throws Exception {
        long t0 = System.nanoTime();
        // fb:1: the built-in tiny model trained on addition, published as a signed release into the shared root
        FeedbackFixture f = FeedbackFixture.publishBase(stack, "container-retrain");
        ScorerIt.Names n = f.names();
        // the containers run as uid 10001: the shared root is theirs to write, the keys to read (test only)
        ContainerImages.openUp(f.root(), true);
        ContainerImages.openUp(f.privateKeys(), false);
        ContainerImages.openUp(f.publicKeys(), false);

        int port = ContainerScorerIT.freePort();
        Map<String, String> sc = ScorerIt.config(stack, n, null, Path.of("/var/lib/rewardstream/streams"));
        sc.put("metrics.host", "127.0.0.1");
        sc.put("metrics.port", String.valueOf(port));
        sc.put("batch.max.delay.ms", "100");
        sc.put("model.root", ROOT);
        sc.put("release.topic", n.releases());
        sc.put("release.public.keys.dir", KEYS);
        sc.put("release.model.name", "fb");
        sc.put("release.poll.ms", "200");
        Map<String, String> rc = new HashMap<>();
        rc.put("bootstrap.servers", stack.bootstrapServers());
        rc.put("schema.registry.url", stack.schemaRegistryUrl());
        rc.put("retrain.group.id", n.prefix() + "-retrain");
        rc.put("topics.preferences.name", f.prefs());
        rc.put("topics.ranked-preferences.name", f.ranked());
        rc.put("topics.model-releases.name", n.releases());
        rc.put("topics.rewardstream-dead-letters.name", n.deadLetters());
        rc.put("retrain.min.new.pairs", "500");
        rc.put("retrain.steps", "300");
        rc.put("retrain.batch.size", "32");
        rc.put("retrain.learning.rate", "0.001");
        rc.put("retrain.replay.dir", "/var/lib/rewardstream/replay");
        rc.put("retrain.heldout.fraction", "0.2");
        rc.put("retrain.gate.tolerance", "0.02");
        rc.put("retrain.model.root", ROOT);
        rc.put("retrain.model.name", "fb");
        rc.put("retrain.signing.key", KEYS + "/release.key");
        rc.put("retrain.signing.key.id", "release");
        rc.put("kafka.group.instance.id", n.prefix() + "-retrain-0");
        rc.put("metrics.host", "127.0.0.1");
        rc.put("metrics.port", "0");   // host network: no fixed port
        Path conf = Files.createDirectories(f.work().resolve("conf"));
        ContainerScorerIT.writeProperties(conf.resolve("scorer.properties"), sc);
        ContainerScorerIT.writeProperties(conf.resolve("retrain.properties"), rc);
        ContainerImages.openUp(conf, false);

        ContainerImages.cpuImage();
        long tImage = System.nanoTime();
        try (GenericContainer<?> scorer = ContainerImages.cli("scorer", "score", "--config",
                        "/etc/rewardstream/it/scorer.properties")
                .withFileSystemBind(conf.toString(), "/etc/rewardstream/it", BindMode.READ_ONLY)
                .withFileSystemBind(f.root().toString(), ROOT, BindMode.READ_ONLY)
                .withFileSystemBind(f.publicKeys().toString(), KEYS, BindMode.READ_ONLY);
             GenericContainer<?> retrain = ContainerImages.cli("retrain", "retrain", "--config",
                        "/etc/rewardstream/it/retrain.properties")
                .withFileSystemBind(conf.toString(), "/etc/rewardstream/it", BindMode.READ_ONLY)
                .withFileSystemBind(f.root().toString(), ROOT, BindMode.READ_WRITE)
                .withFileSystemBind(f.privateKeys().toString(), KEYS, BindMode.READ_ONLY);
             ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards())) {
            scorer.start();
            retrain.start();
            assertThat(ContainerScorerIT.awaitReady(scorer, port, Duration.ofMinutes(3))).isEqualTo("ready fb:1");
            long tReady = System.nanoTime();

            List<PreferencePair> pairs = new ArrayList<>();
            ArithmeticTask shifted = new ArithmeticTask(ArithmeticTask.Config.defaults()
                    .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(78));
            for (PreferenceExample e : shifted.generate(500, ArithmeticTask.Part.TRAIN, false)) {
                pairs.add(RetrainJobIT.toAvro(e, "ann-" + pairs.size() % 3));
            }
            RetrainJobIT.publish(stack, f.prefs(), pairs, List.of());

            ScorerIt.await("the scorer container serves fb:2", Duration.ofMinutes(5), () -> {
                assertThat(retrain.isRunning()).as("retraining container running").isTrue();
                try {
                    return ContainerScorerIT.awaitReady(scorer, port, Duration.ofSeconds(10)).equals("ready fb:2");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            long tSwap = System.nanoTime();
            ModelRelease v2;
            try (ReleaseLog log = new ReleaseLog(f.client(), n.releases(), Duration.ofSeconds(30))) {
                v2 = log.latest("fb");
            }
            assertThat(v2.getVersion()).isEqualTo(2);
            assertThat(v2.getParentVersion()).isEqualTo(1L);
            assertThat(v2.getSigningKeyId().toString()).isEqualTo("release");
            assertThat(f.root().resolve(v2.getLocation().toString()).resolve("saved_model.pb")).isRegularFile();

            List<Rollout> rollouts = PackagedModelIT.textRollouts(n.prefix(), 40);
            traffic.produce(n.rollouts(), rollouts);
            List<String> ids = rollouts.stream().map(r -> r.getRolloutId().toString()).toList();
            assertThat(rewards.awaitIds(ids, Duration.ofSeconds(90))).as("every rollout rewarded").isTrue();
            assertThat(rewards.all()).extracting(r -> r.getModelVersion().toString()).containsOnly("fb:2");
            System.out.printf("[containers] retrain container released fb:2 (held-out accuracy %.3f vs %.3f); scorer "
                            + "container: ready %.1f s, pairs -> swap %.1f s, total %.1f s%n",
                    v2.getEvalMetrics().get("accuracy"), v2.getEvalMetrics().get("current_accuracy"),
                    (tReady - tImage) / 1e9, (tSwap - tReady) / 1e9, (System.nanoTime() - t0) / 1e9);
        }
    }
}
