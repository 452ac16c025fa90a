package io.rewardstream.topology;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.TestModels;
import io.rewardstream.testing.TestTopics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The scorer end to end on the real broker and registry with a real (tiny) TensorFlow SavedModel: 2,000 rollouts of
 * mixed lengths in complete groups, plus one poison record and one invalid rollout; exactly 2,000 rewards and 2,000
 * group advantages out (read_committed), each equal to an independent computation, and both bad records in the DLQ.
 */
@ExtendWith(SharedLocalStack.class)
class ScorerEndToEndIT {
    private static final int N = 2_000;
    private static final double EOS_PENALTY = 0.25;
    private static final double BETA = 0.05;

    @TempDir
    Path tmp;

    @Test
    void shouldScore2000RolloutsExactlyOnceWithTheRealModel(LocalStack stack) throws Exception {
        long t0 = System.nanoTime();
        String suffix = "-" + UUID.randomUUID().toString().substring(0, 8);
        // 2 partitions: fewer tasks and changelog partitions, faster on 2 cores
        Map<String, String> topics = TestTopics.provision(stack.bootstrapServers(), "e2e", suffix, 2);
        Path modelDir = TestModels.tinySavedModel(tmp.resolve("model"), "tiny", 3, 42);

        Map<String, Object> cfg = new HashMap<>(topics);
        cfg.put("application.id", "e2e-scorer" + suffix);
        cfg.put("bootstrap.servers", stack.bootstrapServers());
        cfg.put("schema.registry.url", stack.schemaRegistryUrl());
        cfg.put("state.dir", tmp.resolve("state").toString());
        cfg.put("model.dir", modelDir.toString());
        cfg.put("metrics.port", "0");
        cfg.put("scoring.missing.eos.penalty", Double.toString(EOS_PENALTY));
        cfg.put("group.timeout.ms", "60000");
        ScorerConfig config = ScorerConfig.from(cfg);

        List<Rollout> rollouts = rollouts(new Random(7));
        Path ready = tmp.resolve("ready");
        try (ScorerApp app = new ScorerApp(config, ReleaseHook.none(), null, ready);
             RewardModel reference = ModelLoader.load(modelDir, RuntimeConfig.from(Map.of("model.warmup", "false")))) {
            app.start();
            long readyBy = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!app.isReady() && System.nanoTime() < readyBy) {
                Thread.sleep(100);
            }
            assertThat(app.isReady()).as("scorer RUNNING within 90 s").isTrue();
            long startedMs = (System.nanoTime() - t0) / 1_000_000;
            long t1 = System.nanoTime();
            produce(stack, config, rollouts);

            Map<String, Reward> rewards = consume(stack, config.rewardsTopic(), N, Reward.class, Reward::getRolloutId);
            Map<String, GroupAdvantage> advantages = consume(stack, config.groupAdvantagesTopic(), N,
                    GroupAdvantage.class, GroupAdvantage::getRolloutId);
            List<ConsumerRecord<byte[], byte[]>> deadLetters = consumeRaw(stack, config.deadLettersTopic(), 2);

            assertThat(rewards).hasSize(N);
            Map<String, Double> expectedShaped = new HashMap<>();
            for (Rollout r : rollouts) {
                Reward got = rewards.get(r.getRolloutId());
                assertThat(got).as(r.getRolloutId()).isNotNull();
                int[] ids = ScorerTopologyTest.concat(r.getPromptTokenIds(), r.getResponseTokenIds());
                double s = reference.score(PaddedBatch.of(new int[][]{ids}, new int[]{0}, ids.length,
                        reference.manifest().padId())).reward()[0];
                double kl = 0;
                if (r.getReferenceLogprobs() != null) {
                    for (int t = 0; t < r.getResponseTokenIds().size(); t++) {
                        kl += (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
                    }
                }
                double shaped = r.getFinishReason() == FinishReason.STOP ? s : s - EOS_PENALTY;
                expectedShaped.put(r.getRolloutId(), shaped);
                assertThat(got.getScore()).as("score %s", r.getRolloutId()).isCloseTo(s, within(1e-4));
                assertThat(got.getKl()).isCloseTo(kl, within(1e-6));
                assertThat(got.getReward()).as("reward %s", r.getRolloutId()).isCloseTo(shaped - BETA * kl, within(1e-4));
                assertThat(got.getModelVersion()).isEqualTo("tiny:3");
                assertThat(got.getTokenRewards()).hasSize(r.getResponseTokenIds().size());
                assertThat(got.getGroupId()).isEqualTo(r.getGroupId());
            }

            assertThat(advantages).hasSize(N);
            Map<String, List<GroupAdvantage>> byGroup = new HashMap<>();
            advantages.values().forEach(a -> byGroup.computeIfAbsent(a.getGroupId(), g -> new ArrayList<>()).add(a));
            for (List<GroupAdvantage> group : byGroup.values()) {
                double[] r = group.stream().mapToDouble(a -> expectedShaped.get(a.getRolloutId())).toArray();
                double mean = java.util.Arrays.stream(r).average().orElseThrow();
                double ss = 0;
                for (double v : r) {
                    ss += (v - mean) * (v - mean);
                }
                double std = r.length > 1 ? Math.sqrt(ss / (r.length - 1)) : 0;
                for (int i = 0; i < r.length; i++) {
                    GroupAdvantage a = group.get(i);
                    assertThat(a.getGroupSize()).isEqualTo(a.getExpectedGroupSize()).isEqualTo(r.length);
                    assertThat(a.getFlags()).isEmpty();
                    assertThat(a.getReward()).isCloseTo(r[i], within(1e-4));
                    assertThat(a.getGroupMean()).isCloseTo(mean, within(1e-4));
                    // GRPO over the scorer's own rewards, and close to the independent values
                    double own = (a.getReward() - a.getGroupMean()) / (a.getGroupStd() + 1e-6);
                    assertThat(a.getAdvantage()).isCloseTo(own, within(1e-9));
                    if (std > 0.05) {
                        assertThat(a.getAdvantage()).isCloseTo((r[i] - mean) / (std + 1e-6), within(1e-2));
                    }
                }
            }

            assertThat(deadLetters).hasSize(2);
            ConsumerRecord<byte[], byte[]> poison = deadLetters.stream()
                    .filter(d -> "BAD_MAGIC_BYTE".equals(DeadLetters.header(d.headers(), DeadLetters.REASON)))
                    .findFirst().orElseThrow();
            assertThat(poison.value()).containsExactly(POISON);
            ConsumerRecord<byte[], byte[]> invalid = deadLetters.stream()
                    .filter(d -> "LOGPROB_LENGTH_MISMATCH".equals(DeadLetters.header(d.headers(), DeadLetters.REASON)))
                    .findFirst().orElseThrow();
            assertThat(DeadLetters.header(invalid.headers(), "trace-id")).isEqualTo("t-invalid");
            assertThat(DeadLetters.header(invalid.headers(), DeadLetters.TOPIC)).isEqualTo(config.rolloutsTopic());

            assertThat(Files.readString(ready)).startsWith("RUNNING model=tiny:3");
            HttpClient http = HttpClient.newHttpClient();
            String base = app.metricsUrl().orElseThrow();
            assertThat(get(http, base + "/health/ready").statusCode()).isEqualTo(200);
            assertThat(get(http, base + "/health/live").statusCode()).isEqualTo(200);
            String metrics = get(http, base + "/metrics").body();
            assertThat(metrics).contains("rewardstream_batch_size", "rewardstream_inference_time_seconds",
                    "rewardstream_dead_letters_total{reason=\"BAD_MAGIC_BYTE\"}", "rewardstream_model_version 3.0",
                    "kafka_stream");
            long firstScored = rewards.values().stream().mapToLong(r -> r.getScoredAt().toEpochMilli()).min().orElseThrow();
            long lastScored = rewards.values().stream().mapToLong(r -> r.getScoredAt().toEpochMilli()).max().orElseThrow();
            long firstCreated = rollouts.stream().mapToLong(r -> r.getCreatedAt().toEpochMilli()).min().orElseThrow();
            long lastCreated = rollouts.stream().mapToLong(r -> r.getCreatedAt().toEpochMilli()).max().orElseThrow();
            System.out.printf("ScorerEndToEndIT: rollouts created over %d ms; first scored %d ms after the first was created,"
                    + " last scored %d ms after the last was created; scoring span %d ms%n", lastCreated - firstCreated,
                    firstScored - firstCreated, lastScored - lastCreated, lastScored - firstScored);
            System.out.printf("ScorerEndToEndIT: stack+model+scorer RUNNING after %d ms; %d rewards, %d advantages,"
                    + " 2 dead letters %d ms after the first rollout was produced%n", startedMs, rewards.size(),
                    advantages.size(), (System.nanoTime() - t1) / 1_000_000);
        }
    }

