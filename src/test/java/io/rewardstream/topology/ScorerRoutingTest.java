package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerde;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.FakeSchemaRegistryServer;
import io.rewardstream.scoring.ModelHolder;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Routing by task through the whole topology (TopologyTestDriver, FAKE reward model whose score is a known function of
 * the token ids): with {@code scoring.routes.math.weights=exact_answer=1} and the default route {@code model=1}, math
 * rollouts get 1.0 or 0.0 by their answer and every other rollout the model's score, in one stream.
 */
class ScorerRoutingTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path stateDir;

    private FakeSchemaRegistryServer registryServer;
    private ModelHolder holder;
    private TopologyTestDriver driver;
    private TestInputTopic<String, Rollout> rollouts;
    private TestOutputTopic<String, Reward> rewards;
    private TestOutputTopic<byte[], byte[]> deadLetters;

    @BeforeEach
    void setUp() throws Exception {
        registryServer = new FakeSchemaRegistryServer();
        holder = new ModelHolder(new FakeRewardModel("fake", 1, 64, 1000));
    }

    @AfterEach
    void tearDown() {
        if (driver != null) {
            driver.close();
        }
        holder.close();
        registryServer.close();
    }

    private void start(Map<String, Object> overrides) {
        Map<String, Object> m = new HashMap<>();
        m.put("application.id", "routing-test");
        m.put("bootstrap.servers", "unused:9092");
        m.put("schema.registry.url", registryServer.url());
        m.put("batch.max.size", "6");
        // the TopologyTestDriver runs no background time: every flush scores on the stream thread (overlap is
        // RolloutBatcherTest's and the ITs')
        m.put("batch.flush.overlap", "false");
        m.put("metrics.port", "-1");
        m.putAll(overrides);
        ScorerConfig config = ScorerConfig.from(m);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        Properties p = ScorerApp.streamsProperties(config, meters);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(ScorerTopology.build(config, holder, meters), p, T0);
        AvroSerde<Rollout> rolloutSerde = new AvroSerde<>(Rollout.class);
        rolloutSerde.configure(config.serdeProperties(), false);
        AvroSerde<Reward> rewardSerde = new AvroSerde<>(Reward.class);
        rewardSerde.configure(config.serdeProperties(), false);
        rollouts = driver.createInputTopic("rollouts", new StringSerializer(), rolloutSerde.serializer());
        rewards = driver.createOutputTopic("rewards", new StringDeserializer(), rewardSerde.deserializer());
        deadLetters = driver.createOutputTopic("rewardstream-dead-letters", new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
    }

    static Rollout tagged(String id, String responseText, Map<String, String> metadata) {
        Rollout r = ScorerTopologyTest.rollout(id, "g-" + id, null, 5, 6, true, true);
        r.setResponseText(responseText);
        r.setMetadata(metadata);
        return r;
    }

    private static double modelScore(Rollout r) {
        return FakeRewardModel.expected(ScorerTopologyTest.concat(r.getPromptTokenIds(), r.getResponseTokenIds()));
    }

    private static double kl(Rollout r) {
        double kl = 0;
        for (int t = 0; t < r.getResponseTokenIds().size(); t++) {
            kl += (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
        }
        return kl;
    }

    @Test
    void shouldScoreMathByItsAnswerAndEverythingElseByTheModelInOneStream() {
        start(Map.of("scoring.routes.math.weights", "exact_answer=1"));
        List<Rollout> in = List.of(
                tagged("math-right", "19", Map.of("task", "math", "reference_answer", "19")),
                tagged("math-wrong", "18", Map.of("task", "math", "reference_answer", "19")),
                tagged("math-decimal", "The answer is 2.50.", Map.of("task", "math", "reference_answer", "2.5")),
                tagged("chat", "Hello there", Map.of("task", "chat", "reference_answer", "Hello there")),
                tagged("untagged", "19", Map.of()),
                tagged("math-no-ref", "19", Map.of("task", "math")));
        in.forEach(r -> rollouts.pipeInput(r.getGroupId(), r));

        Map<String, Reward> out = rewards.readValuesToList().stream()
                .collect(Collectors.toMap(Reward::getRolloutId, Function.identity()));
        assertThat(out).containsOnlyKeys("math-right", "math-wrong", "math-decimal", "chat", "untagged");
        assertThat(out.get("math-right").getScore()).isEqualTo(1.0);
        assertThat(out.get("math-wrong").getScore()).isEqualTo(0.0);
        assertThat(out.get("math-decimal").getScore()).isEqualTo(1.0);
        assertThat(out.get("math-right").getHeadScores()).isEqualTo(Map.of("exact_answer", 1.0));
        assertThat(out.get("math-wrong").getHeadScores()).isEqualTo(Map.of("exact_answer", 0.0));
        for (Rollout r : in.subList(0, 5)) {
            Reward got = out.get(r.getRolloutId());
            boolean math = "math".equals(r.getMetadata().get("task"));
            if (!math) {
                assertThat(got.getScore()).as(r.getRolloutId()).isCloseTo(modelScore(r), within(1e-6));
                assertThat(got.getHeadScores()).as(r.getRolloutId()).isNull();
            }
            // the routed score is shaped like any other: reward = s - beta * kl
            assertThat(got.getReward()).as(r.getRolloutId()).isCloseTo(got.getScore() - 0.05 * kl(r), within(1e-5));
        }
        List<TestRecord<byte[], byte[]>> dl = deadLetters.readRecordsToList();
        assertThat(dl).hasSize(1);
        assertThat(DeadLetters.header(dl.get(0).headers(), DeadLetters.REASON)).isEqualTo("NO_REFERENCE_ANSWER");
        assertThat(DeadLetters.header(dl.get(0).headers(), DeadLetters.MESSAGE))
                .contains("scoring.routes.math.weights").contains("reference_answer");
    }

    @Test
    void shouldMixModelAndVerifiersWithTheirWeights() {
        start(Map.of("scoring.routes.default.weights", "model=0.5,format=2,length=0.25",
                "scoring.verifier.format.regex", "^Answer: .+$",
                "scoring.verifier.length.max.tokens", "4"));
        Rollout r = tagged("mixed", "Answer: yes", Map.of());
        rollouts.pipeInput(r.getGroupId(), r);
        driver.advanceWallClockTime(java.time.Duration.ofSeconds(1));
        Reward got = rewards.readValue();
        double model = modelScore(r);
        // 6 response tokens, 2 over the limit of 4
        assertThat(got.getScore()).isCloseTo(0.5 * model + 2 * 1.0 + 0.25 * -2.0, within(1e-6));
        assertThat(got.getHeadScores()).containsOnlyKeys("model", "format", "length");
        assertThat(got.getHeadScores().get("model")).isCloseTo(model, within(1e-6));
        assertThat(got.getHeadScores().get("length")).isEqualTo(-2.0);
    }

    @Test
    void shouldRefuseAtStartUpARouteNamingAHeadTheModelLacks() throws Exception {
        ScorerConfig config = ScorerConfig.from(Map.of("bootstrap.servers", "unused:9092",
                "schema.registry.url", registryServer.url(), "scoring.routes.chat.weights", "model.helpful=1",
                "metrics.port", "-1"));
        FakeRewardModel single = new FakeRewardModel("single", 1, 64, 1000);
        try (ScorerApp app = new ScorerApp(config, ReleaseHook.none(), single, null)) {
            assertThatThrownBy(app::start).hasMessageStartingWith("scoring.routes.chat.weights")
                    .hasMessageContaining("no head 'helpful'");
        }
    }
}
