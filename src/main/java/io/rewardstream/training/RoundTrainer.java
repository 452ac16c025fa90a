package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Trains one retraining round: fine-tunes the current model on a mix of new and older pairs and evaluates
 * the current model and the candidate on the same held-out pairs. Implementations say whether they are
 * thread-safe; the job calls one round at a time.
 */
public interface RoundTrainer {

    /**
     * Inputs of a round.
     *
     * @param currentDir exported model to start from (read only)
     * @param fresh      new training pairs (never held-out ones)
     * @param old        older training pairs to replay (never held-out ones)
     * @param heldOut    evaluation pairs, never trained on (including the implied pairs of held-out rankings)
     * @param mix        fraction of each batch drawn from {@code old}
     * @param summary    extra lines for the training report (annotator agreement, offsets, ...)
     * @param freshRanked new training rankings (Plackett-Luce; never split into pairs for training)
     * @param oldRanked   older training rankings to replay
     */
    record Input(Path currentDir, List<PreferenceExample> fresh, List<PreferenceExample> old,
                 List<PreferenceExample> heldOut, int steps, int batchSize, double mix, double learningRate,
                 long seed, Map<String, ?> summary, List<RankedExample> freshRanked, List<RankedExample> oldRanked) {
        public Input {
            fresh = List.copyOf(fresh);
            old = List.copyOf(old);
            heldOut = List.copyOf(heldOut);
            summary = Map.copyOf(summary);
            freshRanked = List.copyOf(freshRanked);
            oldRanked = List.copyOf(oldRanked);
        }

        /** Pairs only. */
        public Input(Path currentDir, List<PreferenceExample> fresh, List<PreferenceExample> old,
                     List<PreferenceExample> heldOut, int steps, int batchSize, double mix, double learningRate,
                     long seed, Map<String, ?> summary) {
            this(currentDir, fresh, old, heldOut, steps, batchSize, mix, learningRate, seed, summary, List.of(),
                    List.of());
        }

        /** Any training rankings at all. */
        public boolean hasRankings() {
            return !freshRanked.isEmpty() || !oldRanked.isEmpty();
        }
    }

    /**
     * What the round produced.
     *
     * @param current   held-out metrics of the current model
     * @param candidate held-out metrics of the candidate
     * @param training  losses and held-out curve of the fine-tuning
     * @param manifest  manifest written beside the candidate (version and name are the caller's to set)
     * @param stats     how the round trained, recorded in the release's metrics: {@value #BT_STEPS},
     *                  {@value #PL_STEPS} (optimizer steps per loss), {@value #BT_EXAMPLES}, {@value #PL_EXAMPLES}
     *                  (examples drawn into batches)
     * @param currentHeads   per named head, the current model's metrics on the held-out pairs of its own objective
     *                       (heads without such pairs are absent; empty for a model without named heads)
     * @param candidateHeads the same for the candidate
     */
    record Output(EvalMetrics current, EvalMetrics candidate, TrainingResult training, ModelManifest manifest,
                  Map<String, Double> stats, Map<String, EvalMetrics> currentHeads,
                  Map<String, EvalMetrics> candidateHeads) {
        public Output {
            stats = Map.copyOf(stats);
            currentHeads = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(currentHeads));
            candidateHeads = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(candidateHeads));
        }

        /** Without per-head metrics. */
        public Output(EvalMetrics current, EvalMetrics candidate, TrainingResult training, ModelManifest manifest,
                      Map<String, Double> stats) {
            this(current, candidate, training, manifest, stats, Map.of(), Map.of());
        }

        public Output(EvalMetrics current, EvalMetrics candidate, TrainingResult training, ModelManifest manifest) {
            this(current, candidate, training, manifest, Map.of());
        }
    }

    /** Optimizer steps on the Bradley-Terry loss (pairs). */
    String BT_STEPS = "train_bt_steps";
    /** Optimizer steps on the Plackett-Luce loss (whole rankings). */
    String PL_STEPS = "train_pl_steps";
    /** Pairs drawn into Bradley-Terry batches. */
    String BT_EXAMPLES = "train_bt_examples";
    /** Rankings drawn into Plackett-Luce batches. */
    String PL_EXAMPLES = "train_pl_examples";

    /** Thrown when {@code stop} turned true mid-round; the target directory is then incomplete. */
    final class Interrupted extends RuntimeException {
        public Interrupted(String message) {
            super(message);
        }
    }

    /**
     * Runs the round and exports the candidate (SavedModel, training report under {@code report/}, manifest
     * with digests) into {@code target}.
     *
     * @param stop polled between steps; when true the round is abandoned with {@link Interrupted}
     * @throws IOException when a model cannot be read or written
     */
    Output train(Input in, Path target, BooleanSupplier stop) throws IOException;

    /**
     * The preconditions every trainer shares: some training pairs, some held-out pairs, and no SavedModel already at
     * {@code target}.
     *
     * @throws IllegalArgumentException when training or held-out pairs are missing
     * @throws IOException              when {@code target} already holds a SavedModel
     */
    static void checkRound(Input in, Path target) throws IOException {
        if (in.fresh().isEmpty() && in.old().isEmpty() && !in.hasRankings()) {
            throw new IllegalArgumentException("a round needs training pairs or rankings");
        }
        if (in.heldOut().isEmpty()) {
            throw new IllegalArgumentException("a round needs held-out pairs to evaluate on");
        }
        if (java.nio.file.Files.exists(target.resolve("saved_model.pb"))) {
            throw new IOException("refusing to overwrite an existing SavedModel in " + target);
        }
    }
}
