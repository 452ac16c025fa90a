package io.rewardstream.topology;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.TestModels;
import io.rewardstream.testing.TestTopics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Routing by task on the real broker and registry with a real (tiny) TensorFlow SavedModel: with
 * {@code scoring.routes.math.weights=exact_answer=1} and the default route {@code model=1}, the arithmetic rollouts of
 * one stream get 1.0 or 0.0 by their answer, the chat rollouts the model's own score (recomputed here from the
 * SavedModel), and a math rollout without a reference answer lands in the dead-letter topic with reason
 * NO_REFERENCE_ANSWER.
 */
@ExtendWith(SharedLocalStack.class)
class ScorerRoutingIT {
    private static final int MATH = 30;
    private static final int CHAT = 30;

    @TempDir
    Path tmp;

    @Test
    void shouldScoreMathByAnswerAndChatByTheModelInOneStream(LocalStack stack) throws Exception {
        String suffix = "-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = TestTopics.provision(stack.bootstrapServers(), "route", suffix, 1);
        Path modelDir = TestModels.tinySavedModel(tmp.resolve("model"), "tiny", 1, 11);
        Map<String, Object> cfg = new HashMap<>(topics);
        cfg.put("application.id", "route-scorer" + suffix);
        cfg.put("bootstrap.servers", stack.bootstrapServers());
        cfg.put("schema.registry.url", stack.schemaRegistryUrl());
        cfg.put("state.dir", tmp.resolve("state").toString());
        cfg.put("model.dir", modelDir.toString());
        cfg.put("metrics.port", "-1");
        cfg.put("scoring.routes.math.weights", "exact_answer=1");
        ScorerConfig config = ScorerConfig.from(cfg);

        Random rnd = new Random(3);
        List<Rollout> rollouts = new ArrayList<>();
        Map<String, Double> expectedMath = new HashMap<>();
        for (int i = 0; i < MATH; i++) {
            int a = rnd.nextInt(50);
            int b = rnd.nextInt(50);
            boolean right = i % 2 == 0;
            String answer = Integer.toString(right ? a + b : a + b + 1 + rnd.nextInt(9));
            Rollout r = rollout("math-" + i, a + "+" + b + "=", answer,
                    Map.of("task", "math", "reference_answer", Integer.toString(a + b)), rnd);
            rollouts.add(r);
            expectedMath.put(r.getRolloutId(), right ? 1.0 : 0.0);
        }
        for (int i = 0; i < CHAT; i++) {
            rollouts.add(rollout("chat-" + i, "Say something kind", "You are doing great " + i,
                    Map.of("task", "chat"), rnd));
        }
        rollouts.add(rollout("math-no-ref", "1+1=", "2", Map.of("task", "math"), rnd));

        try (ScorerApp app = new ScorerApp(config, ReleaseHook.none(), null, null);
             RewardModel reference = ModelLoader.load(modelDir, RuntimeConfig.from(Map.of("model.warmup", "false")))) {
            app.start();
            long readyBy = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!app.isReady() && System.nanoTime() < readyBy) {
                Thread.sleep(100);
            }
            assertThat(app.isReady()).as("scorer RUNNING within 90 s").isTrue();
            ScorerTopics.produce(stack, config, rollouts);

            Map<String, Reward> rewards = ScorerTopics.consumeRewards(stack, config.rewardsTopic(), MATH + CHAT);
            List<ConsumerRecord<byte[], byte[]>> dead = consumeRaw(stack, config.deadLettersTopic(), 1);

            assertThat(rewards).hasSize(MATH + CHAT).doesNotContainKey("math-no-ref");
            int right = 0;
            for (Rollout r : rollouts.subList(0, MATH + CHAT)) {
                Reward got = rewards.get(r.getRolloutId());
                assertThat(got).as(r.getRolloutId()).isNotNull();
                if (r.getRolloutId().startsWith("math-")) {
                    assertThat(got.getScore()).as(r.getRolloutId()).isEqualTo(expectedMath.get(r.getRolloutId()));
                    assertThat(got.getHeadScores()).containsOnlyKeys("exact_answer");
                    right += got.getScore() == 1.0 ? 1 : 0;
                } else {
                    int[] ids = ScorerTopologyTest.concat(r.getPromptTokenIds(), r.getResponseTokenIds());
                    double s = reference.score(PaddedBatch.of(new int[][]{ids}, new int[]{0}, ids.length,
                            reference.manifest().padId())).reward()[0];
                    assertThat(got.getScore()).as("model score of %s", r.getRolloutId()).isCloseTo(s, within(1e-4));
                    assertThat(got.getHeadScores()).isNull();
                }
                assertThat(got.getModelVersion()).isEqualTo("tiny:1");
            }
            assertThat(right).isEqualTo(MATH / 2);
            // the model does not score 0/1 by itself: routing, not the model, made the math scores
            assertThat(rewards.values().stream().filter(x -> x.getRolloutId().startsWith("chat-"))
                    .mapToDouble(Reward::getScore).filter(s -> s != 0.0 && s != 1.0).count()).isEqualTo(CHAT);
            assertThat(dead).hasSize(1);
            assertThat(DeadLetters.header(dead.get(0).headers(), DeadLetters.REASON)).isEqualTo("NO_REFERENCE_ANSWER");
            System.out.printf("ScorerRoutingIT: %d math rewards (%d right), %d chat rewards by model tiny:1, 1 dead letter%n",
                    MATH, right, CHAT);
        }
    }

    /** A rollout whose token ids are the bytes of its text (the tiny model's tokenizer is byte-level ids). */
    private static Rollout rollout(String id, String prompt, String response, Map<String, String> metadata, Random rnd) {
        List<Integer> p = new ArrayList<>();
        for (int v : ByteTokenizer.encode(prompt)) {
            p.add(v);
        }
        List<Integer> resp = new ArrayList<>();
        List<Float> lp = new ArrayList<>();
        List<Float> lr = new ArrayList<>();
        for (int v : ByteTokenizer.encode(response)) {
            resp.add(v);
            lp.add(-2f * rnd.nextFloat());
            lr.add(-2f * rnd.nextFloat());
        }
        return Rollout.newBuilder().setRolloutId(id).setGroupId("g-" + id).setPolicyVersion("p1")
                .setPromptTokenIds(p).setResponseTokenIds(resp).setPromptText(prompt).setResponseText(response)
                .setPolicyLogprobs(lp).setReferenceLogprobs(lr).setFinishReason(FinishReason.STOP)
                .setCreatedAt(Instant.now()).setMetadata(metadata).build();
    }

    private static List<ConsumerRecord<byte[], byte[]>> consumeRaw(LocalStack stack, String topic, int expected) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(ScorerTopics.consumerProps(stack),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
