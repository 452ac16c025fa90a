package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.ReleaseTestModels;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Poison records mixed into valid traffic on the real broker and registry: each ends in the dead-letter topic with
 * its reason header and its original bytes; every valid rollout is rewarded; the scorer keeps running. The model's
 * manifest over-claims its vocabulary, so one poison rollout passes validation and makes the real TF call fail
 * (MODEL_REJECTED, found by the pipeline's row isolation while its batch is rewarded).
 */
@ExtendWith(SharedLocalStack.class)
class PoisonInputIT {
    private static final Duration READY = Duration.ofMinutes(3);

    private final List<ScorerProcess> processes = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (ScorerProcess p : processes) {
            p.close();
        }
    }

    /** One poison record: the key it is sent under (unique), its value bytes and the reasons accepted for it. */
    private record Poison(String key, byte[] value, Set<String> reasons) {
    }

    @Test
    void shouldDeadLetterEveryPoisonRecordWithItsReasonAndRewardEveryValidOne(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("poison");
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        Path work = ScorerIt.workDir(n.prefix());
        // its manifest claims 300 ids for an embedding of 260: ids 260..299 pass validation and fail the model call
        Path model = ReleaseTestModels.tinySavedModelClaimingVocab(work.resolve("models"), "poison", 1, 5, 300);
        Map<String, String> cfg = ScorerIt.config(stack, n, model, work.resolve("state"));
        cfg.put("batch.max.size", "8");
        cfg.put("batch.max.delay.ms", "200");
        ScorerProcess scorer = new ScorerProcess("poison-scorer", work.resolve("scorer"), cfg);
        processes.add(scorer);
        scorer.start();

        RolloutGenerator gen = new RolloutGenerator(99, n.prefix(), 260, 128);
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             ScorerTraffic.Reader<ConsumerRecord<byte[], byte[]>> dlq = traffic.raw(n.deadLetters(),
                     r -> r.key() == null ? "<null>" : new String(r.key(), StandardCharsets.UTF_8))) {
            List<Poison> poisons = poisons(traffic, n.rollouts(), gen);
            scorer.awaitReady(READY);

            List<Rollout> valid = new ArrayList<>();
            for (Poison p : poisons) {
                List<Rollout> before = gen.groups(2, 2);
                traffic.produce(n.rollouts(), before);
                valid.addAll(before);
                traffic.produceRaw(n.rollouts(), p.key(), p.value());
            }
            List<Rollout> after = gen.groups(4, 2);
            traffic.produce(n.rollouts(), after);
            valid.addAll(after);

            assertThat(dlq.awaitDistinct(poisons.size(), Duration.ofSeconds(90)))
                    .as("every poison record dead-lettered; got %s\n%s", dlq.ids(), scorer.tail(60)).isTrue();
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(valid), Duration.ofSeconds(90)))
                    .as("every valid rollout rewarded; missing %s", ScorerCrashIT.missing(valid, rewards.ids()))
                    .isTrue();

            // the scorer is still up and still scoring after all of it
            List<Rollout> late = gen.groups(3, 2);
            traffic.produce(n.rollouts(), late);
            valid.addAll(late);
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(late), Duration.ofSeconds(60))).as("scoring after the poison")
                    .isTrue();
            dlq.drain(Duration.ofSeconds(2));
            rewards.drain(Duration.ofSeconds(1));
            assertThat(scorer.isAlive()).as("scorer process still running").isTrue();

            Map<String, ConsumerRecord<byte[], byte[]>> byKey = new LinkedHashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : dlq.all()) {
                byKey.put(r.key() == null ? "<null>" : new String(r.key(), StandardCharsets.UTF_8), r);
            }
            assertThat(dlq.duplicates()).as("a poison record dead-lettered twice").isEmpty();
            assertThat(byKey.keySet()).as("only the poison records are dead letters")
                    .containsExactlyInAnyOrderElementsOf(poisons.stream().map(Poison::key).toList());
            for (Poison p : poisons) {
                ConsumerRecord<byte[], byte[]> dl = byKey.get(p.key());
                String reason = DeadLetters.header(dl.headers(), DeadLetters.REASON);
                assertThat(reason).as("reason of %s (detail: %s)", p.key(),
                        DeadLetters.header(dl.headers(), DeadLetters.DETAIL)).isIn(p.reasons());
                assertThat(dl.value()).as("original bytes of %s", p.key()).isEqualTo(p.value());
                if (reason.equals("MODEL_REJECTED")) {
                    assertThat(DeadLetters.header(dl.headers(), DeadLetters.DETAIL)).as("the model's own words")
                            .contains("fails on this rollout alone").contains("280 is not in [0, 260)");
                }
                assertThat(DeadLetters.header(dl.headers(), DeadLetters.TOPIC)).as("source topic of %s", p.key())
                        .isEqualTo(n.rollouts());
                System.out.printf("dead letter %-22s reason %-24s detail %s%n", p.key(), reason,
                        DeadLetters.header(dl.headers(), DeadLetters.DETAIL));
            }
            assertThat(rewards.duplicates()).isEmpty();
            assertThat(rewards.ids()).containsExactlyInAnyOrderElementsOf(ScorerCrashIT.ids(valid));
            double dead = ScorerIt.metric(scorer.metricsUrl().orElseThrow(), "rewardstream_dead_letters_total", "");
            assertThat(dead).as("rewardstream.dead.letters counted").isEqualTo(poisons.size());
        }
    }

    private static List<Poison> poisons(ScorerTraffic traffic, String topic, RolloutGenerator gen) {
        List<Poison> out = new ArrayList<>();
        byte[] good = traffic.serialize(topic, base(gen));

        byte[] random = new byte[97];
        new Random(3).nextBytes(random);
        random[0] = 0x5A; // not the magic byte 0: random bytes never pass as a Confluent frame
        out.add(new Poison("poison-random-bytes", random, Set.of("BAD_MAGIC_BYTE")));

        byte[] magic = good.clone();
        magic[0] = 1;
        out.add(new Poison("poison-wrong-magic", magic, Set.of("BAD_MAGIC_BYTE")));

        byte[] unknownId = good.clone();
        ByteBuffer.wrap(unknownId).putInt(1, 987_654_321);
        out.add(new Poison("poison-unknown-schema", unknownId, Set.of("UNKNOWN_SCHEMA_ID")));

        byte[] truncated = Arrays.copyOf(good, good.length - 7);
        out.add(new Poison("poison-truncated", truncated, Set.of("TRUNCATED_BODY", "MALFORMED_BODY")));

        out.add(new Poison("poison-empty-value", new byte[0], Set.of("EMPTY")));

        Rollout empty = base(gen);
        empty.setResponseTokenIds(List.of());
        empty.setPolicyLogprobs(List.of());
        empty.setReferenceLogprobs(null);
        out.add(serialized(traffic, topic, "poison-empty-response", empty, "EMPTY_RESPONSE"));

        Rollout mismatch = base(gen);
        mismatch.setPolicyLogprobs(mismatch.getPolicyLogprobs().subList(0, mismatch.getPolicyLogprobs().size() - 1));
        out.add(serialized(traffic, topic, "poison-length-mismatch", mismatch, "LOGPROB_LENGTH_MISMATCH"));

        Rollout nan = base(gen);
        List<Float> lp = new ArrayList<>(nan.getPolicyLogprobs());
        lp.set(0, Float.NaN);
        nan.setPolicyLogprobs(lp);
        out.add(serialized(traffic, topic, "poison-nan-logprob", nan, "NON_FINITE_LOGPROB"));

        Rollout oov = base(gen);
        List<Integer> ids = new ArrayList<>(oov.getResponseTokenIds());
        ids.set(0, 300);
        oov.setResponseTokenIds(ids);
        out.add(serialized(traffic, topic, "poison-out-of-vocab", oov, "TOKEN_OUT_OF_VOCAB", "TOKEN_OUT_OF_RANGE"));

        // inside the manifest's vocabulary, outside the model's embedding: the call fails on this row alone, the rest
        // of its batch is rewarded (RowIsolation)
        Rollout rejected = base(gen);
        List<Integer> past = new ArrayList<>(rejected.getResponseTokenIds());
        past.set(past.size() - 1, 280);
        rejected.setResponseTokenIds(past);
        out.add(serialized(traffic, topic, "poison-model-rejects", rejected, "MODEL_REJECTED"));

        Rollout group = base(gen);
        group.setGroupSize(0);
        out.add(serialized(traffic, topic, "poison-bad-group-size", group, "BAD_GROUP_SIZE"));
        return out;
    }

    /** A valid rollout (at least two response tokens) to break in one way. */
    private static Rollout base(RolloutGenerator gen) {
        Rollout r;
        do {
            r = gen.group(1).get(0);
        } while (r.getResponseTokenIds().size() < 2);
        return r;
    }

    private static Poison serialized(ScorerTraffic traffic, String topic, String key, Rollout r, String... reasons) {
        r.setRolloutId(key);
        return new Poison(key, traffic.serialize(topic, r), Set.of(reasons));
    }
}
