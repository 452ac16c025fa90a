package io.rewardstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.training.ArithmeticSteps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code model train-prm}: a few steps of the tiny PRM, enough to check what it writes (quality: ProcessRewardTopologyIT). */
class ModelTrainPrmCommandTest {

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void shouldExportAServableProcessRewardModelAndRefuseToOverwriteIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("prm");
        CliRun r = run("model", "train-prm", "--size", "tiny", "--steps", "5", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("training the built-in process reward model: tiny, 5 steps");
        JsonNode o = new ObjectMapper().readTree(r.out());
        assertThat(o.get("tokenizer").asText()).isEqualTo("ids");
        assertThat(o.has("token_reward_before_error")).isTrue();
        assertThat(o.has("token_reward_after_error_wrong")).isTrue();
        ModelManifest m = ModelManifest.read(out);
        assertThat(m.vocabSize()).isEqualTo(260);
        assertThat(m.lineage()).containsKeys("task", "prm.before_error", "prm.after_error.wrong");

        // what the scorer loads: token_rewards over prompt ++ answer, reward = the last token's
        ArithmeticSteps.Answer a = ArithmeticSteps.build(3, new int[]{0, 1}, new int[]{4, 2}, new int[2]);
        int[] seq = a.sequence();
        try (RewardModel served = ModelLoader.load(out, RuntimeConfig.from(Map.of("model.warmup", "false")))) {
            ModelOutput mo = served.score(PaddedBatch.of(new int[][]{seq}, new int[]{0}, seq.length, 0));
            assertThat(mo.tokenRewards()).isNotNull();
            assertThat(mo.tokenRewards()[0]).hasSize(seq.length);
            assertThat(mo.reward()[0]).isCloseTo(mo.tokenRewards()[0][seq.length - 1], within(1e-6f));
        }

        CliRun again = run("model", "train-prm", "--size", "tiny", "--steps", "5", "--out", out.toString());
        assertThat(again.code()).isEqualTo(2);
        assertThat(again.err()).contains("already holds a model", "--force");
        CliRun bad = run("model", "train-prm", "--ops", "4", "--out", tmp.resolve("x").toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("ops must be in [1,3]");
    }
}
