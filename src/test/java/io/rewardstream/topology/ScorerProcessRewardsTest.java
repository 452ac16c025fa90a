package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.FakeSchemaRegistryServer;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.TestModels;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.AfterEach;
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
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Process rewards through the whole scorer topology (TopologyTestDriver) with a REAL tiny SavedModel that has a
 * {@code token_rewards} output (per-token reward = {@link TestModels#tokenReward} of the token id) and, for the
 * sequence score, the same weights as the plain tiny model of the same seed. {@code Reward.token_rewards} and
 * {@code Reward.reward} are checked against values computed here: token t gets
 * {@code -beta * kl[t] + clip(p[t])}, the last one also {@code s'}, and reward is their sum.
 */
class ScorerProcessRewardsTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final double BETA = 0.05;
    private static final double CLIP = 0.5;

    @TempDir
    Path tmp;

    private FakeSchemaRegistryServer registryServer;
    private ModelHolder holder;
    private TopologyTestDriver driver;

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        if (holder != null) {
            holder.close();
        }
        if (registryServer != null) {
            registryServer.close();
        }
    }

    private static Rollout rollout(String id, int promptLen, int responseLen, long seed) {
        Random rnd = new Random(seed);
        List<Integer> prompt = new ArrayList<>();
        List<Integer> response = new ArrayList<>();
        List<Float> lp = new ArrayList<>();
        List<Float> lr = new ArrayList<>();
        for (int i = 0; i < promptLen; i++) {
            prompt.add(4 + rnd.nextInt(256));
        }
        for (int i = 0; i < responseLen; i++) {
            response.add(4 + rnd.nextInt(256));
            lp.add(-rnd.nextFloat());
            lr.add(-rnd.nextFloat());
        }
        return Rollout.newBuilder()
                .setRolloutId(id).setGroupId("g-" + id).setGroupSize(null).setPolicyVersion("policy-1")
                .setPromptTokenIds(prompt).setResponseTokenIds(response)
                .setPolicyLogprobs(lp).setReferenceLogprobs(lr)
                .setFinishReason(FinishReason.STOP)
                .setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .build();
    }

    @Test
    void shouldEmitModelProcessRewardsPerResponseTokenWithRewardTheirSum() throws Exception {
        registryServer = new FakeSchemaRegistryServer();
        Path prm = TestModels.tinyProcessRewardModel(tmp.resolve("prm"), "prm", 1, 7);
        Path plain = TestModels.tinySavedModel(tmp.resolve("plain"), "plain", 1, 7);
        RuntimeConfig rt = RuntimeConfig.from(Map.of("model.warmup", "false", "model.intra.op.threads", "1",
                "model.inter.op.threads", "1"));
        holder = new ModelHolder(ModelLoader.load(prm, rt));
        Map<String, Object> m = new HashMap<>();
        m.put("application.id", "prm-test");
        m.put("bootstrap.servers", "unused:9092");
        m.put("schema.registry.url", registryServer.url());
        m.put("batch.max.size", "4");
        // the TopologyTestDriver runs no background time: every flush scores on the stream thread (overlap is
        // RolloutBatcherTest's and the ITs')
        m.put("batch.flush.overlap", "false");
        m.put("metrics.port", "-1");
        m.put("scoring.score.clip", String.valueOf(CLIP));
        ScorerConfig config = ScorerConfig.from(m);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        Properties p = ScorerApp.streamsProperties(config, meters);
        p.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("state").toString());
        driver = new TopologyTestDriver(ScorerTopology.build(config, holder, meters), p, T0);
        AvroSerde<Rollout> rolloutSerde = new AvroSerde<>(Rollout.class);
        rolloutSerde.configure(config.serdeProperties(), false);
        AvroSerde<Reward> rewardSerde = new AvroSerde<>(Reward.class);
        rewardSerde.configure(config.serdeProperties(), false);
        TestInputTopic<String, Rollout> rollouts = driver.createInputTopic("rollouts", new StringSerializer(),
                rolloutSerde.serializer());
        TestOutputTopic<String, Reward> rewards = driver.createOutputTopic("rewards", new StringDeserializer(),
                rewardSerde.deserializer());

        List<Rollout> in = List.of(rollout("a", 5, 6, 1), rollout("b", 20, 1, 2), rollout("c", 100, 60, 3),
                rollout("d", 3, 9, 4));
        in.forEach(r -> rollouts.pipeInput(r.getGroupId(), r));
        driver.advanceWallClockTime(Duration.ofSeconds(1));
        Map<String, Reward> out = rewards.readValuesToList().stream()
                .collect(Collectors.toMap(Reward::getRolloutId, Function.identity()));
        assertThat(out).containsOnlyKeys("a", "b", "c", "d");

        // the sequence score s comes from the plain model with the same weights, called on its own
        try (var reference = ModelLoader.load(plain, rt)) {
            for (Rollout r : in) {
                Reward got = out.get(r.getRolloutId());
                List<Integer> resp = r.getResponseTokenIds();
                int l = resp.size();
                int[] ids = new int[r.getPromptTokenIds().size() + l];
                int i = 0;
                for (int v : r.getPromptTokenIds()) {
                    ids[i++] = v;
                }
                for (int v : resp) {
                    ids[i++] = v;
                }
                int len = Math.min(ids.length, 128);
                int[] kept = java.util.Arrays.copyOfRange(ids, ids.length - len, ids.length);
                double s = reference.score(io.rewardstream.scoring.PaddedBatch.of(new int[][]{kept}, new int[]{0},
                        ((len + 7) / 8) * 8, 0)).reward()[0];
                assertThat(got.getScore()).as(r.getRolloutId()).isCloseTo(s, within(1e-5));
                double sPrime = Math.max(-CLIP, Math.min(CLIP, s));
                assertThat(got.getTokenRewards()).as(r.getRolloutId()).hasSize(l);
                double sum = 0;
                for (int t = 0; t < l; t++) {
                    double kl = (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
                    double pt = Math.max(-CLIP, Math.min(CLIP, TestModels.tokenReward(resp.get(t))));
                    double expected = -BETA * kl + pt + (t == l - 1 ? sPrime : 0);
                    assertThat((double) got.getTokenRewards().get(t)).as("%s token %d", r.getRolloutId(), t)
                            .isCloseTo(expected, within(1e-5));
                    sum += expected;
                }
                assertThat(got.getReward()).as(r.getRolloutId()).isCloseTo(sum, within(1e-5));
                double emitted = 0;
                for (float v : got.getTokenRewards()) {
                    emitted += v;
                }
                assertThat(got.getReward()).as(r.getRolloutId()).isCloseTo(emitted, within(1e-4));
            }
        }
    }
}
