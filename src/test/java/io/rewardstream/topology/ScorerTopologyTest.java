package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.FakeSchemaRegistryServer;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.testing.HttpClientThreads;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ScorerTopologyTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path stateDir;

    private FakeSchemaRegistryServer registryServer;
    private SimpleMeterRegistry meters;
    private FakeRewardModel model;
    private ModelHolder holder;
    private TopologyTestDriver driver;
    private TestInputTopic<String, Rollout> rollouts;
    private TestInputTopic<String, byte[]> rawRollouts;
    private TestOutputTopic<String, Reward> rewards;
    private TestOutputTopic<String, GroupAdvantage> advantages;
    private TestOutputTopic<byte[], byte[]> deadLetters;
    private AvroSerde<Rollout> rolloutSerde;
    private ScorerConfig config;

    @BeforeEach
    void setUp() throws Exception {
        registryServer = new FakeSchemaRegistryServer();
        meters = new SimpleMeterRegistry();
        model = new FakeRewardModel("fake", 1, 64, 1000);
        holder = new ModelHolder(model);
    }

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        holder.close();
        registryServer.close();
    }

    private Map<String, Object> baseConfig() {
        Map<String, Object> m = new HashMap<>();
        m.put("application.id", "scorer-test");
        m.put("bootstrap.servers", "unused:9092");
        m.put("schema.registry.url", registryServer.url());
        m.put("batch.max.size", "4");
        // the TopologyTestDriver runs no background time: every flush scores on the stream thread (overlap is
        // RolloutBatcherTest's and the ITs')
        m.put("batch.flush.overlap", "false");
        m.put("batch.max.tokens", "4096");
        m.put("batch.pad.multiple", "8");
        m.put("batch.max.delay.ms", "100");
        m.put("group.timeout.ms", "1000");
        m.put("metrics.port", "-1");
        return m;
    }

    private void start(Map<String, Object> overrides) {
        Map<String, Object> m = baseConfig();
        m.putAll(overrides);
        config = ScorerConfig.from(m);
        Properties p = ScorerApp.streamsProperties(config, meters);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(ScorerTopology.build(config, holder, meters), p, T0);
        rolloutSerde = new AvroSerde<>(Rollout.class);
        rolloutSerde.configure(config.serdeProperties(), false);
        AvroSerde<Reward> rewardSerde = new AvroSerde<>(Reward.class);
        rewardSerde.configure(config.serdeProperties(), false);
        AvroSerde<GroupAdvantage> gaSerde = new AvroSerde<>(GroupAdvantage.class);
        gaSerde.configure(config.serdeProperties(), false);
        rollouts = driver.createInputTopic("rollouts", new StringSerializer(), rolloutSerde.serializer());
        rawRollouts = driver.createInputTopic("rollouts", new StringSerializer(), new ByteArraySerializer());
        rewards = driver.createOutputTopic("rewards", new StringDeserializer(), rewardSerde.deserializer());
        advantages = driver.createOutputTopic("group-advantages", new StringDeserializer(), gaSerde.deserializer());
        deadLetters = driver.createOutputTopic("rewardstream-dead-letters", new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
    }

    static Rollout rollout(String id, String group, Integer groupSize, int promptLen, int responseLen, boolean stop,
                           boolean withReference) {
        List<Integer> prompt = new ArrayList<>();
        List<Integer> response = new ArrayList<>();
        List<Float> lp = new ArrayList<>();
        List<Float> lr = new ArrayList<>();
        int seed = Math.abs(id.hashCode());
        for (int i = 0; i < promptLen; i++) {
            prompt.add(1 + (seed + 31 * i) % 900);
        }
        for (int i = 0; i < responseLen; i++) {
            response.add(1 + (seed + 17 * i + 5) % 900);
            lp.add(-0.1f * (1 + (seed + i) % 13));
            lr.add(-0.1f * (1 + (seed + 3 * i) % 11));
        }
        return Rollout.newBuilder()
                .setRolloutId(id).setGroupId(group).setGroupSize(groupSize).setPolicyVersion("policy-7")
                .setPromptTokenIds(prompt).setResponseTokenIds(response)
                .setPolicyLogprobs(lp).setReferenceLogprobs(withReference ? lr : null)
                .setFinishReason(stop ? FinishReason.STOP : FinishReason.LENGTH)
                .setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
    }

    private static Rollout simple(String id, String group, Integer groupSize) {
        return rollout(id, group, groupSize, 5, 6, true, true);
    }

    private void pipe(Rollout r) {
        rollouts.pipeInput(r.getGroupId(), r);
    }

    private KeyValueStore<String, byte[]> buffer() {
        return driver.getKeyValueStore(ScorerTopology.ROLLOUT_BUFFER);
    }

    private static long count(KeyValueStore<String, byte[]> store) {
        long n = 0;
        try (var it = store.all()) {
            while (it.hasNext()) {
                it.next();
                n++;
            }
        }
        return n;
    }

    @Test
    void shouldFlushWhenBatchMaxSizeIsReached() {
        start(Map.of());
        for (int i = 0; i < 3; i++) {
            pipe(simple("r" + i, "g" + i, null));
        }
        assertThat(rewards.isEmpty()).isTrue();
        assertThat(count(buffer())).isEqualTo(3);

        pipe(simple("r3", "g3", null));

        List<Reward> out = rewards.readValuesToList();
        assertThat(out).extracting(Reward::getRolloutId).containsExactlyInAnyOrder("r0", "r1", "r2", "r3");
        assertThat(out).extracting(Reward::getModelVersion).containsOnly("fake:1");
        assertThat(model.batchRows).containsExactly(4);
        assertThat(count(buffer())).isZero();
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "size").count()).isEqualTo(1.0);
        assertThat(meters.find(ScorerMetrics.BATCH_SIZE).summary().totalAmount()).isEqualTo(4.0);
    }

    @Test
    void shouldFlushBeforeThePaddedTokensWouldExceedTheLimit() {
        // 5 + 15 = 20 tokens, padded to 24: two fit in 64 tokens (48), a third would need 72.
        start(Map.of("batch.max.tokens", "64", "batch.max.size", "100"));
        pipe(rollout("a", "g", null, 5, 15, true, true));
        pipe(rollout("b", "g", null, 5, 15, true, true));
        assertThat(rewards.isEmpty()).isTrue();

        pipe(rollout("c", "g", null, 5, 15, true, true));

        assertThat(rewards.readValuesToList()).extracting(Reward::getRolloutId).containsExactly("a", "b");
        assertThat(count(buffer())).isEqualTo(1);
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "tokens").count()).isEqualTo(1.0);
        assertThat(meters.find(ScorerMetrics.BATCH_PADDED_TOKENS).summary().max()).isLessThanOrEqualTo(64.0);
    }

    @Test
    void shouldFlushFromTheWallClockOnceTheOldestHasWaitedMaxDelay() {
        start(Map.of(BatchingConfig.IDLE_FLUSH_MS, "0"));   // the max delay alone (the idle flush: RolloutBatcherTest)
        pipe(simple("r0", "g0", null));
        driver.advanceWallClockTime(Duration.ofMillis(60));
        assertThat(rewards.isEmpty()).isTrue();

        driver.advanceWallClockTime(Duration.ofMillis(60));

        assertThat(rewards.readValuesToList()).extracting(Reward::getRolloutId).containsExactly("r0");
        assertThat(count(buffer())).isZero();
        assertThat(meters.find(ScorerMetrics.QUEUE_DELAY).timer().max(java.util.concurrent.TimeUnit.MILLISECONDS))
                .isGreaterThanOrEqualTo(100.0);
    }

    @Test
    void shouldComputeRewardsEqualToAnIndependentComputation() {
        start(Map.of("scoring.kl.coef", "0.1", "scoring.missing.eos.penalty", "0.5", "batch.max.size", "3"));
        Rollout stopped = rollout("s", "g", null, 7, 9, true, true);
        Rollout cut = rollout("l", "g", null, 3, 12, false, true);
        Rollout noRef = rollout("n", "g", null, 4, 4, true, false);
        pipe(stopped);
        pipe(cut);
        pipe(noRef);

        Map<String, Reward> byId = rewards.readValuesToList().stream()
                .collect(Collectors.toMap(Reward::getRolloutId, r -> r));
        assertThat(byId).hasSize(3);
        for (Rollout r : List.of(stopped, cut, noRef)) {
            Reward got = byId.get(r.getRolloutId());
            int[] ids = concat(r.getPromptTokenIds(), r.getResponseTokenIds());
            double s = FakeRewardModel.expected(ids);
            double kl = 0;
            int n = r.getResponseTokenIds().size();
            double[] perToken = new double[n];
            if (r.getReferenceLogprobs() != null) {
                for (int t = 0; t < n; t++) {
                    perToken[t] = (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
                    kl += perToken[t];
                }
            }
            double shaped = r.getFinishReason() == FinishReason.STOP ? s : s - 0.5;
            assertThat(got.getScore()).isCloseTo(s, within(1e-6));
            assertThat(got.getShapedScore()).isCloseTo(shaped, within(1e-6));
            assertThat(got.getKl()).isCloseTo(kl, within(1e-6));
            assertThat(got.getKlCoef()).isEqualTo(0.1);
            assertThat(got.getReward()).isCloseTo(shaped - 0.1 * kl, within(1e-6));
            assertThat(got.getTokenRewards()).hasSize(n);
            assertThat((double) got.getTokenRewards().get(n - 1)).isCloseTo(shaped - 0.1 * perToken[n - 1], within(1e-5));
            assertThat(got.getGroupId()).isEqualTo("g");
            assertThat(got.getPolicyVersion()).isEqualTo("policy-7");
            assertThat(got.getRolloutCreatedAt()).isEqualTo(r.getCreatedAt());
            assertThat(got.getKlPerToken()).isNull();
        }
        assertThat(byId.get("s").getFlags()).isEmpty();
        assertThat(byId.get("l").getFlags()).containsExactly("MISSING_EOS");
        assertThat(byId.get("n").getFlags()).containsExactly("NO_REFERENCE");
    }

    @Test
    void shouldEmitGrpoAdvantagesWhenAGroupIsComplete() {
        start(Map.of("batch.max.size", "2"));
        pipe(simple("a", "grp", 3));
        pipe(simple("b", "grp", 3));
        assertThat(rewards.readValuesToList()).hasSize(2);
        assertThat(advantages.isEmpty()).isTrue();
        pipe(simple("c", "grp", 3));
        driver.advanceWallClockTime(Duration.ofMillis(150)); // third reward via the delay trigger

        Map<String, Double> r = new HashMap<>();
        rewards.readValuesToList().forEach(x -> r.put(x.getRolloutId(), x.getShapedScore()));
        List<TestRecord<String, GroupAdvantage>> out = advantages.readRecordsToList();
        assertThat(out).hasSize(3);
        assertThat(out).allSatisfy(x -> assertThat(x.key()).isEqualTo("grp"));
        List<GroupAdvantage> ga = out.stream().map(TestRecord::value).toList();
        // shaped scores of a and b were read above with the first batch; recompute them all from the advantages' rewards
        double[] values = ga.stream().mapToDouble(GroupAdvantage::getReward).toArray();
        double mean = (values[0] + values[1] + values[2]) / 3;
        double ss = 0;
        for (double v : values) {
            ss += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(ss / 2);
        for (GroupAdvantage g : ga) {
            assertThat(g.getAdvantage()).isCloseTo((g.getReward() - mean) / (std + 1e-6), within(1e-9));
            assertThat(g.getGroupSize()).isEqualTo(3);
            assertThat(g.getExpectedGroupSize()).isEqualTo(3);
            assertThat(g.getFlags()).isEmpty();
            assertThat(g.getEstimator()).isEqualTo("grpo");
            assertThat(g.getGroupMean()).isCloseTo(mean, within(1e-12));
            assertThat(g.getGroupStd()).isCloseTo(std, within(1e-12));
        }
        assertThat(ga).extracting(GroupAdvantage::getRolloutId).containsExactlyInAnyOrder("a", "b", "c");
        // best-of-N: the complete group's members ranked by reward, 1 = best
        List<GroupAdvantage> byReward = ga.stream()
                .sorted(java.util.Comparator.comparingDouble(GroupAdvantage::getReward).reversed()).toList();
        assertThat(byReward).extracting(GroupAdvantage::getRank).containsExactly(1, 2, 3);
        GroupAdvantage c = ga.stream().filter(g -> g.getRolloutId().equals("c")).findFirst().orElseThrow();
        assertThat(c.getReward()).isEqualTo(r.get("c"));
        assertThat(count(driver.getKeyValueStore(ScorerTopology.GROUP_MEMBERS))).isZero();
    }

    @Test
    void shouldEmitAnIncompleteGroupAtTheTimeout() {
        start(Map.of("batch.max.size", "1"));
        pipe(simple("a", "grp", 3));
        pipe(simple("b", "grp", 3));
        pipe(simple("u", "unsized", null));
        driver.advanceWallClockTime(Duration.ofMillis(500));
        assertThat(advantages.isEmpty()).isTrue();

        driver.advanceWallClockTime(Duration.ofMillis(600));

        List<GroupAdvantage> ga = advantages.readValuesToList();
        assertThat(ga).hasSize(2);   // "u" has no group_size: not part of a group, no group stage
        assertThat(ga.stream().filter(g -> g.getGroupId().equals("grp")))
                .hasSize(2)
                .allSatisfy(g -> {
                    assertThat(g.getFlags()).containsExactly("INCOMPLETE_GROUP");
                    assertThat(g.getRank()).as("no rank for an incomplete group").isNull();
                    assertThat(g.getGroupSize()).isEqualTo(2);
                    assertThat(g.getExpectedGroupSize()).isEqualTo(3);
                });
        assertThat(rewards.readValuesToList()).extracting(Reward::getRolloutId).containsExactlyInAnyOrder("a", "b", "u");
        assertThat(meters.counter(ScorerMetrics.GROUPS_EMITTED, "complete", "false").count()).isEqualTo(1.0);
    }

    @Test
    void shouldDeadLetterInvalidRolloutsWithTheirOriginalBytesAndReason() {
        start(Map.of());
        Rollout bad = simple("bad", "g", null);
        bad.setPolicyLogprobs(List.of(-0.1f));
        byte[] original = rolloutSerde.serializer().serialize("rollouts", bad);
        rawRollouts.pipeInput(new TestRecord<>("g", original,
                new org.apache.kafka.common.header.internals.RecordHeaders().add("trace", "t-1".getBytes())));
        Rollout outOfVocab = simple("oov", "g", null);
        outOfVocab.setResponseTokenIds(List.of(1, 2, 3, 4, 5, 5000));
        pipe(outOfVocab);
        rawRollouts.pipeInput("g", new byte[]{9, 9, 9});

        // TopologyTestDriver 4.3 runs the deserialization handler but does not produce its DLQ records: the reason
        // and counter are checked here, the dead-letter bytes of a poison record in ScorerEndToEndIT.
        List<TestRecord<byte[], byte[]>> dl = deadLetters.readRecordsToList();
        assertThat(dl).hasSize(2);
        Headers first = dl.get(0).headers();
        assertThat(dl.get(0).value()).isEqualTo(original);
        assertThat(dl.get(0).key()).isEqualTo("g".getBytes());
        assertThat(DeadLetters.header(first, DeadLetters.REASON)).isEqualTo("LOGPROB_LENGTH_MISMATCH");
        assertThat(DeadLetters.header(first, DeadLetters.MESSAGE)).startsWith("LOGPROB_LENGTH_MISMATCH: policy_logprobs");
        assertThat(DeadLetters.header(first, "trace")).isEqualTo("t-1");
        assertThat(DeadLetters.header(first, DeadLetters.TOPIC)).isEqualTo("rollouts");
        assertThat(DeadLetters.header(dl.get(1).headers(), DeadLetters.REASON)).isEqualTo("TOKEN_OUT_OF_VOCAB");
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "LOGPROB_LENGTH_MISMATCH").count()).isEqualTo(1.0);
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "TOKEN_OUT_OF_VOCAB").count()).isEqualTo(1.0);
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "BAD_MAGIC_BYTE").count()).isEqualTo(1.0);
        // the app keeps going
        for (int i = 0; i < 4; i++) {
            pipe(simple("ok" + i, "g", null));
        }
        assertThat(rewards.readValuesToList()).hasSize(4);
        assertThat(count(buffer())).isZero();
    }

    @Test
    void shouldKeepTheBatchBufferedWhenTheModelFailsAndRetryLater() {
        start(Map.of());
        model.failing = true;
        for (int i = 0; i < 4; i++) {
            pipe(simple("r" + i, "g", null));
        }
        assertThat(rewards.isEmpty()).isTrue();
        assertThat(count(buffer())).isEqualTo(4);
        assertThat(meters.counter(ScorerMetrics.MODEL_FAILURES).count()).isEqualTo(1.0);

        model.failing = false;
        driver.advanceWallClockTime(Duration.ofMillis(150));

        assertThat(rewards.readValuesToList()).hasSize(4);
        assertThat(count(buffer())).isZero();
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    @Test
    void shouldScoreAFlushWithOneModelAndDeadLetterRecordsTheSwappedModelCannotEncode() {
        start(Map.of());
        pipe(simple("small", "g", null));
        Rollout big = simple("big", "g", null);
        big.setResponseTokenIds(List.of(1, 2, 3, 4, 5, 960));
        pipe(big);
        FakeRewardModel next = new FakeRewardModel("fake", 2, 64, 950); // id 960 is outside its vocabulary
        holder.swap(next);

        driver.advanceWallClockTime(Duration.ofMillis(150));

        List<Reward> out = rewards.readValuesToList();
        assertThat(out).extracting(Reward::getRolloutId).containsExactly("small");
        assertThat(out.get(0).getModelVersion()).isEqualTo("fake:2");
        assertThat(model.batchRows).isEmpty();
        assertThat(next.batchRows).containsExactly(1);
        List<TestRecord<byte[], byte[]>> dl = deadLetters.readRecordsToList();
        assertThat(dl).hasSize(1);
        assertThat(DeadLetters.header(dl.get(0).headers(), DeadLetters.REASON)).isEqualTo("TOKEN_OUT_OF_RANGE");
        assertThat(rolloutSerde.deserializer().deserialize("rollouts", dl.get(0).value()).getRolloutId())
                .isEqualTo("big");
        assertThat(count(buffer())).isZero();
    }

    @Test
    void shouldDeadLetterAFlushTimeFailureWithTheProducersExactBytes() throws Exception {
        start(Map.of());
        pipe(simple("small", "g", null));
        // a NEWER producer schema (one extra field with a default): the scorer decodes it with its own schema, so
        // re-serializing would drop the field; the dead letter must still be the producer's bytes, byte for byte
        Rollout big = simple("big", "g", null);
        big.setResponseTokenIds(List.of(1, 2, 3, 4, 5, 960));
        org.apache.avro.Schema evolved = new org.apache.avro.Schema.Parser().parse(Rollout.getClassSchema().toString()
                .replaceFirst("\\{\"name\": ?\"rollout_id\"",
                        "{\"name\":\"trainer_note\",\"type\":\"string\",\"default\":\"\"},{\"name\":\"rollout_id\""));
        assertThat(evolved.getField("trainer_note")).isNotNull();
        org.apache.avro.generic.GenericRecord g = new org.apache.avro.generic.GenericData.Record(evolved);
        for (org.apache.avro.Schema.Field f : Rollout.getClassSchema().getFields()) {
            g.put(f.name(), org.apache.avro.generic.GenericData.get().deepCopy(f.schema(), big.get(f.pos())));
        }
        g.put("trainer_note", "from a newer trainer");
        g.put("created_at", big.getCreatedAt().toEpochMilli());   // generic writer: the logical type's raw long
        byte[] produced;
        try (io.rewardstream.schema.AvroSerializer<org.apache.avro.generic.GenericRecord> ser =
                     new io.rewardstream.schema.AvroSerializer<>()) {
            ser.configure(config.serdeProperties(), false);
            produced = ser.serialize("rollouts", g);
        }
        assertThat(new String(produced, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("from a newer trainer");
        rawRollouts.pipeInput(new TestRecord<>("g", produced,
                new org.apache.kafka.common.header.internals.RecordHeaders().add("trace", "t-9".getBytes())));
        holder.swap(new FakeRewardModel("fake", 2, 64, 950)); // id 960 is outside its vocabulary: fails at flush

        driver.advanceWallClockTime(Duration.ofMillis(150));

        assertThat(rewards.readValuesToList()).extracting(Reward::getRolloutId).containsExactly("small");
        List<TestRecord<byte[], byte[]>> dl = deadLetters.readRecordsToList();
        assertThat(dl).hasSize(1);
        assertThat(dl.get(0).value()).isEqualTo(produced);   // the newer field survived: nothing re-serialized
        assertThat(dl.get(0).key()).isEqualTo("g".getBytes());
        assertThat(DeadLetters.header(dl.get(0).headers(), "trace")).isEqualTo("t-9");
        assertThat(DeadLetters.header(dl.get(0).headers(), DeadLetters.REASON)).isEqualTo("TOKEN_OUT_OF_RANGE");
    }

    @Test
    void shouldWriteNoGroupMembersForAGroupCompletedWithinOneFlushAndSkipRolloutsWithoutAGroup() {
        start(Map.of("batch.max.size", "4"));
        KeyValueStore<String, byte[]> members = driver.getKeyValueStore(ScorerTopology.GROUP_MEMBERS);
        pipe(simple("a", "grp", 2));
        pipe(simple("b", "grp", 2));
        pipe(simple("c", "open", 3));
        pipe(simple("u", "solo", null));   // fills the batch of 4: one flush

        assertThat(rewards.readValuesToList()).hasSize(4);
        assertThat(advantages.readValuesToList()).extracting(GroupAdvantage::getRolloutId)
                .containsExactlyInAnyOrder("a", "b");
        assertThat(members.get("grp")).isNull();
        assertThat(members.get("open")).isNotNull();   // spans flushes: stored
        assertThat(members.get("solo")).isNull();      // no group_size: no group stage
        assertThat(count(members)).isEqualTo(1);
    }

    @Test
    void shouldWriteScoreStatsOnlyWhenRunningNormalizationMovesThem() {
        start(Map.of("batch.max.size", "2"));   // normalization none: the stats never change, nothing to write
        KeyValueStore<String, byte[]> stats = driver.getKeyValueStore(ScorerTopology.SCORE_STATS);
        pipe(simple("a", "g", null));
        pipe(simple("b", "g", null));
        assertThat(rewards.readValuesToList()).hasSize(2);
        assertThat(count(stats)).isZero();
        driver.close();

        driver = null;
        start(Map.of("batch.max.size", "2", "scoring.normalization", "running", "application.id", "scorer-test-2"));
        stats = driver.getKeyValueStore(ScorerTopology.SCORE_STATS);
        pipe(simple("a", "g", null));
        pipe(simple("b", "g", null));
        assertThat(rewards.readValuesToList()).hasSize(2);
        assertThat(count(stats)).isEqualTo(1);
        assertThat(io.rewardstream.scoring.RunningStats.fromBytes(stats.get(model.modelVersion())).count())
                .isEqualTo(2);
    }

    @Test
    void shouldNotRewardARolloutIdTwiceWithinTheDedupeWindow() {
        start(Map.of("batch.max.size", "2", "dedupe.window.ms", "60000"));
        pipe(simple("x", "g", null));
        pipe(simple("y", "g", null));
        pipe(simple("x", "g", null));   // re-sent after it was rewarded
        driver.advanceWallClockTime(Duration.ofMillis(150));

        assertThat(rewards.readValuesToList()).extracting(Reward::getRolloutId).containsExactly("x", "y");
        assertThat(meters.counter(ScorerMetrics.DUPLICATES).count()).isEqualTo(1.0);
        assertThat(deadLetters.isEmpty()).isTrue();
    }

    @Test
    void shouldShareOneRegistryClientAcrossEveryAvroSerdeOfTheTopology() {
        start(Map.of());
        ScorerConfig adaptive = ScorerConfig.from(withKeys(Map.of("scoring.kl.controller", "adaptive")));
        java.util.Set<Long> before = HttpClientThreads.selectorThreads();

        ScorerTopology.build(adaptive, holder, meters);   // six Avro serdes: rollouts, rewards, advantages, KL x 3

        java.util.Set<Long> created = HttpClientThreads.selectorThreads();
        created.removeAll(before);
        assertThat(created).as("one registry client (one java.net.http client, one selector thread), not one per "
                + "serializer and deserializer").hasSize(1);
    }


    @Test
    void shouldNameEveryNodeAndStore() {
        start(Map.of());
        String d = ScorerTopology.build(config, holder, meters).describe().toString();
        for (String name : List.of("rollouts-source", "rollout-batcher", "group-aggregator", "rewards-sink",
                "group-advantages-sink", "dead-letters-sink", "rollout-buffer", "score-stats", "group-members",
                "rewarded-ids")) {
            assertThat(d).contains(name);
        }
        assertThat(d).as("a fixed beta needs no controller").doesNotContain("kl-controller");
        String adaptive = ScorerTopology.build(ScorerConfig.from(withKeys(Map.of("scoring.kl.controller", "adaptive"))),
                holder, meters).describe().toString();
        for (String name : List.of("kl-observations-sink", "kl-observations-source", "kl-controller",
                "kl-controller-window", "kl-coefficients-sink", "kl-coefficients-source", "kl-coefficients-updater")) {
            assertThat(adaptive).contains(name);
        }
    }

    private Map<String, Object> withKeys(Map<String, Object> extra) {
        Map<String, Object> m = baseConfig();
        m.putAll(extra);
        return m;
    }

    static int[] concat(List<Integer> a, List<Integer> b) {
        int[] out = new int[a.size() + b.size()];
        for (int i = 0; i < a.size(); i++) {
            out[i] = a.get(i);
        }
        for (int i = 0; i < b.size(); i++) {
            out[a.size() + i] = b.get(i);
        }
        return out;
    }
}
