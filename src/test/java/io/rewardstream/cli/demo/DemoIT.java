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
 * The demo end to end on the real embedded broker and registry with the tiny model: every rollout gets a reward, a
 * retrained release is hot-swapped in mid-run, and it tells right from wrong answers of the shifted task better
 * than the model it replaced. The tiny model is cached under target/ so a second run skips its training.
 */
class DemoIT {

    @Test
    void shouldScoreEveryRolloutAndImproveOnTheShiftedTaskAfterTheRelease(@TempDir Path out) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        DemoRunner.Options opts = new DemoRunner.Options(600, ModelSize.TINY, out, Path.of("target", "demo-it-cache"),
                4, 0.5, 2000, DemoRunner.Options.defaultRetrainSteps(ModelSize.TINY), 256, 1, true,
                Duration.ofMinutes(10));
        DemoRunner.Result result = new DemoRunner(opts, new PrintStream(err, true, StandardCharsets.UTF_8)).run();

        String json = JsonMapper.builder().build().writeValueAsString(result.summary().toJson());
        JsonNode j = JsonMapper.builder().build().readTree(json);
        assertThat(j.get("rollouts").asLong()).isEqualTo(600);
        assertThat(j.get("rewards").asLong()).isEqualTo(j.get("rollouts").asLong());
        assertThat(j.get("dead_letters").asLong()).isZero();
        assertThat(j.get("model_versions")).hasSize(2);
        assertThat(j.get("model_versions").get(1).asText()).isEqualTo("builtin-tiny:2");
        System.out.printf("DemoIT: auc_before %.3f auc_after %.3f%n", j.get("auc_before").asDouble(),
                j.get("auc_after").asDouble());
        assertThat(j.get("auc_after").asDouble()).isGreaterThan(j.get("auc_before").asDouble());
        assertThat(j.get("throughput_per_s").asDouble()).isPositive();
        assertThat(j.get("p99_latency_ms").asDouble()).isGreaterThanOrEqualTo(j.get("p50_latency_ms").asDouble());
        assertThat(j.get("kl_beta_over_time")).hasSize(10);

        assertThat(result.report()).exists();
        for (String png : new String[]{DemoReport.REWARDS_PNG, DemoReport.KL_PNG, DemoReport.LATENCY_PNG}) {
            assertThat(Files.size(out.resolve(png))).isGreaterThan(1000);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("task shift").contains("rewards out 600");
    }
}
