package io.rewardstream.it;

import io.micrometer.core.instrument.Counter;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.scoring.ReleaseTestModels;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.ReleaseWatcherHook;
import io.rewardstream.release.ReleaseWatcher;
import io.rewardstream.release.ReleasePublisher;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Hot swap under continuous load on the real broker and registry: a scorer (in-process {@link ScorerApp} with the
 * release watcher) serves {@code hs:1}; a signed {@code hs:2} is published mid-stream and rewards switch to it with
 * no rollout missing or scored twice, every reward equal to the score of the model version it names; then releases
 * with a wrong digest, a bad signature and a location outside the model root are refused (counted in
 * {@code rewardstream.releases.refused}) while scoring continues on {@code hs:2}.
 */
@ExtendWith(SharedLocalStack.class)
class HotSwapIT {
    private ScorerApp app;
    private Thread load;
    private final AtomicBoolean loading = new AtomicBoolean();

    @AfterEach
    void stopEverything() throws InterruptedException {
        loading.set(false);
        if (load != null) {
            load.join(10_000);
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void shouldSwapToASignedReleaseUnderLoadAndRefuseTamperedOnes(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("hotswap");
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(n.releases(), 1, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }
        Path work = ScorerIt.workDir(n.prefix());
        Path root = Files.createDirectories(work.resolve("models"));
        Path staging = Files.createDirectories(work.resolve("staging"));
        Path keys = Files.createDirectories(work.resolve("keys"));
        KeyPair key = ReleaseSigning.generateKeyPair();
        KeyPair stranger = ReleaseSigning.generateKeyPair();
        KeyFiles.writePublic(keys.resolve("k1.pub"), key.getPublic());
        KeyFiles.writePrivate(work.resolve("k1.key"), key.getPrivate());

        Path v1 = ReleaseTestModels.tinySavedModel(root, "hs", 1, 1);
        Path v2staged = ReleaseTestModels.tinySavedModel(staging, "hs", 2, 2);

        Map<String, String> cfg = ScorerIt.config(stack, n, v1, work.resolve("state"));
        cfg.put("batch.max.size", "16");
        cfg.put("batch.max.delay.ms", "100");
        cfg.put("model.root", root.toString());
        cfg.put("release.topic", n.releases());
        cfg.put("release.public.keys.dir", keys.toString());
        cfg.put("release.poll.ms", "200");
        Map<String, Object> client = ScorerTraffic.clientProps(stack);
        ScorerConfig scorerConfig = ScorerConfig.from(cfg);
        // the production wiring, exactly as `rewardstream score` does it
        app = new ScorerApp(scorerConfig, ReleaseWatcherHook.forConfig(scorerConfig), null, null);
        app.start();
        ScorerIt.await("scorer ready", Duration.ofMinutes(2), app::isReady);

        RolloutGenerator gen = new RolloutGenerator(2024, n.prefix(), 260, 128);
        List<Rollout> produced = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<Throwable> loadFailure = new AtomicReference<>();
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<ScorerTraffic.Positioned<Reward>> rewards = traffic.positionedRewards(n.rewards());
             ReleasePublisher publisher = ReleasePublisher.create(root, work.resolve("k1.key"), "k1", client,
                     n.releases())) {
            loading.set(true);
            load = new Thread(() -> {
                try {
                    while (loading.get()) {
                        List<Rollout> batch = gen.groups(3, 2);
                        traffic.produce(n.rollouts(), batch);
                        produced.addAll(batch);
                        Thread.sleep(100);
                    }
                } catch (Throwable t) {
                    loadFailure.set(t);
                }
            }, "hotswap-load");
            load.start();

            // a real switch on every partition: each has served a good number of hs:1 rewards before the release
            ScorerIt.await("20 rewards from hs:1 on each partition", Duration.ofSeconds(60), () -> {
                rewards.poll(Duration.ofMillis(200));
                Map<Integer, Long> perPartition = rewards.all().stream()
                        .filter(p -> p.value().getModelVersion().equals("hs:1"))
                        .collect(Collectors.groupingBy(ScorerTraffic.Positioned::partition, Collectors.counting()));
                return perPartition.size() == 2 && perPartition.values().stream().allMatch(c -> c >= 20);
            });

            ModelRelease good = publisher.publish(v2staged, null, null, false);
            assertThat(good.getSignature()).isNotNull();
            ScorerIt.await("hs:2 installed", Duration.ofSeconds(60), () -> count(ReleaseWatcher.INSTALLED_METRIC) >= 1);
            ScorerIt.await("rewards from hs:2", Duration.ofSeconds(60), () -> {
                rewards.poll(Duration.ofMillis(200));
                return versions(rewards.all()).contains("hs:2");
            });

            // wrong digest: a validly signed release whose digest of one file is not that file's
            ReleaseTestModels.tinySavedModel(root, "hs", 3, 3);
            ModelRelease wrongDigest = ReleaseTestModels.release(root, "hs", 3);
            Map<String, String> digests = new TreeMap<>(wrongDigest.getDigests());
            String file = digests.keySet().stream().filter(f -> f.startsWith("variables/")).findFirst().orElseThrow();
            digests.put(file, "0".repeat(64));
            wrongDigest.setDigests(digests);
            publisher.send(ReleaseSigning.signed(wrongDigest, key.getPrivate(), "k1"));
            // bad signature: signed by a key the scorer does not trust, claiming the trusted key's id
            ReleaseTestModels.tinySavedModel(root, "hs", 4, 4);
            publisher.send(ReleaseTestModels.signedRelease(root, "hs", 4, stranger.getPrivate(), "k1"));
            // location outside the model root (a real, correctly signed model beside the root)
            Path outside = ReleaseTestModels.tinySavedModel(work.resolve("outside"), "hs", 5, 5);
            ModelRelease escape = ModelRelease.newBuilder(ReleaseTestModels.release(work.resolve("outside"), "hs", 5))
                    .setLocation("../outside/hs/v5").build();
            assertThat(Files.isDirectory(root.resolve(escape.getLocation()))).isTrue();
            publisher.send(ReleaseSigning.signed(escape, key.getPrivate(), "k1"));

            ScorerIt.await("three refusals", Duration.ofSeconds(60), () -> count(ReleaseWatcher.REFUSED_METRIC) >= 3);
            Map<String, Double> refused = new TreeMap<>();
            app.registry().find(ReleaseWatcher.REFUSED_METRIC).counters().forEach(c -> {
                if (c.count() > 0) {
                    refused.merge(String.valueOf(c.getId().getTag("reason")), c.count(), Double::sum);
                }
            });
            assertThat(refused).containsOnlyKeys("DIGEST_MISMATCH", "BAD_SIGNATURE", "PATH_ESCAPES_ROOT")
                    .allSatisfy((k, v) -> assertThat(v).isEqualTo(1.0));
            assertThat(app.registry().scrape()).contains("rewardstream_releases_refused_total{reason=\"BAD_SIGNATURE\"}");
            assertThat(app.holder().modelVersion()).isEqualTo("hs:2");

            int afterRefusals = produced.size();
            Thread.sleep(2_000);
            loading.set(false);
            load.join(30_000);
            assertThat(loadFailure.get()).as("load generator failure").isNull();
            List<Rollout> all = List.copyOf(produced);
            List<Rollout> late = all.subList(afterRefusals, all.size());
            assertThat(late).as("rollouts produced after the refusals").isNotEmpty();

            assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofSeconds(90)))
                    .as("no gap: every rollout rewarded; missing %s", ScorerCrashIT.missing(all, rewards.ids()))
                    .isTrue();
            rewards.drain(Duration.ofSeconds(2));
            assertThat(rewards.duplicates()).as("rollouts scored twice").isEmpty();
            assertThat(rewards.ids()).containsExactlyInAnyOrderElementsOf(ScorerCrashIT.ids(all));

            Map<String, Reward> byId = new HashMap<>();
            Map<Integer, List<String>> versionsByPartition = new TreeMap<>();
            for (ScorerTraffic.Positioned<Reward> p : rewards.all()) {
                byId.put(p.value().getRolloutId(), p.value());
                versionsByPartition.computeIfAbsent(p.partition(), k -> new ArrayList<>()).add(p.value().getModelVersion());
            }
            assertThat(versions(rewards.all())).containsExactlyInAnyOrder("hs:1", "hs:2");
            assertThat(versionsByPartition).hasSize(2);
            versionsByPartition.forEach((part, vs) -> {
                assertThat(vs.get(0)).as("partition %d started on hs:1", part).isEqualTo("hs:1");
                int firstNew = vs.indexOf("hs:2");
                assertThat(firstNew).as("partition %d switched to hs:2", part).isNotNegative();
                assertThat(vs.subList(firstNew, vs.size())).as("partition %d: no hs:1 after the switch", part)
                        .containsOnly("hs:2");
            });
            assertThat(late).allSatisfy(r -> assertThat(byId.get(r.getRolloutId()).getModelVersion())
                    .as("%s scored after the refusals", r.getRolloutId()).isEqualTo("hs:2"));

            RuntimeConfig runtime = RuntimeConfig.from(Map.of("model.warmup", "false"));
            try (RewardModel m1 = ModelLoader.load(v1, runtime);
                 RewardModel m2 = ModelLoader.load(root.resolve("hs/v2"), runtime)) {
                Map<String, RewardModel> models = Map.of("hs:1", m1, "hs:2", m2);
                int differ = 0;
                for (Rollout r : all) {
                    Reward w = byId.get(r.getRolloutId());
                    double own = ScorerIt.referenceScore(models.get(w.getModelVersion()), r);
                    assertThat(w.getScore()).as("score of %s under %s", r.getRolloutId(), w.getModelVersion())
                            .isCloseTo(own, within(1e-4));
                    String other = w.getModelVersion().equals("hs:1") ? "hs:2" : "hs:1";
                    if (Math.abs(ScorerIt.referenceScore(models.get(other), r) - own) > 1e-3) {
                        differ++;
                    }
                }
                assertThat(differ).as("the two versions score differently (so the check above means something)")
                        .isGreaterThan(all.size() * 9 / 10);
            }
            assertThat(app.isReady()).isTrue();
            try (ScorerTraffic.Reader<org.apache.kafka.clients.consumer.ConsumerRecord<byte[], byte[]>> dlq =
                         traffic.raw(n.deadLetters(), r -> Long.toString(r.offset()))) {
                dlq.drain(Duration.ofSeconds(1));
                assertThat(dlq.all()).as("no rollout dead-lettered across the swap").isEmpty();
            }
            System.out.printf("hot swap: %d rollouts, %d by hs:1, %d by hs:2, refused %s%n", all.size(),
                    byId.values().stream().filter(r -> r.getModelVersion().equals("hs:1")).count(),
                    byId.values().stream().filter(r -> r.getModelVersion().equals("hs:2")).count(), refused);
        }
    }

    private double count(String name) {
        return app.registry().find(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static <T> Set<String> versions(List<T> rewards) {
        return rewards.stream().map(o -> o instanceof ScorerTraffic.Positioned<?> p ? (Reward) p.value() : (Reward) o)
                .map(r -> r.getModelVersion().toString()).collect(Collectors.toSet());
    }
}
