package io.rewardstream.it;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.release.ReleaseVerifier;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.release.ReleaseConfig;
import io.rewardstream.release.ReleaseWatcher;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.ReplayBuffer;
import io.rewardstream.training.RetrainJob;
import io.rewardstream.training.RetrainJobIT;
import io.rewardstream.training.SavedModelRoundTrainerTest;
import io.rewardstream.training.StoredPair;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The retraining job ({@code Main retrain}, separate JVM) SIGKILLed (1) during training and (2) during release, in
 * the window between the atomic move to {@code v1} and sending the release (held open by the chaos knob
 * {@value RetrainJob#PAUSE_BEFORE_PUBLISH_PROPERTY}), then restarted: the restart publishes the complete,
 * unpublished {@code v1} instead of training again; a second round then releases {@code v2}. Checked at the end:
 * no pair lost (the replay buffer holds every produced pair id; the group committed every offset), every version
 * published exactly once (read_committed count per version), only complete {@code v<N>} directories whose digests
 * verify (no temp directory), every published release passes {@link ReleaseVerifier}, and a {@link ReleaseWatcher}
 * following the topic throughout installed the releases and refused none (no LOAD_FAILED).
 */
@ExtendWith(SharedLocalStack.class)
class RetrainCrashIT {

    @Test
    void shouldLoseNoPairAndPublishEachVersionOnceAcrossKillsDuringTrainingAndRelease(LocalStack stack)
            throws Exception {
        long t0 = System.nanoTime();
        ScorerIt.Names n = ScorerIt.Names.unique("retraincrash");
        Path work = ScorerIt.workDir(n.prefix());
        String prefs = n.prefix() + "-prefs";
        String ranked = n.prefix() + "-ranked";
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(prefs, 2, (short) 1), new NewTopic(ranked, 1, (short) 1),
                    new NewTopic(n.releases(), 1, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                    new NewTopic(n.deadLetters(), 1, (short) 1))).all().get();
        }
        Path base = SavedModelRoundTrainerTest.additionModel(work, 100);
        KeyPair keys = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(work.resolve("release.key"), keys.getPrivate());
        Path pub = Files.createDirectories(work.resolve("pub"));
        KeyFiles.writePublic(pub.resolve("release.pub"), keys.getPublic());
        Path root = Files.createDirectories(work.resolve("models"));
        Path replay = work.resolve("replay");
        String model = "crash";
        Path config = work.resolve("retrain.properties");
        Files.writeString(config, String.join("\n",
                "bootstrap.servers=" + stack.bootstrapServers(),
                "schema.registry.url=" + stack.schemaRegistryUrl(),
                "retrain.group.id=" + n.prefix() + "-retrain",
                "topics.preferences.name=" + prefs,
                "topics.ranked-preferences.name=" + ranked,
                "topics.model-releases.name=" + n.releases(),
                "topics.rewardstream-dead-letters.name=" + n.deadLetters(),
                "retrain.min.new.pairs=200",
                "retrain.steps=120",
                "retrain.batch.size=32",
                "retrain.learning.rate=0.001",
                "retrain.replay.dir=" + replay,
                "retrain.replay.mix=0.25",
                "retrain.heldout.fraction=0.2",
                "retrain.gate.tolerance=0.15",   // round 2 must release (this test is about crashes, not quality)
                "retrain.model.root=" + root,
                "retrain.model.name=" + model,
                "retrain.base.model.dir=" + base,
                "retrain.signing.key=" + work.resolve("release.key"),
                "retrain.signing.key.id=release",
                "metrics.port=0",
                // static membership: a restarted job takes the partitions over at once after a SIGKILL
                "kafka.group.instance.id=" + n.prefix() + "-retrain-0",
                "kafka.session.timeout.ms=10000", ""));

        // a scorer-side watcher following the releases throughout (starts on the base model)
        RuntimeConfig runtime = RuntimeConfig.from(Map.of("model.warmup", "false", "model.intra.op.threads", "1",
                "model.inter.op.threads", "1"));
        SimpleMeterRegistry watcherMeters = new SimpleMeterRegistry();
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(31));
        List<PreferencePair> first = pairs(mul, 240, "a");
        List<PreferencePair> second = pairs(new ArithmeticTask(mul.config().withSeed(32)), 220, "b");

        try (ModelHolder holder = new ModelHolder(ModelLoader.load(base, runtime));
             ReleaseWatcher watcher = new ReleaseWatcher(new ReleaseConfig(root, n.releases(), pub, false, false, 200,
                     model, 30_000), ScorerTraffic.clientProps(stack), holder, watcherMeters, runtime);
             RetrainProcess job = new RetrainProcess(work, config)) {
            watcher.start();

            // 1. killed during training
            job.start("-D" + RetrainJob.PAUSE_BEFORE_PUBLISH_PROPERTY + "=60000");
            job.awaitReady(Duration.ofSeconds(60));
            RetrainJobIT.publish(stack, prefs, first, List.of());
            long waited = job.awaitLog("round 1: training from", Duration.ofSeconds(60));
            job.kill();
            String log1 = job.logText();
            assertThat(log1).doesNotContain("round 1: gate", "round 1: releasing");
            assertThat(log1).containsPattern("retrain job metrics=http://127\\.0\\.0\\.1:\\d+");
            System.out.printf("killed #1 during training (%d ms after the pairs); model dir %s%n", waited,
                    list(root.resolve(model)));

            // 2. restarted, killed during release: after the atomic move to v1, before the release is sent
            job.start("-D" + RetrainJob.PAUSE_BEFORE_PUBLISH_PROPERTY + "=60000");
            job.awaitLog("round 1: pausing", Duration.ofSeconds(120));
            job.kill();
            String log2 = job.logText();
            assertThat(log2).contains("round 1: releasing crash:1", "round 1: installed crash:1")
                    .doesNotContain("round 1: published");
            assertThat(releases(stack, n.releases())).as("nothing published yet").isEmpty();
            assertThat(root.resolve(model).resolve("v1")).isDirectory();
            System.out.printf("killed #2 during release; model dir %s%n", list(root.resolve(model)));

            // 3. restarted (no chaos pause): publishes the complete unpublished v1, then trains round 2 -> v2
            job.start();
            job.awaitLog("round 1: committed", Duration.ofSeconds(90));
            assertThat(job.logText()).contains("found complete but unpublished crash:1", "round 1: published crash:1")
                    .doesNotContain("round 1: training from");
            RetrainJobIT.publish(stack, prefs, second, List.of());
            job.awaitLog("round 2: committed", Duration.ofSeconds(120));
            // SIGTERM: the JVM exits with 143 after the shutdown hook let the job close cleanly
            assertThat(job.stop(Duration.ofSeconds(60))).isIn(0, 143);
            String log3 = job.logText();
            assertThat(log3).contains("retrain job closed after 2 rounds");
            assertThat(log3).contains("round 2: training from", "round 2: published crash:2");

            // every version published exactly once, each verifies as a scorer verifies it
            List<ModelRelease> published = releases(stack, n.releases());
            Map<Long, Long> perVersion = published.stream().collect(Collectors.groupingBy(ModelRelease::getVersion,
                    TreeMap::new, Collectors.counting()));
            assertThat(perVersion).isEqualTo(Map.of(1L, 1L, 2L, 1L));
            ReleaseVerifier verifier = new ReleaseVerifier(root, KeyFiles.readPublicKeyDir(pub), false, false);
            for (ModelRelease r : published) {
                ReleaseVerifier.Verdict v = verifier.verify(r, null);
                assertThat(v.signed()).isTrue();
            }
            assertThat(published.get(1).getParentVersion()).isEqualTo(1L);
            assertThat(published.get(0).getEvalMetrics().get("accuracy"))
                    .isGreaterThan(published.get(0).getEvalMetrics().get("current_accuracy"));

            // only complete version directories, digests verified, no temp directory left
            assertThat(list(root.resolve(model))).containsExactly("v1", "v2");
            for (String v : List.of("v1", "v2")) {
                assertThat(ModelLoader.verifyFiles(root.resolve(model).resolve(v), true).version())
                        .isEqualTo(Long.parseLong(v.substring(1)));
            }

            // no pair lost: every produced id is in the replay buffer, every offset committed
            Set<String> produced = Stream.concat(first.stream(), second.stream()).map(p -> p.getPairId().toString())
                    .collect(Collectors.toSet());
            Set<String> buffered = ReplayBuffer.open(replay, 1_000_000).pairs().stream().map(StoredPair::id)
                    .collect(Collectors.toSet());
            assertThat(buffered).containsAll(produced).hasSize(produced.size());
            long[] committed = ScorerTraffic.committedAndEnd(stack, n.prefix() + "-retrain", prefs);
            long held = ReplayBuffer.open(replay, 1_000_000).positions().entrySet().stream()
                    .filter(e -> e.getKey().startsWith(prefs + ":")).mapToLong(Map.Entry::getValue).sum();
            assertThat(held).as("replay buffer positions = end offsets").isEqualTo(committed[1])
                    .isEqualTo(produced.size());
            long covered = published.get(1).getEvalMetrics().entrySet().stream()
                    .filter(e -> e.getKey().startsWith("offset." + prefs + ".")).mapToLong(e -> e.getValue().longValue())
                    .sum();
            assertThat(committed[0]).as("committed offsets = what the last release covers").isEqualTo(covered);

            // the watcher installed the releases and never refused (no partial model, no LOAD_FAILED)
            ScorerIt.await("watcher serves crash:2", Duration.ofSeconds(30),
                    () -> holder.modelVersion().equals("crash:2"));
            double refused = watcherMeters.find(ReleaseWatcher.REFUSED_METRIC).counters().stream()
                    .mapToDouble(Counter::count).sum();
            assertThat(refused).as("refused releases " + watcher.lastRefusal()).isZero();
            System.out.printf("retrain crash: %d pairs, releases %s, v1 accuracy %.3f (base %.3f), v2 %.3f; "
                            + "total %.1f s%n", produced.size(), perVersion,
                    published.get(0).getEvalMetrics().get("accuracy"),
                    published.get(0).getEvalMetrics().get("current_accuracy"),
                    published.get(1).getEvalMetrics().get("accuracy"), (System.nanoTime() - t0) / 1e9);
        }
    }

    static List<PreferencePair> pairs(ArithmeticTask task, int count, String prefix) {
        List<PreferencePair> out = new ArrayList<>();
        for (PreferenceExample e : task.generate(count, ArithmeticTask.Part.ANY, false)) {
            out.add(RetrainJobIT.toAvro(new PreferenceExample(prefix + "-" + e.id(), e.prompt(), e.chosen(),
                    e.rejected()), "ann"));
        }
        return out;
    }

    static List<String> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Every release record on the topic (read_committed, from the beginning), in offset order. */
    static List<ModelRelease> releases(LocalStack stack, String topic) {
        List<ModelRelease> out = new ArrayList<>();
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<ConsumerRecord<byte[], byte[]>> r = traffic.raw(topic, c -> Long.toString(c.offset()));
             AvroDeserializer<ModelRelease> d = new AvroDeserializer<>(ModelRelease.class)) {
            d.configure(ScorerTraffic.clientProps(stack), false);
            r.drain(Duration.ofSeconds(2));
            for (ConsumerRecord<byte[], byte[]> c : r.all()) {
                out.add(d.deserialize(c.topic(), c.value()));
            }
        }
        return out;
    }
}
