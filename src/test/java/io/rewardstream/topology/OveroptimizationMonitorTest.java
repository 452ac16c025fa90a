package io.rewardstream.topology;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class OveroptimizationMonitorTest {

    @Test
    void shouldExposeSlidingWindowGaugesPerPolicyAndModelIncludingNegativeRewards() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        AtomicLong now = new AtomicLong(1_000);
        OveroptimizationMonitor m = new OveroptimizationMonitor(registry, 10_000, 100, now::get);
        m.reward("step-1", "rm:1", -2.0, 1.0, 10, 0.25);
        m.reward("step-1", "rm:1", -4.0, 3.0, 30, 0.75);
        m.reward("step-2", "rm:2", 5.0, 0.5, 12, null);
        m.deadLetter();

        String scrape = registry.scrape();
        assertThat(scrape).contains("rewardstream_monitor_reward_mean{model_version=\"rm:1\",policy_version=\"step-1\"} -3.0")
                .contains("rewardstream_monitor_reward_std{model_version=\"rm:1\",policy_version=\"step-1\"} 1.0")
                .contains("rewardstream_monitor_kl_mean{model_version=\"rm:1\",policy_version=\"step-1\"} 2.0")
                .contains("rewardstream_monitor_length_reward_correlation{model_version=\"rm:1\",policy_version=\"step-1\"} -1.0")
                .contains("rewardstream_monitor_uncertainty_mean{model_version=\"rm:1\",policy_version=\"step-1\"} 0.5")
                .contains("rewardstream_monitor_window_rewards{model_version=\"rm:2\",policy_version=\"step-2\"} 1.0")
                .contains("rewardstream_monitor_reward_mean{model_version=\"rm:2\",policy_version=\"step-2\"} 5.0")
                .contains("rewardstream_monitor_dead_letter_ratio 0.25");

        now.set(20_000); // both pairs idle for longer than the window: the next reward sweeps their gauges away
        m.reward("step-3", "rm:2", 1.0, 0.0, 5, null);
        assertThat(registry.scrape()).doesNotContain("policy_version=\"step-1\"").doesNotContain("policy_version=\"step-2\"")
                .contains("rewardstream_monitor_reward_mean{model_version=\"rm:2\",policy_version=\"step-3\"} 1.0");
        registry.close();
    }
}