    private static final byte[] POISON = {7, 7, 7, 7, 7, 7};

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Groups of 2..6 members with mixed prompt/response lengths (total <= 120 < max_seq_len 128). */
    private static List<Rollout> rollouts(Random rnd) {
        List<Rollout> out = new ArrayList<>(N);
        int g = 0;
        while (out.size() < N) {
            int size = Math.min(2 + rnd.nextInt(5), N - out.size());
            String group = "grp-" + g++;
            for (int m = 0; m < size; m++) {
                int promptLen = 1 + rnd.nextInt(50);
                int responseLen = 1 + rnd.nextInt(70);
                List<Integer> prompt = new ArrayList<>();
                for (int i = 0; i < promptLen; i++) {
                    prompt.add(4 + rnd.nextInt(256));
                }
                List<Integer> response = new ArrayList<>();
                List<Float> lp = new ArrayList<>();
                List<Float> lr = new ArrayList<>();
                for (int i = 0; i < responseLen; i++) {
                    response.add(4 + rnd.nextInt(256));
                    lp.add(-3f * rnd.nextFloat());
                    lr.add(-3f * rnd.nextFloat());
                }
                out.add(Rollout.newBuilder()
                        .setRolloutId(group + "-" + m).setGroupId(group).setGroupSize(size).setPolicyVersion("p1")
                        .setPromptTokenIds(prompt).setResponseTokenIds(response).setPolicyLogprobs(lp)
                        .setReferenceLogprobs(rnd.nextInt(10) == 0 ? null : lr)
                        .setFinishReason(rnd.nextInt(4) == 0 ? FinishReason.LENGTH : FinishReason.STOP)
                        .setCreatedAt(Instant.EPOCH).build()); // set when produced
            }
        }
        return out;
    }

