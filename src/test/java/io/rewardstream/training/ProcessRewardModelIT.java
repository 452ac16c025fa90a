package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The built-in process reward model end to end: trained on {@link ArithmeticSteps} answers, exported with a
 * {@code token_rewards} output and served by the scorer's {@link ModelLoader} (the same path the topology uses).
 * No broker: an IT because training the SMALL model takes ~35 s on the shared 2-core CI machine.
 */
class ProcessRewardModelIT {

    @Test
    void shouldServeTokenRewardsThatDropFromTheWrongStepOn(@TempDir Path tmp) throws Exception {
        ModelConfig cfg = ModelConfig.ofTokenIds(ModelSize.SMALL, ByteTokenizer.VOCAB_SIZE);
        int steps = Integer.getInteger("prm.steps", 2000);
        int ops = 2;
        int maxOperand = 4;
        TrainConfig tc = TrainConfig.defaults(ModelSize.SMALL).withSteps(steps).withLearningRate(2e-3).withProgress(false);
        Path dir = tmp.resolve("prm");
        long t0 = System.nanoTime();
        try (BuiltinModel m = BuiltinModel.createWithProcessHead(cfg, tc)) {
            List<Double> losses = new ProcessRewardTrainer(m).train(steps, 3, ops, maxOperand, new Random(11));
            double first = losses.subList(0, 20).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(steps - 20, steps).stream().mapToDouble(Double::doubleValue).average()
                    .orElseThrow();
            System.out.printf("PRM loss: first 20 steps %.3f, last 20 %.3f%n", first, last);
            assertThat(last).as("per-token BCE falls").isLessThan(first);
            m.export(dir);
        }
        System.out.printf("PRM: %d steps trained in %.1f s%n", steps, (System.nanoTime() - t0) / 1e9);
        assertThat(ModelManifest.read(dir).tokenizer()).isEqualTo("ids");

        RuntimeConfig rt = RuntimeConfig.from(Map.of("model.warmup", "false", "model.intra.op.threads", "1",
                "model.inter.op.threads", "1"));
        Random rnd = new Random(99);
        double before = 0;
        double afterOk = 0;
        double afterBad = 0;
        double maxBeforeDiff = 0;
        int n = 40;
        try (SavedModelRewardModel served = ModelLoader.load(dir, rt)) {
            for (int i = 0; i < n; i++) {
                // the same answer right and with step 2 (index 1) wrong
                int start = 1 + rnd.nextInt(maxOperand);
                int[] op = {rnd.nextInt(ops), rnd.nextInt(ops), rnd.nextInt(ops)};
                int[] rhs = {1 + rnd.nextInt(maxOperand), 1 + rnd.nextInt(maxOperand), 1 + rnd.nextInt(maxOperand)};
                ArithmeticSteps.Answer ok = ArithmeticSteps.build(start, op, rhs, new int[3]);
                ArithmeticSteps.Answer bad = ArithmeticSteps.build(start, op, rhs,
                        new int[]{0, rnd.nextBoolean() ? 2 : -2, 0});
                int len = Math.max(ok.ids().length, bad.ids().length);
                ModelOutput out = served.score(PaddedBatch.of(new int[][]{ok.ids(), bad.ids()}, new int[]{0, 1},
                        len, ByteTokenizer.PAD));
                float[][] tr = out.tokenRewards();
                assertThat(tr).as("token_rewards served").isNotNull();
                // the first token that differs: the wrong result's first digit or its sign
                int err = 0;
                while (ok.ids()[err] == bad.ids()[err]) {
                    err++;
                }
                for (int t = 0; t < err; t++) {
                    maxBeforeDiff = Math.max(maxBeforeDiff, Math.abs(tr[0][t] - tr[1][t]));
                    before += tr[0][t] / err;
                }
                int common = Math.min(ok.ids().length, bad.ids().length);
                double sOk = 0;
                double sBad = 0;
                for (int t = err; t < common; t++) {
                    sOk += tr[0][t];
                    sBad += tr[1][t];
                }
                afterOk += sOk / (common - err);
                afterBad += sBad / (common - err);
            }
        }
        before /= n;
        afterOk /= n;
        afterBad /= n;
        System.out.printf("PRM token rewards (2p-1): before error %.3f | after error: correct %.3f, wrong %.3f | "
                + "max |diff| before error %.2e%n", before, afterOk, afterBad, maxBeforeDiff);
        // causal backbone: identical prefixes give the same rewards
        assertThat(maxBeforeDiff).isLessThan(1e-4);
        assertThat(afterBad).as("wrong step lowers the rewards from there on").isLessThan(afterOk - 0.15);
    }
}
