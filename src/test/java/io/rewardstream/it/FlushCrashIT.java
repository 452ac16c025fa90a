package io.rewardstream.it;

import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.topology.DeliveryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exactly once at the worst moment: the scorer (its own JVM) is SIGKILLed while a flush has SENT its rewards and
 * group advantages inside the open transaction and has not committed (chaos knob {@code
 * chaos.flush.pause.before.commit.ms}). A read_uncommitted reader proves the records reached the broker before the
 * kill; after a restart without the knob, read_committed readers see every rollout rewarded exactly once (N in = N
 * out) and every group advantage exactly once.
 */
@ExtendWith(SharedLocalStack.class)
class FlushCrashIT {
    private static final Duration READY = ScorerDeployment.READY;
    private static final int PAUSE_MS = 20_000;

    @RegisterExtension
    final ScorerDeployment scorers = new ScorerDeployment();

    @Test
    void shouldRewardEveryRolloutExactlyOnceWhenKilledBetweenAFlushsSendsAndItsCommit(LocalStack stack)
            throws Exception {
        ScorerIt.Names n = scorers.deploy(stack, "flushcrash", 2, "flushcrash", 7).names;
        Map<String, String> cfg = scorers.config;
        cfg.put("batch.max.size", "8");
        cfg.put("batch.max.delay.ms", "200");
        cfg.put("group.timeout.ms", "60000");   // advantages only from complete groups: exact counts
        // the open transaction must outlive the pause (else the broker aborts it before the kill)
        cfg.put("transaction.timeout.ms", Integer.toString(PAUSE_MS + 15_000));
        cfg.put(DeliveryConfig.CHAOS_PAUSE_MS, Integer.toString(PAUSE_MS));
        ScorerProcess chaotic = scorers.process("flushcrash-scorer", cfg);
        List<Rollout> all = new RolloutGenerator(43, n.prefix(), 260, 128).groups(16, 4);

        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> committed = traffic.rewards(n.rewards());
             ScorerTraffic.Reader<Reward> uncommitted = traffic.rewards(stack.bootstrapServers(), "read_uncommitted",
                     n.rewards());
             io.rewardstream.schema.AvroDeserializer<GroupAdvantage> gad =
                     new io.rewardstream.schema.AvroDeserializer<>(GroupAdvantage.class);
             ScorerTraffic.Reader<GroupAdvantage> advantages = new ScorerTraffic.Reader<>(stack.bootstrapServers(),
                     "read_committed", n.advantages(), r -> gad.deserialize(r.topic(), r.value()),
                     g -> g.getRolloutId())) {
            gad.configure(ScorerTraffic.clientProps(stack), false);
            chaotic.start().awaitReady(READY);
            traffic.produce(n.rollouts(), all);
            ScorerIt.await("a flush paused between its sends and its commit", Duration.ofSeconds(90),
                    () -> chaotic.logText().contains("chaos: flush of"));
            ScorerIt.await("the paused flush's rewards on the broker (read_uncommitted)", Duration.ofSeconds(10),
                    () -> !uncommitted.poll(Duration.ofMillis(200)).isEmpty());
            int sentBeforeKill = uncommitted.all().size();
            chaotic.kill();
            assertThat(committed.poll(Duration.ofSeconds(1))).as("nothing of the paused flush is committed")
                    .isEmpty();

            Map<String, String> calm = new java.util.HashMap<>(cfg);
            calm.put(DeliveryConfig.CHAOS_PAUSE_MS, "0");
            ScorerProcess restarted = scorers.process("flushcrash-scorer", calm);
            restarted.start().awaitReady(READY);

            assertThat(committed.awaitIds(CrashIds.ids(all), Duration.ofSeconds(150)))
                    .as("every rollout rewarded; missing %s\n%s", CrashIds.missing(all, committed.ids()),
                            restarted.tail(40))
                    .isTrue();
            committed.drain(Duration.ofSeconds(3));
            assertThat(committed.duplicates()).as("rewarded more than once").isEmpty();
            assertThat(committed.all()).hasSize(all.size());
            // group advantages: one per member of a sized group (rollouts without group_size have no group stage)
            List<Rollout> grouped = all.stream().filter(r -> r.getGroupSize() != null).toList();
            assertThat(grouped).isNotEmpty();
            assertThat(advantages.awaitIds(CrashIds.ids(grouped), Duration.ofSeconds(60))).isTrue();
            advantages.drain(Duration.ofSeconds(2));
            assertThat(advantages.duplicates()).as("group advantages emitted twice").isEmpty();
            assertThat(advantages.ids()).containsExactlyInAnyOrderElementsOf(CrashIds.ids(grouped));
            // the killed flush's sends were real: they are in the log, aborted, and read_uncommitted sees them again
            uncommitted.drain(Duration.ofSeconds(2));
            assertThat(sentBeforeKill).isPositive();
            assertThat(uncommitted.all().size()).isGreaterThan(all.size());
            assertThat(restarted.stop(Duration.ofSeconds(60))).as("exit on SIGTERM").isIn(0, 143);
        }
    }

    /** Id helpers shared with {@link ScorerCrashIT}. */
    static final class CrashIds {
        static java.util.Set<String> ids(List<Rollout> rs) {
            return ScorerCrashIT.ids(rs);
        }

        static java.util.Set<String> missing(List<Rollout> rs, java.util.Set<String> seen) {
            return ScorerCrashIT.missing(rs, seen);
        }
    }
}
