package io.rewardstream.scoring;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-row stages after the model call, in order: combine (named heads weighted, minus lambda * uncertainty for
 * an ensemble) -> shape (KL, EOS penalty, normalization, clipping) -> flags. Used by {@link ScoringPipeline} for every
 * row, and on its own where the score is given (the {@code shape} CLI). A new per-row stage (uncertainty monitor,
 * routing over several score sources, per-token rewards) goes into {@link #row} between the existing steps.
 *
 * <p>Immutable and thread-safe.
 */
public final class RowStages {
    private final ShapingConfig shaping;
    private final ModelManifest manifest;
    private final RewardShaper shaper;
    private final ScoreCombiner combiner;
    private final KlController klController;

    /**
     * Stages of a model.
     *
     * @throws IllegalArgumentException on static normalization without the manifest's stats, or bad head weights
     */
    public RowStages(ShapingConfig shaping, ModelManifest manifest) {
        this.shaping = shaping;
        this.manifest = manifest;
        this.shaper = new RewardShaper(shaping, shaping.normalization() == ShapingConfig.NormalizationMode.STATIC
                ? manifest.normalization() : null);
        this.combiner = new ScoreCombiner(shaping, manifest);
        this.klController = new KlController(shaping);
    }

    /**
     * Stages without a model, for a given score (no head combination).
     *
     * @param staticNormalization the stats for normalization {@code static}, else null
     */
    public RowStages(ShapingConfig shaping, ModelManifest.Normalization staticNormalization) {
        this.shaping = shaping;
        this.manifest = null;
        this.shaper = new RewardShaper(shaping, staticNormalization);
        this.combiner = null;
        this.klController = new KlController(shaping);
    }

    /** The raw score of one row between stages (after combine, before shaping). */
    public record RowScore(double score, Map<String, Double> heads, Double uncertainty) {
        /** A given score (no heads, no uncertainty). */
        public static RowScore of(double score) {
            return new RowScore(score, null, null);
        }
    }

    public ShapingConfig shaping() {
        return shaping;
    }

    public KlController klController() {
        return klController;
    }

    /** The shaping state before any row, with the given running stats (null = none). */
    public ShapingState initialState(RunningStats stats) {
        return new ShapingState(klController.initial(), stats);
    }

    /**
     * Stage combine: the raw score s of row k: the weighted head sum when the model has named heads (config weights
     * override the manifest's), else its {@code reward}; minus lambda * uncertainty for an ensemble.
     */
    public RowScore combine(ModelOutput out, int k) {
        Map<String, Double> heads = headScores(out, k);
        double score = heads != null && !out.hasUncertainty() ? combiner.weightedSum(heads) : out.reward()[k];
        return uncertainty(out, k, new RowScore(score, heads, null));
    }

    /**
     * Stage uncertainty (an ensemble: the model's {@code reward_std} or {@link Ensemble}'s std): carries the row's std
     * as its uncertainty and penalizes the score, {@code mean - lambda * std} ({@link ScoreCombiner#penalized}).
     * A model without uncertainty leaves the score as it is.
     *
     * @throws InvalidRolloutException NON_FINITE_SCORE when the std is negative or not finite
     */
    private RowScore uncertainty(ModelOutput out, int k, RowScore s) {
        if (!out.hasUncertainty()) {
            return s;
        }
        double std = out.uncertainty()[k];
        return new RowScore(combiner.penalized(s.score(), std), s.heads(), std);
    }

    /** Named head scores of row k, or null for a single-head model. */
    private Map<String, Double> headScores(ModelOutput out, int k) {
        List<ModelManifest.Head> names = manifest == null ? List.of() : manifest.heads();
        if (!out.hasHeads() || names.isEmpty() || out.heads()[k] == null || out.heads()[k].length != names.size()) {
            return null;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        for (int h = 0; h < names.size(); h++) {
            m.put(names.get(h).name(), (double) out.heads()[k][h]);
        }
        return m;
    }

    /**
     * The stages after combine for one row: shape with the state's beta and stats, then flags.
     *
     * @param encoded the model input, or null when there was none (its truncation becomes flag TRUNCATED)
     * @throws InvalidRolloutException when the row cannot be shaped (lengths, non-finite values)
     */
    public ScoringPipeline.Scored row(int index, ScoringInput in, EncodedSequence encoded, RowScore score,
                                      ShapingState state) {
        return row(index, in, encoded, score, state, null);
    }

    /**
     * As {@link #row(int, ScoringInput, EncodedSequence, RowScore, ShapingState)}, with the model's process rewards
     * per response token ({@link ProcessRewards#align}), or null: shaped and added to the token rewards and the reward
     * by {@link RewardShaper}.
     */
    public ScoringPipeline.Scored row(int index, ScoringInput in, EncodedSequence encoded, RowScore score,
                                      ShapingState state, double[] processRewards) {
        ShapedReward sh = shape(in, score.score(), state, processRewards);
        List<String> flags = new ArrayList<>(sh.flags());
        if (encoded != null && encoded.truncated()) {
            flags.add(RewardFlags.TRUNCATED);
        }
        flags.sort(null);
        return new ScoringPipeline.Scored(index, in, encoded, score.heads(), score.uncertainty(), sh,
                List.copyOf(flags));
    }

    /** The state after a shaped row (KL controller observes it; running stats advance). */
    public ShapingState next(ShapingState state, ShapedReward shaped) {
        return new ShapingState(klController.observe(state.kl(), shaped), shaped.runningStats());
    }

    private ShapedReward shape(ScoringInput in, double score, ShapingState state, double[] processRewards) {
        int[] response = in.parts() == null ? null : in.parts().responseIds();
        double[] lp = in.policyLogprobs();
        if (response != null && lp != null && lp.length != response.length) {
            throw new InvalidRolloutException(InvalidRolloutException.Reason.LOGPROB_LENGTH_MISMATCH, "policy_logprobs has "
                    + lp.length + " values for " + response.length + " response tokens");
        }
        return shaper.shape(score, lp, in.referenceLogprobs(), in.stopped(), state.kl().beta(), state.stats(),
                processRewards);
    }
}
