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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two scorer JVMs with one application.id split the rollouts partitions (checked on the consumer group through
 * Admin); one is stopped with SIGTERM while rollouts keep coming; the other takes over its partitions and nothing is
 * lost or duplicated.
 */
@ExtendWith(SharedLocalStack.class)
class ScorerScaleOutIT {
    private static final int PARTITIONS = 4;

    @RegisterExtension
    final ScorerDeployment scorers = new ScorerDeployment();

    @Test
    void shouldSplitPartitionsAndLoseNothingWhenOneInstanceStops(LocalStack stack) throws Exception {
        ScorerIt.Names n = scorers.deploy(stack, "scale", PARTITIONS, "scale", 11).names;
        scorers.config.put("batch.max.size", "16");
        scorers.config.put("batch.max.delay.ms", "200");
        List<ScorerProcess> ab = scorers.startTwoInstances(stack, PARTITIONS);
        ScorerProcess a = ab.get(0);
        ScorerProcess b = ab.get(1);
        Map<String, Integer> split = ScorerIt.assignments(stack, n.appId(), n.rollouts());
        System.out.println("partition split between the two instances: " + split);

        RolloutGenerator gen = new RolloutGenerator(7, n.prefix(), 260, 128);
        List<Rollout> all = new ArrayList<>();
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards())) {
            for (int i = 0; i < 6; i++) {
                List<Rollout> batch = gen.groups(5, 2);
                traffic.produce(n.rollouts(), batch);
                all.addAll(batch);
                Thread.sleep(200);
            }
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofSeconds(90)))
                    .as("both instances score; missing %s", ScorerCrashIT.missing(all, rewards.ids())).isTrue();
            assertThat(metricOrZero(a)).as("instance a emitted rewards").isPositive();
            assertThat(metricOrZero(b)).as("instance b emitted rewards").isPositive();

            // stop b mid-stream: load continues while it leaves the group and a takes over
            java.util.concurrent.atomic.AtomicInteger exit = new java.util.concurrent.atomic.AtomicInteger(-2);
            Thread stopper = new Thread(() -> {
                try {
                    exit.set(b.stop(Duration.ofSeconds(60)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "stop-b");
            stopper.start();
            for (int i = 0; i < 12; i++) {
                List<Rollout> batch = gen.groups(5, 2);
                traffic.produce(n.rollouts(), batch);
                all.addAll(batch);
                Thread.sleep(250);
            }
            stopper.join(90_000);
            assertThat(b.isAlive()).as("b stopped").isFalse();
            // 143 = 128 + SIGTERM after the shutdown hook (ScorerApp.close with LEAVE_GROUP); -1 = had to be SIGKILLed
            assertThat(exit.get()).as("b exits on SIGTERM within 60 s").isIn(0, 143);

            assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofSeconds(120)))
                    .as("every rollout rewarded after b left; missing %s\n%s",
                            ScorerCrashIT.missing(all, rewards.ids()), a.tail(40)).isTrue();
            rewards.drain(Duration.ofSeconds(3));
            assertThat(rewards.duplicates()).as("rollouts rewarded more than once").isEmpty();
            assertThat(rewards.ids()).containsExactlyInAnyOrderElementsOf(ScorerCrashIT.ids(all));
            Map<String, Integer> after = ScorerIt.assignments(stack, n.appId(), n.rollouts());
            assertThat(after).as("a owns every partition after b left").hasSize(1).containsValue(PARTITIONS);
            assertThat(a.isAlive()).isTrue();
        }
    }

    private static double metricOrZero(ScorerProcess p) throws Exception {
        String url = p.metricsUrl().orElseThrow(() -> new AssertionError(p + " has no metrics URL: " + p.readyText()));
        return ScorerIt.metric(url, "rewardstream_rewards_emitted_total", "");
    }
}
