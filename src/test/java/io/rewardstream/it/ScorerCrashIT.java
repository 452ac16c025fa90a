package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scorer in its own JVM is SIGKILLed twice while rollouts sit in its change-logged {@code rollout-buffer}
 * (large batch size, long max delay: consumed and committed, not yet scored) and restarted with the same
 * application.id each time: in the end every rollout is rewarded exactly once in read_committed output.
 */
@ExtendWith(SharedLocalStack.class)
class ScorerCrashIT {
    private static final Duration READY = ScorerDeployment.READY;
    private static final long MAX_DELAY_MS = 15_000;

    @RegisterExtension
    final ScorerDeployment scorers = new ScorerDeployment();

    @Test
    void shouldRewardEveryRolloutExactlyOnceAcrossRepeatedSigkills(LocalStack stack) throws Exception {
        ScorerIt.Names n = scorers.deploy(stack, "crash", 2, "crash", 7).names;
        Map<String, String> cfg = scorers.config;
        // nothing flushes by size or tokens: records stay buffered until MAX_DELAY_MS after their arrival
        cfg.put("batch.max.size", "100000");
        cfg.put("batch.max.tokens", "100000000");
        cfg.put("batch.max.delay.ms", Long.toString(MAX_DELAY_MS));
        cfg.put("batch.idle.flush.ms", "0");   // no early flush of a quiet task: the kill must find them buffered
        ScorerProcess scorer = scorers.process("crash-scorer", cfg);
        RolloutGenerator gen = new RolloutGenerator(42, n.prefix(), 260, 128);
        List<Rollout> all = new ArrayList<>();

        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards())) {
            List<Rollout> previous = List.of();
            for (int round = 1; round <= 2; round++) {
                scorer.start().awaitReady(READY);
                // what was buffered at the last kill comes back from the changelog and is scored after restart
                assertThat(rewards.awaitIds(ids(previous), Duration.ofSeconds(MAX_DELAY_MS / 1000 + 60)))
                        .as("round %d: rollouts buffered at the kill rewarded after restart; missing %s", round,
                                missing(previous, rewards.ids()))
                        .isTrue();
                List<Rollout> batch = gen.groups(12, 4);
                long t0 = System.currentTimeMillis();
                traffic.produce(n.rollouts(), batch);
                all.addAll(batch);
                ScorerIt.await("the scorer to commit every rollouts offset (round " + round + ")",
                        Duration.ofSeconds(60), () -> consumedAll(stack, n));
                rewards.poll(Duration.ofMillis(300));
                long buffered = System.currentTimeMillis() - t0;
                assertThat(buffered).as("kill must come before the max delay flushes the buffer")
                        .isLessThan(MAX_DELAY_MS - 2_000);
                assertThat(rewards.ids()).as("round %d: consumed and committed but not yet scored", round)
                        .doesNotContainAnyElementsOf(ids(batch));
                scorer.kill();
                previous = batch;
            }
            scorer.start().awaitReady(READY);
            assertThat(rewards.awaitIds(ids(all), Duration.ofSeconds(MAX_DELAY_MS / 1000 + 60)))
                    .as("every rollout rewarded; missing %s\n%s", missing(all, rewards.ids()), scorer.tail(40))
                    .isTrue();
            rewards.drain(Duration.ofSeconds(3));
            assertThat(rewards.duplicates()).as("rollouts rewarded more than once").isEmpty();
            assertThat(rewards.ids()).containsExactlyInAnyOrderElementsOf(ids(all));
            assertThat(rewards.all()).allSatisfy(r -> assertThat(r.getModelVersion()).isEqualTo("crash:1"));
            assertThat(scorer.isAlive()).isTrue();
            // the JVM exits with 128 + SIGTERM once the shutdown hook (ScorerApp.close) has run
            assertThat(scorer.stop(Duration.ofSeconds(60))).as("exit on SIGTERM").isIn(0, 143);
        }
    }

    private static boolean consumedAll(LocalStack stack, ScorerIt.Names n) {
        try {
            long[] ce = ScorerTraffic.committedAndEnd(stack, n.appId(), n.rollouts());
            return ce[1] > 0 && ce[0] == ce[1];
        } catch (Exception e) {
            return false;
        }
    }

    static Set<String> ids(List<Rollout> rollouts) {
        return rollouts.stream().map(r -> r.getRolloutId().toString()).collect(Collectors.toSet());
    }

    static Set<String> missing(List<Rollout> expected, Set<String> seen) {
        return expected.stream().map(r -> r.getRolloutId().toString()).filter(id -> !seen.contains(id))
                .limit(20).collect(Collectors.toSet());
    }
}
