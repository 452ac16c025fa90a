package io.rewardstream.it;

import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.schema.AvroDeserializer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One beta per policy on the real broker: two scorer JVMs share a 4-partition rollouts topic under the adaptive KL
 * controller. Every task of both instances sends its KL to the one controller task; the controller updates beta at
 * most once per period and every task reads it from the global store. Checked: beta really moves (several updates,
 * chained), every reward's kl_coef is one of the controller's betas, a reward never carries a beta before it was
 * published, and rewards scored within the same instant (50 ms) differ by at most ONE controller update.
 */
@ExtendWith(SharedLocalStack.class)
class SharedKlControllerIT {
    private static final int PARTITIONS = 4;
    private static final double BETA0 = 0.05;
    private static final long INSTANT_MS = 50;

    @RegisterExtension
    final ScorerDeployment scorers = new ScorerDeployment();

    @Test
    void shouldGiveEveryRewardOfOneInstantTheSameBetaWithinOneUpdateAcrossInstancesAndPartitions(LocalStack stack)
            throws Exception {
        ScorerIt.Names n = scorers.deploy(stack, "klshared", PARTITIONS, "kl", 11).names;
        String observations = n.prefix() + "-kl-observations";
        String coefficients = n.prefix() + "-kl-coefficients";
        ScorerTraffic.createTopics(stack, 1, observations, coefficients);
        Map<String, String> cfg = scorers.config;
        cfg.put("topics.kl-observations.name", observations);
        cfg.put("topics.kl-coefficients.name", coefficients);
        cfg.put("batch.max.size", "8");
        cfg.put("batch.max.delay.ms", "100");
        cfg.put("scoring.kl.controller", "adaptive");
        cfg.put("scoring.kl.coef", Double.toString(BETA0));
        cfg.put("scoring.kl.target", "0.05");
        cfg.put("scoring.kl.horizon", "200");
        cfg.put("scoring.kl.window", "20");
        cfg.put("scoring.kl.period.ms", "1000");
        List<ScorerProcess> ab = scorers.startTwoInstances(stack, PARTITIONS);
        ScorerProcess a = ab.get(0);
        ScorerProcess b = ab.get(1);

        RolloutGenerator gen = new RolloutGenerator(17, n.prefix(), 260, 128);
        List<Rollout> all = new ArrayList<>();
        AvroDeserializer<KlCoefficient> dc = new AvroDeserializer<>(KlCoefficient.class);
        dc.configure(ScorerTraffic.clientProps(stack), false);
        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             ScorerTraffic.Reader<ConsumerRecord<byte[], byte[]>> coefs = traffic.raw(coefficients,
                     r -> r.partition() + "/" + r.offset())) {
            // steady traffic until the controller has updated beta several times (the machine may be slow: bounded
            // by count and time, not by a fixed duration)
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            int batches = 0;
            while (batches < 30 || (coefs.all().size() < 4 && System.nanoTime() < deadline)) {
                List<Rollout> batch = gen.groups(6, 2);
                traffic.produce(n.rollouts(), batch);
                all.addAll(batch);
                batches++;
                coefs.poll(Duration.ofMillis(150));
            }
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofSeconds(90)))
                    .as("every rollout rewarded; missing %s", ScorerCrashIT.missing(all, rewards.ids())).isTrue();
            assertThat(metric(a)).as("instance a emitted rewards").isPositive();
            assertThat(metric(b)).as("instance b emitted rewards").isPositive();
            coefs.drain(Duration.ofSeconds(3));

            List<KlCoefficient> updates = coefs.all().stream().map(r -> dc.deserialize(coefficients, r.value()))
                    .sorted(Comparator.comparingLong(KlCoefficient::getUpdate)).toList();
            System.out.printf("%d rewards from %d partitions on 2 instances; %d controller updates: %s%n",
                    rewards.all().size(), PARTITIONS, updates.size(), updates.stream()
                            .map(u -> String.format("%d:%.5f(n=%d)", u.getUpdate(), u.getKlCoef(), u.getWindowRewards()))
                            .toList());
            assertThat(updates.size()).as("beta moved several times").isGreaterThanOrEqualTo(3);
            Map<Double, Long> updateOf = new HashMap<>();
            updateOf.put(BETA0, 0L);
            double previous = BETA0;
            long previousAt = 0;
            for (int i = 0; i < updates.size(); i++) {
                KlCoefficient u = updates.get(i);
                assertThat(u.getUpdate()).as("updates are numbered 1, 2, ... by one controller").isEqualTo(i + 1);
                assertThat(u.getPreviousKlCoef()).as("update %d chains on the previous beta", i + 1).isEqualTo(previous);
                assertThat(u.getUpdatedAt().toEpochMilli() - previousAt).as("at most one update per period")
                        .isGreaterThanOrEqualTo(900);
                previous = u.getKlCoef();
                previousAt = u.getUpdatedAt().toEpochMilli();
                updateOf.put(u.getKlCoef(), u.getUpdate());
            }

            List<Reward> sorted = rewards.all().stream()
                    .sorted(Comparator.comparingLong(r -> r.getScoredAt().toEpochMilli())).toList();
            long worstSpread = 0;
            long staleMs = 0;
            for (Reward r : sorted) {
                Long u = updateOf.get(r.getKlCoef());
                assertThat(u).as("reward %s carries beta %s, not one the controller published", r.getRolloutId(),
                        r.getKlCoef()).isNotNull();
                if (u > 0) {
                    // scored_at is the stream thread's cached clock (set at the start of its loop iteration): slack
                    assertThat(r.getScoredAt().plusSeconds(2)).as("beta used only after it was published")
                            .isAfterOrEqualTo(updates.get((int) (u - 1)).getUpdatedAt());
                }
                if (u < updates.size()) {
                    staleMs = Math.max(staleMs, r.getScoredAt().toEpochMilli()
                            - updates.get(u.intValue()).getUpdatedAt().toEpochMilli());
                }
            }
            for (int i = 0; i < sorted.size(); i++) {
                long t = sorted.get(i).getScoredAt().toEpochMilli();
                long lo = Long.MAX_VALUE;
                long hi = Long.MIN_VALUE;
                for (int j = i; j < sorted.size() && sorted.get(j).getScoredAt().toEpochMilli() - t <= INSTANT_MS; j++) {
                    long u = updateOf.get(sorted.get(j).getKlCoef());
                    lo = Math.min(lo, u);
                    hi = Math.max(hi, u);
                }
                worstSpread = Math.max(worstSpread, hi - lo);
            }
            System.out.printf("worst beta spread within %d ms: %d update(s); longest use of a superseded beta: %d ms%n",
                    INSTANT_MS, worstSpread, staleMs);
            assertThat(worstSpread).as("rewards of one instant differ by at most one controller update")
                    .isLessThanOrEqualTo(1);
        }
    }

    private static double metric(ScorerProcess p) throws Exception {
        String url = p.metricsUrl().orElseThrow(() -> new AssertionError(p + " has no metrics URL: " + p.readyText()));
        return ScorerIt.metric(url, "rewardstream_rewards_emitted_total", "");
    }
}
