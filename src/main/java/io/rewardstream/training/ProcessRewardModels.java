package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelManifest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * Builds the servable built-in process reward model: a {@link BuiltinModel#createWithProcessHead} over the byte ids
 * (tokenizer {@code ids}, vocabulary {@value ByteTokenizer#VOCAB_SIZE}: a rollout whose prompt and response token
 * ids are the UTF-8 bytes + {@link ByteTokenizer#OFFSET} is scored as prompt ++ response), trained by {@link
 * ProcessRewardTrainer} on {@link ArithmeticSteps} problems, measured on fresh problems and exported with the
 * {@code token_rewards} output. Used by {@code rewardstream model train-prm} and the process-reward ITs. Stateless.
 */
public final class ProcessRewardModels {
    private ProcessRewardModels() {
    }

    /**
     * What to train.
     *
     * @param answerSteps steps per answer (the measured wrong step is the middle one)
     * @param opCount     the first opCount of '+', '-', '*'
     * @param maxOperand  operands 1..maxOperand
     */
    public record Recipe(ModelSize size, int steps, double learningRate, int answerSteps, int opCount,
                         int maxOperand, long seed) {
        public Recipe {
            if (steps < 1) {
                throw new IllegalArgumentException("prm: steps must be >= 1, got " + steps);
            }
            if (!(learningRate > 0)) {
                throw new IllegalArgumentException("prm: learning rate must be > 0, got " + learningRate);
            }
            if (answerSteps < 2 || answerSteps > 8) {
                throw new IllegalArgumentException("prm: answer steps must be in [2,8], got " + answerSteps);
            }
            if (opCount < 1 || opCount > 3) {
                throw new IllegalArgumentException("prm: ops must be in [1,3] (+, -, *), got " + opCount);
            }
            if (maxOperand < 1 || maxOperand > 99) {
                throw new IllegalArgumentException("prm: max operand must be in [1,99], got " + maxOperand);
            }
        }

        /**
         * SMALL, 2000 steps at 2e-3, three-step sums with operands 1..3, seed 11 (~40 s on 2 shared cores). Measured
         * mean token reward from a wrong step on, right vs wrong answer: 0.99/0.98/0.95 vs -1.00 for a wrong step
         * 0/1/2. That space is small (81 problems), so training covers it: the recipe shows the serving path, not
         * arithmetic that generalizes. Operands 1..4 (two-digit sums up to 16) leave the last step unlearnt in the
         * same budget (0.23 vs 0.02), and with '-' as well (negative results) no step separates (0.34 vs 0.27 after
         * 4000 steps).
         */
        public static Recipe defaults() {
            return new Recipe(ModelSize.SMALL, 2000, 2e-3, 3, 1, 3, 11);
        }

        public Recipe withSteps(int n) {
            return new Recipe(size, n, learningRate, answerSteps, opCount, maxOperand, seed);
        }

        TrainConfig trainConfig(boolean progress) {
            return TrainConfig.defaults(size).withSteps(steps).withLearningRate(learningRate).withSeed(seed)
                    .withProgress(progress);
        }

        @Override
        public String toString() {
            return String.format("%s, %d steps, lr %.1e, %d-step answers, ops %s, operands 1..%d, seed %d",
                    size.id(), steps, learningRate, answerSteps, "+-*".substring(0, opCount), maxOperand, seed);
        }
    }

    /**
     * @param manifest    the exported model's manifest
     * @param firstLoss   mean loss of the first 20 batches
     * @param lastLoss    mean loss of the last 20 batches
     * @param seconds     training time
     * @param measured    mean token rewards on 100 fresh problems with the middle step wrong
     */
    public record Built(ModelManifest manifest, double firstLoss, double lastLoss, double seconds,
                        ProcessRewardTrainer.StepRewards measured) {
    }

    /**
     * Trains the model of {@code recipe}, measures it and exports it into {@code out} (created; must not hold a
     * SavedModel yet).
     *
     * @param progress a progress bar on stderr while training
     * @throws IOException when the directory cannot be written
     */
    public static Built build(Recipe recipe, Path out, boolean progress) throws IOException {
        ModelConfig cfg = ModelConfig.ofTokenIds(recipe.size(), ByteTokenizer.VOCAB_SIZE);
        long t0 = System.nanoTime();
        try (BuiltinModel m = BuiltinModel.createWithProcessHead(cfg, recipe.trainConfig(progress))) {
            ProcessRewardTrainer trainer = new ProcessRewardTrainer(m);
            List<Double> losses = trainer.train(recipe.steps(), recipe.answerSteps(), recipe.opCount(),
                    recipe.maxOperand(), new Random(recipe.seed()));
            double seconds = (System.nanoTime() - t0) / 1e9;
            int k = Math.min(20, losses.size());
            double first = losses.subList(0, k).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(losses.size() - k, losses.size()).stream().mapToDouble(Double::doubleValue)
                    .average().orElseThrow();
            // fresh problems: a different stream from the training one
            ProcessRewardTrainer.StepRewards measured = trainer.measure(100, recipe.answerSteps(),
                    recipe.answerSteps() / 2, recipe.opCount(), recipe.maxOperand(), new Random(recipe.seed() + 1));
            m.withLineage("task", "process rewards: arithmetic steps (" + recipe + ")")
                    .withLineage("prm.before_error", String.format("%.3f", measured.beforeError()))
                    .withLineage("prm.after_error.right", String.format("%.3f", measured.afterErrorRight()))
                    .withLineage("prm.after_error.wrong", String.format("%.3f", measured.afterErrorWrong()));
            ModelManifest manifest = m.export(out, List.of());
            return new Built(manifest, first, last, seconds, measured);
        }
    }
}
