package io.rewardstream.training;

import io.rewardstream.release.ReleaseLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.release.ReleaseVerifier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The retraining job on a real broker and registry with the built-in {@code tiny} model trained here on
 * addition only: (1) multiplication pairs lead to a release that is clearly better on multiplication;
 * (2) a round trained on label-flipped pairs is refused and nothing is published.
 */
@ExtendWith(SharedLocalStack.class)
public class RetrainJobIT {
    @TempDir
    static Path shared;
    static Path base;
    static KeyPair keys;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainBaseModel() throws Exception {
        base = SavedModelRoundTrainerTest.additionModel(shared, 200);
        keys = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(shared.resolve("release.key"), keys.getPrivate());
        Files.createDirectories(shared.resolve("pub"));
        KeyFiles.writePublic(shared.resolve("pub/release.pub"), keys.getPublic());
    }

    record Topics(String prefs, String ranked, String releases, String dlq) {
    }

    static Topics topics(LocalStack stack) throws Exception {
        String id = UUID.randomUUID().toString().substring(0, 8);
        Topics t = new Topics("prefs-" + id, "ranked-" + id, "releases-" + id, "dlq-" + id);
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(t.prefs(), 2, (short) 1), new NewTopic(t.ranked(), 1, (short) 1),
                    new NewTopic(t.releases(), 1, (short) 1).configs(Map.of("cleanup.policy", "compact")),
                    new NewTopic(t.dlq(), 1, (short) 1))).all().get();
        }
        return t;
    }

    RetrainConfig config(LocalStack stack, Topics t, int minNewPairs) {
        return RetrainConfig.from(configMap(stack, t, minNewPairs));
    }

    Map<String, String> configMap(LocalStack stack, Topics t, int minNewPairs) {
        return configMap(stack, t, minNewPairs, dir, base, shared);
    }

    /**
     * The retraining job's keys for the ITs of this package: topics {@code t}, replay buffer and model root under
     * {@code dir}, fine-tuning {@code base}, signing with {@code keys}/release.key; 150 steps, replay mix 0.25.
     */
    static Map<String, String> configMap(LocalStack stack, Topics t, int minNewPairs, Path dir, Path base, Path keys) {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", stack.bootstrapServers());
        m.put("schema.registry.url", stack.schemaRegistryUrl());
        m.put("retrain.group.id", "retrain-" + t.prefs());
        m.put("topics.preferences.name", t.prefs());
        m.put("topics.ranked-preferences.name", t.ranked());
        m.put("topics.model-releases.name", t.releases());
        m.put("topics.rewardstream-dead-letters.name", t.dlq());
        m.put("retrain.min.new.pairs", Integer.toString(minNewPairs));
        m.put("retrain.max.interval.ms", "600000");
        m.put("retrain.steps", "150");
        m.put("retrain.batch.size", "32");
        m.put("retrain.learning.rate", "0.001");
        m.put("retrain.replay.dir", dir.resolve("replay").toString());
        m.put("retrain.replay.mix", "0.25");
        m.put("retrain.heldout.fraction", "0.2");
        m.put("retrain.gate.tolerance", "0.02");
        m.put("retrain.model.root", dir.resolve("models").toString());
        m.put("retrain.model.name", "tiny-arith");
        m.put("retrain.base.model.dir", base.toString());
        m.put("retrain.signing.key", keys.resolve("release.key").toString());
        m.put("retrain.signing.key.id", "release");
        return m;
    }

    public static void publish(LocalStack stack, String topic, List<PreferencePair> pairs, List<byte[]> raw) {
        Map<String, Object> p = Map.of("bootstrap.servers", stack.bootstrapServers(), "acks", "all");
        AvroSerializer<PreferencePair> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        try (KafkaProducer<String, PreferencePair> prod = new KafkaProducer<>(p, new StringSerializer(), values);
             KafkaProducer<byte[], byte[]> rawProd = new KafkaProducer<>(p, new ByteArraySerializer(),
                     new ByteArraySerializer())) {
            for (PreferencePair pp : pairs) {
                prod.send(new ProducerRecord<>(topic, pp.getPairId(), pp));
            }
            for (byte[] b : raw) {
                rawProd.send(new ProducerRecord<>(topic, "raw".getBytes(), b));
            }
        }
    }

    static void publishRanked(LocalStack stack, String topic, List<RankedPreference> rankings) {
        AvroSerializer<RankedPreference> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        try (KafkaProducer<String, RankedPreference> prod = new KafkaProducer<>(Map.of("bootstrap.servers",
                stack.bootstrapServers(), "acks", "all"), new StringSerializer(), values)) {
            for (RankedPreference r : rankings) {
                prod.send(new ProducerRecord<>(topic, r.getRankingId(), r));
            }
        }
    }

    public static PreferencePair toAvro(PreferenceExample e, String annotator) {
        return PreferencePair.newBuilder().setPairId(e.id()).setPromptText(e.prompt()).setChosenText(e.chosen())
                .setRejectedText(e.rejected()).setAnnotatorId(annotator).setSource("arithmetic")
                .setCreatedAt(Instant.now()).build();
    }

    /** Runs the job on a thread until {@code done} or the timeout; returns it stopped and closed. */
    static void runUntil(RetrainJob job, BooleanSupplier done, Duration timeout) throws Exception {
        Thread t = new Thread(() -> {
            try {
                job.run();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "retrain-job-under-test");
        t.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline && t.isAlive()) {
            Thread.sleep(200);
        }
        job.stop();
        t.join(30_000);
        job.close();
    }

    static double count(SimpleMeterRegistry meters, String name, String tag, String value) {
        var c = meters.find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    static Map<TopicPartition, OffsetAndMetadata> committed(LocalStack stack, RetrainConfig cfg, List<TopicPartition> tps) {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "group.id", cfg.groupId()), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            return c.committed(java.util.Set.copyOf(tps));
        }
    }

    @Test
    void shouldReleaseAModelThatLearnedTheShiftedTask(LocalStack stack) throws Exception {
        Topics t = topics(stack);
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(11));
        List<PreferencePair> pairs = new ArrayList<>();
        for (PreferenceExample e : mul.generate(500, ArithmeticTask.Part.ANY, false)) {
            pairs.add(toAvro(e, "ann-" + (pairs.size() % 3)));
        }
        // Two bad records: not Avro at all, and a pair whose chosen equals its rejected response
        PreferencePair same = PreferencePair.newBuilder(pairs.get(0)).setPairId("same").setRejectedText(
                pairs.get(0).getChosenText()).build();
        pairs.add(same);
        // Rankings of k = 3 (listed worst first, so the ranking is a real permutation) and one bad ranking
        List<RankedPreference> rankings = new ArrayList<>();
        for (RankedExample e : mul.generateRanked(5, 3, ArithmeticTask.Part.ANY)) {
            List<RankedResponse> rs = new ArrayList<>();
            for (int i = 2; i >= 0; i--) {
                rs.add(RankedResponse.newBuilder().setText(e.responsesBestFirst().get(i)).build());
            }
            rankings.add(RankedPreference.newBuilder().setRankingId(e.id()).setPromptText(e.prompt()).setResponses(rs)
                    .setRanking(List.of(2, 1, 0)).setAnnotatorId("ranker").setCreatedAt(Instant.now()).build());
        }
        rankings.add(RankedPreference.newBuilder(rankings.get(0)).setRankingId("bad").setRanking(List.of(0, 0, 1))
                .build());
        publishRanked(stack, t.ranked(), rankings);
        publish(stack, t.prefs(), pairs, List.of("not avro".getBytes()));

        RetrainConfig cfg = config(stack, t, 505);   // 500 pairs + 5 rankings, each ranking one entry
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        Path ready = dir.resolve("ready");
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, ready);
        runUntil(job, () -> count(meters, "rewardstream.retrain.rounds", "outcome", "released") >= 1,
                Duration.ofSeconds(80));
        assertThat(Files.exists(ready)).isTrue();
        assertThat(count(meters, "rewardstream.retrain.rounds", "outcome", "released")).isEqualTo(1);
        assertThat(count(meters, "rewardstream.retrain.pairs", "result", "valid")).isEqualTo(505);
        assertThat(count(meters, "rewardstream.retrain.pairs", "result", "dead_lettered")).isEqualTo(3);

        ModelRelease r;
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            r = log.latest("tiny-arith");
        }
        assertThat(r).isNotNull();
        assertThat(r.getVersion()).isEqualTo(1);
        assertThat(r.getParentVersion()).isNull();
        assertThat(r.getLocation()).isEqualTo("tiny-arith/v1");
        Map<String, Double> m = r.getEvalMetrics();
        System.out.println("release metrics: " + m);
        assertThat(m.get("accuracy")).isGreaterThan(m.get("current_accuracy") + 0.15);
        assertThat(m).containsKeys("mean_margin", "score_gap", "length_correlation", "loss", "annotator_agreement");
        long prefsEnd = 0;
        for (var e : m.entrySet()) {
            if (e.getKey().startsWith("offset." + t.prefs() + ".")) {
                prefsEnd += e.getValue().longValue();
            }
        }
        assertThat(prefsEnd).isEqualTo(pairs.size() + 1);   // every record, bad ones included, is covered
        assertThat(m).containsEntry("offset." + t.ranked() + ".0", 6.0);

        // the release verifies like a scorer would verify it, and carries its training report
        ReleaseVerifier verifier = new ReleaseVerifier(cfg.modelRoot(), KeyFiles.readPublicKeyDir(shared.resolve("pub")),
                false, false);
        ReleaseVerifier.Verdict v = verifier.verify(r, null);
        assertThat(v.signed()).isTrue();
        assertThat(v.manifest().lineage()).containsKey("trained_up_to." + t.prefs() + ":0");
        assertThat(v.modelDir().resolve("report/index.html")).exists();
        assertThat(v.modelDir().resolve("report/loss.png")).exists();
        try (Stream<Path> s = Files.list(cfg.modelDir())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("v1");   // no temp dir left
        }

        // offsets committed after the release: everything consumed
        List<TopicPartition> tps = List.of(new TopicPartition(t.prefs(), 0), new TopicPartition(t.prefs(), 1),
                new TopicPartition(t.ranked(), 0));
        long committed = committed(stack, cfg, tps).values().stream().filter(java.util.Objects::nonNull)
                .mapToLong(OffsetAndMetadata::offset).sum();
        assertThat(committed).isEqualTo(pairs.size() + 1 + rankings.size());

        // dead letters: original bytes and a reason header
        List<String> reasons = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "group.id", "dlq-reader-" + t.dlq(), "auto.offset.reset", "earliest"), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            c.subscribe(List.of(t.dlq()));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (reasons.size() < 3 && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(500))) {
                    reasons.add(DeadLetters.header(rec.headers(), DeadLetters.REASON));
                    if ("BAD_MAGIC_BYTE".equals(DeadLetters.header(rec.headers(), DeadLetters.REASON))) {
                        assertThat(new String(rec.value())).isEqualTo("not avro");
                    }
                }
            }
        }
        assertThat(reasons).containsExactlyInAnyOrder("BAD_MAGIC_BYTE", PreferenceValidator.SAME_RESPONSE,
                PreferenceValidator.BAD_RANKING);

        // a crash between publish and commit, simulated by deleting the committed offsets: the restarted job
        // reloads the replay buffer, finds the release covering its offsets and only commits (no round)
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.deleteConsumerGroupOffsets(cfg.groupId(), java.util.Set.copyOf(tps)).all().get();
        }
        assertThat(committed(stack, cfg, tps).values()).allMatch(java.util.Objects::isNull);
        SimpleMeterRegistry meters2 = new SimpleMeterRegistry();
        RetrainJob again = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters2, null);
        runUntil(again, () -> committed(stack, cfg, tps).values().stream().anyMatch(java.util.Objects::nonNull),
                Duration.ofSeconds(30));
        assertThat(again.rounds()).isZero();
        assertThat(count(meters2, "rewardstream.retrain.rounds", "outcome", "released")).isZero();
        assertThat(committed(stack, cfg, tps).values().stream().filter(java.util.Objects::nonNull)
                .mapToLong(OffsetAndMetadata::offset).sum()).isEqualTo(pairs.size() + 1 + rankings.size());
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            assertThat(log.latest("tiny-arith").getVersion()).isEqualTo(1);
        }
        try (Stream<Path> s = Files.list(cfg.modelDir())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("v1");
        }

        // a second round fine-tunes v1 on new pairs mixed with replayed ones and releases v2 with parent 1
        List<PreferencePair> more = new ArrayList<>();
        for (PreferenceExample e : new ArithmeticTask(mul.config().withSeed(12)).generate(150, ArithmeticTask.Part.ANY,
                false)) {
            more.add(toAvro(e, "ann-x"));
        }
        publish(stack, t.prefs(), more, List.of());
        SimpleMeterRegistry meters3 = new SimpleMeterRegistry();
        // this round checks the mechanics of a second release (parent, replay); its held-out set is 128 pairs, where
        // 0.02 is under 3 pairs and a seeded but not bit-reproducible CPU run moves the candidate by about that much
        Map<String, String> m3 = configMap(stack, t, 150);
        m3.put("retrain.gate.tolerance", "0.05");
        RetrainJob third = new RetrainJob(RetrainConfig.from(m3), new SavedModelRoundTrainer(), meters3, null);
        runUntil(third, () -> count(meters3, "rewardstream.retrain.rounds", "outcome", "released")
                + count(meters3, "rewardstream.retrain.rounds", "outcome", "refused") >= 1, Duration.ofSeconds(40));
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            ModelRelease r2 = log.latest("tiny-arith");
            System.out.println("second release metrics: " + r2.getEvalMetrics());
            assertThat(r2.getVersion()).isEqualTo(2);
            assertThat(r2.getParentVersion()).isEqualTo(1L);
            assertThat(r2.getEvalMetrics().get("train_replayed_pairs")).isGreaterThan(300.0);
            assertThat(r2.getEvalMetrics().get("accuracy")).isGreaterThanOrEqualTo(
                    r2.getEvalMetrics().get("current_accuracy") - 0.05);
            assertThat(verifier.verify(r2, v.manifest()).manifest().parentVersion()).isEqualTo(1L);
        }
    }

    @Test
    void shouldRefuseACandidateTrainedOnFlippedLabels(LocalStack stack) throws Exception {
        Topics t = topics(stack);
        ArithmeticTask add = new ArithmeticTask(ArithmeticTask.Config.defaults().withSeed(23));
        List<PreferencePair> pairs = new ArrayList<>();
        // correct held-out pairs to evaluate on, label-flipped pairs to train on (a bad annotator batch)
        for (PreferenceExample e : add.generate(1500, ArithmeticTask.Part.ANY, false)) {
            boolean held = Splits.heldOut(e.id(), 0.2);
            long nHeld = pairs.stream().filter(p -> Splits.heldOut(p.getPairId(), 0.2)).count();
            if (held && nHeld < 150) {
                pairs.add(toAvro(e, "good"));
            } else if (!held && pairs.size() - nHeld < 300) {
                pairs.add(toAvro(new PreferenceExample(e.id(), e.prompt(), e.rejected(), e.chosen()), "flipper"));
            }
        }
        assertThat(pairs).hasSize(450);
        publish(stack, t.prefs(), pairs, List.of());
        RetrainConfig cfg = config(stack, t, 450);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, null);
        runUntil(job, () -> count(meters, "rewardstream.retrain.rounds", "outcome", "refused")
                + count(meters, "rewardstream.retrain.rounds", "outcome", "released") >= 1, Duration.ofSeconds(80));
        assertThat(count(meters, "rewardstream.retrain.rounds", "outcome", "refused")).isEqualTo(1);
        assertThat(count(meters, "rewardstream.retrain.rounds", "outcome", "released")).isZero();
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            assertThat(log.latest("tiny-arith")).isNull();
        }
        try (Stream<Path> s = Files.list(cfg.modelDir().resolve("rejected"))) {
            List<Path> rejected = s.toList();
            assertThat(rejected).hasSize(1);
            assertThat(rejected.get(0).resolve("report/index.html")).exists();
        }
        try (Stream<Path> s = Files.list(cfg.modelDir())) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("rejected");
        }
        // refused rounds commit too (see RetrainJob): the flipped pairs are not retried on their own
        long committed = committed(stack, cfg, List.of(new TopicPartition(t.prefs(), 0),
                new TopicPartition(t.prefs(), 1))).values().stream().filter(java.util.Objects::nonNull)
                .mapToLong(OffsetAndMetadata::offset).sum();
        assertThat(committed).isEqualTo(450);
    }
}
