package io.rewardstream.cli;

import io.rewardstream.files.FileTrees;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.ProcessRewardModels;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code rewardstream model train-prm --out DIR}: trains the built-in process reward model ({@link
 * ProcessRewardModels}) and exports it as a servable model directory ({@code model.dir}); prints a JSON summary with
 * the measured mean token rewards before and after a wrong step. Exit 0 when exported, 2 on bad options.
 */
@Command(name = "train-prm", mixinStandardHelpOptions = true,
        description = "Train the built-in process reward model (per-token rewards, the `token_rewards` output) on "
                + "step-labelled multi-step arithmetic and export it: serve it with model.dir=DIR; rollouts carry the "
                + "problem and the answer as byte ids (UTF-8 byte + 4), e.g. prompt \"2+3+1=\", response "
                + "\"2+3=5, 5+1=6\".")
final class ModelTrainPrmCommand implements Callable<Integer> {
    private static final ProcessRewardModels.Recipe DEFAULTS = ProcessRewardModels.Recipe.defaults();

    @Option(names = "--out", required = true, description = "Output model directory.")
    Path out;

    @Option(names = "--size", defaultValue = "small", description = "tiny | small | base (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--steps", description = "Optimizer steps (default: 2000).")
    Integer steps;

    @Option(names = "--lr", description = "Peak learning rate (default: 2e-3).")
    Double lr;

    @Option(names = "--answer-steps", defaultValue = "3", description = "Steps per answer, 2..8 (default: ${DEFAULT-VALUE}).")
    int answerSteps;

    @Option(names = "--ops", defaultValue = "1", description = "Operations: 1 = '+', 2 = '+','-', 3 = '+','-','*' (default: ${DEFAULT-VALUE}; "
            + "with '-' the default budget does not learn to spot wrong steps).")
    int ops;

    @Option(names = "--max-operand", defaultValue = "3", description = "Operands 1..N (default: ${DEFAULT-VALUE}; 4 leaves the last step unlearnt in 2000 steps).")
    int maxOperand;

    @Option(names = "--seed", defaultValue = "11", description = "Initialisation and data seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--force", description = "Replace an existing output directory.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        return ModelCommand.guarded(this::doCall);
    }

    private Integer doCall() throws Exception {
        ProcessRewardModels.Recipe recipe = new ProcessRewardModels.Recipe(ModelSize.parse(size),
                steps != null ? steps : DEFAULTS.steps(), lr != null ? lr : DEFAULTS.learningRate(), answerSteps, ops,
                maxOperand, seed);
        if (Files.exists(out.resolve("saved_model.pb"))) {
            if (!force) {
                throw new IllegalArgumentException(out + " already holds a model (use --force to replace it)");
            }
            FileTrees.deleteTree(out);
        }
        System.err.println("training the built-in process reward model: " + recipe);
        ProcessRewardModels.Built b = ProcessRewardModels.build(recipe, out, true);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("model", b.manifest().modelVersion());
        summary.put("dir", out.toString());
        summary.put("tokenizer", b.manifest().tokenizer());
        summary.put("train_seconds", Math.round(b.seconds() * 10) / 10.0);
        summary.put("loss_first", round(b.firstLoss()));
        summary.put("loss_last", round(b.lastLoss()));
        summary.put("token_reward_before_error", round(b.measured().beforeError()));
        summary.put("token_reward_after_error_right", round(b.measured().afterErrorRight()));
        summary.put("token_reward_after_error_wrong", round(b.measured().afterErrorWrong()));
        System.out.println(ModelCommand.JSON.writeValueAsString(summary));
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