    private static void produce(LocalStack stack, ScorerConfig config, List<Rollout> rollouts) throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        AvroSerializer<Rollout> ser = new AvroSerializer<>();
        ser.configure(config.serdeProperties(), false);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            String topic = config.rolloutsTopic();
            for (Rollout r : rollouts) {
                r.setCreatedAt(Instant.now());
                producer.send(new ProducerRecord<>(topic, r.getGroupId(), ser.serialize(topic, r)));
            }
            producer.send(new ProducerRecord<>(topic, "poison", POISON));
            Rollout invalid = Rollout.newBuilder(rollouts.get(0)).setRolloutId("invalid").setGroupId("invalid")
                    .setGroupSize(null).setPolicyLogprobs(List.of(-1f)).setResponseTokenIds(List.of(5, 6)).build();
            ProducerRecord<String, byte[]> rec = new ProducerRecord<>(topic, "invalid", ser.serialize(topic, invalid));
            rec.headers().add("trace-id", "t-invalid".getBytes(StandardCharsets.UTF_8));
            producer.send(rec);
            producer.flush();
        }
    }

    private static Map<String, Object> consumerProps(LocalStack stack) {
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "e2e-reader-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return c;
    }

    /** Reads until {@code expected} distinct keys arrived (fails on a duplicate) or 45 s passed. */
    private static <T extends org.apache.avro.specific.SpecificRecord> Map<String, T> consume(
            LocalStack stack, String topic, int expected, Class<T> type, Function<T, String> id) {
        AvroDeserializer<T> de = new AvroDeserializer<>(type);
        de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        Map<String, T> out = new HashMap<>();
        try (KafkaConsumer<String, T> consumer = new KafkaConsumer<>(consumerProps(stack), new StringDeserializer(),
                (Deserializer<T>) de)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(200))) {
                    T prev = out.put(id.apply(r.value()), r.value());
                    assertThat(prev).as("duplicate on %s: %s", topic, id.apply(r.value())).isNull();
                }
            }
            // a little longer: nothing beyond the expected count may arrive
            for (ConsumerRecord<String, T> r : consumer.poll(Duration.ofMillis(500))) {
                out.put(id.apply(r.value()) + "#extra", r.value());
            }
        }
        return out;
    }

    private static List<ConsumerRecord<byte[], byte[]>> consumeRaw(LocalStack stack, String topic, int expected) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProps(stack),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
