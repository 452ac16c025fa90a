package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class ProcessRewardTrainerTest {

    @Test
    void shouldTrainOnTheAnswerTokensOfPromptPlusAnswerRows() {
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(10).withProgress(false);
        try (BuiltinModel m = BuiltinModel.createWithProcessHead(
                ModelConfig.ofTokenIds(ModelSize.TINY, ByteTokenizer.VOCAB_SIZE), tc)) {
            ProcessRewardTrainer trainer = new ProcessRewardTrainer(m);
            List<ArithmeticSteps.Answer> batch = List.of(
                    ArithmeticSteps.build(3, new int[]{0, 0, 0}, new int[]{4, 2, 1}, new int[3]),
                    ArithmeticSteps.build(2, new int[]{0, 2}, new int[]{1, 3}, new int[]{0, 2}));
            float[][] served = trainer.tokenRewards(batch);
            double answerOnly = 0;
            int n = 0;
            double withPrompt = 0;
            int all = 0;
            for (int r = 0; r < batch.size(); r++) {
                ArithmeticSteps.Answer a = batch.get(r);
                for (int t = 0; t < a.sequence().length; t++) {
                    double q = (served[r][t] + 1) / 2;   // served 2*sigmoid(z)-1
                    boolean answer = t >= a.promptIds().length;
                    double y = answer ? a.labels()[t - a.promptIds().length] : 1;
                    double bce = -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
                    withPrompt += bce;
                    all++;
                    if (answer) {
                        answerOnly += bce;
                        n++;
                    }
                }
            }
            // step() returns the loss before its update: the mean BCE over the answers' tokens, not the prompts'
            double loss = trainer.step(batch);
            assertThat(loss).isCloseTo(answerOnly / n, within(1e-4));
            assertThat(Math.abs(withPrompt / all - answerOnly / n)).isGreaterThan(1e-3);
            float[][] after = trainer.tokenRewards(batch);
            assertThat(after[0][0]).as("the update changed the model").isNotEqualTo(served[0][0]);
        }
    }

    @Test
    void shouldRefuseAModelWithoutAProcessHead() {
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY),
                TrainConfig.defaults(ModelSize.TINY).withProgress(false))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ProcessRewardTrainer(m))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no process head");
        }
    }
}
