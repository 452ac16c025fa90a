package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@link HostileCorpus} (25 bad kinds, plus a record from a future v2 writer schema) mixed into valid traffic
 * through a scorer process on the real broker and registry: every bad record ends in the dead-letter topic once, with
 * one of its expected reasons and its original bytes; every valid rollout, and the v2 record, is rewarded; the scorer
 * keeps running. A rollout id sent again after its reward was committed is not rewarded a second time (within
 * {@code dedupe.window.ms}) and is counted in {@code rewardstream.duplicates}. Prints the scorer JVM's resident-memory
 * peak and heap.
 */
@ExtendWith(SharedLocalStack.class)
class HostileInputIT {
    private static final Duration READY = ScorerDeployment.READY;
    private static final int MAX_RESPONSE_TOKENS = 4096;

    @RegisterExtension
    final ScorerDeployment scorers = new ScorerDeployment();

    @Test
    void shouldDeadLetterEveryHostileRecordAndRewardEveryValidOne(LocalStack stack) throws Exception {
        ScorerIt.Names n = scorers.deploy(stack, "hostile", 2, "hostile", 5).names;
        Map<String, String> cfg = scorers.config;
        cfg.put("batch.max.size", "8");
        cfg.put("batch.max.delay.ms", "200");
        cfg.put("validation.max.response.tokens", String.valueOf(MAX_RESPONSE_TOKENS));
        ScorerProcess scorer = scorers.process("hostile-scorer", cfg);
        scorer.start();

        RolloutGenerator gen = new RolloutGenerator(77, n.prefix(), 260, 128);
        SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.from(
                Map.of("schema.registry.url", stack.schemaRegistryUrl())));
        List<HostileCorpus.Entry> corpus = HostileCorpus.generate(client, n.rollouts(),
                new RolloutGenerator(78, n.prefix() + "-h", 260, 128), 260, MAX_RESPONSE_TOKENS);
        List<HostileCorpus.Entry> bad = corpus.stream().filter(e -> !e.valid()).toList();
        List<HostileCorpus.Entry> oddButValid = corpus.stream().filter(HostileCorpus.Entry::valid).toList();
        MemoryProbe memory = new MemoryProbe(scorer.pid());

        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             ScorerTraffic.Reader<ConsumerRecord<byte[], byte[]>> dlq = traffic.raw(n.deadLetters(),
                     r -> r.key() == null ? "<null>" : new String(r.key(), StandardCharsets.UTF_8))) {
            scorer.awaitReady(READY);
            memory.sample();

            List<Rollout> valid = new ArrayList<>();
            for (HostileCorpus.Entry e : corpus) {
                List<Rollout> before = gen.groups(2, 2);
                traffic.produce(n.rollouts(), before);
                valid.addAll(before);
                traffic.produceRaw(n.rollouts(), e.key(), e.value());
                memory.sample();
            }
            List<Rollout> after = gen.groups(4, 2);
            traffic.produce(n.rollouts(), after);
            valid.addAll(after);

            Set<String> expectedRewards = new HashSet<>(ScorerCrashIT.ids(valid));
            oddButValid.forEach(e -> expectedRewards.add(e.key()));
            assertThat(dlq.awaitDistinct(bad.size(), Duration.ofSeconds(120)))
                    .as("every hostile record dead-lettered; got %s\n%s", dlq.ids(), scorer.tail(60)).isTrue();
            assertThat(rewards.awaitIds(expectedRewards, Duration.ofSeconds(120)))
                    .as("every valid rollout rewarded; missing %s\n%s",
                            expectedRewards.stream().filter(id -> !rewards.ids().contains(id)).toList(),
                            scorer.tail(60)).isTrue();
            memory.sample();

            // a rollout id sent again AFTER its reward was committed: not rewarded again (dedupe.window.ms), counted
            Rollout replay = valid.get(0);
            traffic.produce(n.rollouts(), List.of(replay));
            List<Rollout> late = gen.groups(3, 2);
            traffic.produce(n.rollouts(), late);
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(late), Duration.ofSeconds(60))).as("scoring after hostility")
                    .isTrue();
            dlq.drain(Duration.ofSeconds(2));
            rewards.drain(Duration.ofSeconds(2));
            memory.sample();
            assertThat(scorer.isAlive()).as("scorer process still running").isTrue();

            Map<String, ConsumerRecord<byte[], byte[]>> byKey = new LinkedHashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : dlq.all()) {
                byKey.put(r.key() == null ? "<null>" : new String(r.key(), StandardCharsets.UTF_8), r);
            }
            assertThat(dlq.duplicates()).as("a hostile record dead-lettered twice").isEmpty();
            assertThat(byKey.keySet()).as("only the hostile records are dead letters")
                    .containsExactlyInAnyOrderElementsOf(bad.stream().map(HostileCorpus.Entry::key).toList());
            for (HostileCorpus.Entry e : bad) {
                ConsumerRecord<byte[], byte[]> dl = byKey.get(e.key());
                String reason = DeadLetters.header(dl.headers(), DeadLetters.REASON);
                assertThat(reason).as("reason of %s (detail: %s)", e.kind(),
                        DeadLetters.header(dl.headers(), DeadLetters.DETAIL)).isIn(e.reasons());
                assertThat(dl.value()).as("original bytes of %s", e.kind()).isEqualTo(e.value());
                System.out.printf("dead letter %-26s reason %-26s%n", e.kind(), reason);
            }
            assertThat(rewards.duplicates()).as("no rollout id rewarded twice, the replayed one included").isEmpty();
            assertThat(ScorerIt.metric(scorer.metricsUrl().orElseThrow(), "rewardstream_duplicates_total", ""))
                    .as("the replayed id counted as a duplicate").isEqualTo(1.0);
            System.out.printf("rewards %d (distinct %d), dead letters %d, future-schema v2 record rewarded: %s%n",
                    rewards.all().size(), rewards.ids().size(), byKey.size(),
                    rewards.ids().contains("hostile-future-schema-v2"));
            double dead = ScorerIt.metric(scorer.metricsUrl().orElseThrow(), "rewardstream_dead_letters_total", "");
            assertThat(dead).as("rewardstream.dead.letters counted").isEqualTo(bad.size());
            System.out.println(memory.report());
        }
    }

    /** Samples the scorer JVM's resident set (VmRSS, peak VmHWM from /proc) and reads its heap with jcmd at the end. */
    static final class MemoryProbe {
        private final long pid;
        private long maxRssKb;

        MemoryProbe(long pid) {
            this.pid = pid;
        }

        void sample() {
            maxRssKb = Math.max(maxRssKb, statusKb("VmRSS"));
        }

        private long statusKb(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                    if (line.startsWith(field + ":")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // process gone or /proc unavailable: no sample
            }
            return 0;
        }

        String report() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("scorer pid %d memory: RSS max sampled %d MB, VmHWM (peak RSS) %d MB%n", pid,
                    maxRssKb / 1024, statusKb("VmHWM") / 1024));
            try {
                Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                        String.valueOf(pid), "GC.heap_info").redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor(30, TimeUnit.SECONDS);
                sb.append("jcmd GC.heap_info:\n").append(out.strip());
            } catch (IOException | InterruptedException e) {
                sb.append("jcmd unavailable: ").append(e);
            }
            return sb.toString();
        }
    }
}
