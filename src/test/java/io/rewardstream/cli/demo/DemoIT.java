package io.rewardstream.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.training.ModelSize;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's default story end to end on the real embedded broker and registry with the tiny model (an ensemble of 4
 * heads): every rollout gets a reward; reward model v1 pays for filler, the drifted policy's exploit (wrong answers in
 * filler) earns a high reward; the pairs and ranked lists that expose the flaw lead to a release the scorer
 * hot-swaps to mid-run; under it the exploit's reward falls and the drifted policy's correct-vs-wrong AUC rises. The
 * tiny model is cached under target/ so a second run skips its training.
 */
class DemoIT {

    @Test
    void shouldRepairTheRewardHackAfterTheRelease(@TempDir Path out) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        DemoRunner.Options opts = new DemoRunner.Options(600, ModelSize.TINY, out, Path.of("target", "demo-it-cache"),
                4, 0.5, 2000, DemoRunner.Options.defaultRetrainSteps(ModelSize.TINY), 256, 1, true,
                Duration.ofMinutes(10), ModelCache.Scenario.REWARD_HACKING, 4, 300, DemoRunner.Options.DEFAULT_RETRAIN_LR);
        DemoRunner.Result result = new DemoRunner(opts, new PrintStream(err, true, StandardCharsets.UTF_8)).run();

        String json = JsonMapper.builder().build().writeValueAsString(result.summary().toJson());
        JsonNode j = JsonMapper.builder().build().readTree(json);
        assertThat(j.get("rollouts").asLong()).isEqualTo(600);
        assertThat(j.get("rewards").asLong()).isEqualTo(j.get("rollouts").asLong());
        assertThat(j.get("dead_letters").asLong()).isZero();
        assertThat(j.get("model_versions")).hasSize(2);
        assertThat(j.get("model_versions").get(1).asText()).isEqualTo("builtin-tiny:2");
        System.out.println("DemoIT: " + json);
        assertThat(j.get("scenario").asText()).isEqualTo("reward-hacking");
        // the hack pays under v1: the exploit earns more than the drifted policy's wrong answers on average
        assertThat(j.get("exploit_reward_before").asDouble())
                .isGreaterThan(j.get("shifted_before").get("mean_reward_wrong").asDouble());
        // ... and stops paying under v2
        assertThat(j.get("exploit_reward_after").asDouble()).isLessThan(j.get("exploit_reward_before").asDouble());
        assertThat(j.get("exploit_reward_after").asDouble())
                .isLessThan(j.get("shifted_after").get("mean_reward_correct").asDouble());
        assertThat(j.get("auc_after").asDouble()).isGreaterThan(j.get("auc_before").asDouble());
        // the original task is measured after the release too (probe rollouts of the pre-drift policy)
        assertThat(j.get("original_task_after").get("n").asInt()).isPositive();
        assertThat(j.get("original_auc_before").isNumber()).isTrue();
        assertThat(j.get("original_auc_after").isNumber()).isTrue();
        assertThat(j.has("uncertainty_in_distribution")).isTrue();
        assertThat(j.has("uncertainty_drifted")).isTrue();
        assertThat(j.get("throughput_per_s").asDouble()).isPositive();
        assertThat(j.get("p99_latency_ms").asDouble()).isGreaterThanOrEqualTo(j.get("p50_latency_ms").asDouble());
        assertThat(j.get("kl_beta_over_time")).hasSize(10);

        assertThat(result.report()).exists();
        for (String png : new String[]{DemoReport.HACK_PNG, DemoReport.REWARDS_PNG, DemoReport.KL_PNG,
                DemoReport.LATENCY_PNG}) {
            assertThat(Files.size(out.resolve(png))).isGreaterThan(1000);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("drifts towards what reward model v1 over-rewards").contains("rewards out 600");
        // the live monitors were sampled from the scorer and plotted: reward mean for both model versions
        String monitors = Files.readString(out.resolve(DemoReport.MONITORS_CSV));
        assertThat(monitors).contains("rewardstream.monitor.reward.mean").contains("builtin-tiny:1")
                .contains("builtin-tiny:2").contains("rewardstream.monitor.uncertainty.mean");
        assertThat(Files.size(out.resolve("monitor-reward-mean.png"))).isGreaterThan(1000);
    }
}
