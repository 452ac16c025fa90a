package io.rewardstream.scoring;

import io.rewardstream.scoring.InvalidRolloutException.Reason;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Combines a model's raw outputs into the scalar score s: the weighted sum of named heads (weights from
 * the config's {@code scoring.head.weights}, else from the manifest), and the uncertainty-penalized mean of
 * an ensemble. Immutable; thread-safe.
 *
 * <p><b>The one definition of an ensemble's uncertainty</b> is {@link #ensembleStd}: the POPULATION standard
 * deviation (divide by E) of the E members' scores. Why population and not sample (E - 1): the members are the whole
 * predictive distribution being served (a uniform mixture over E models), whose variance is exactly the population
 * variance of the member means (Lakshminarayanan et al. 2017); it is also what {@code tf.math.reduce_std} and
 * {@code numpy.std} compute by default, so a Python-exported {@code reward_std} agrees with ours, and the built-in
 * graph ({@code RewardGraph}) exports the same. {@link Ensemble}, the built-in graph, this class and the golden
 * vectors ({@code scoring/golden/score_combination.json}) all use it. (Group advantages and running normalization use
 * the sample std: they estimate a statistic of a population the batch is drawn from.)
 */
public final class ScoreCombiner {

    /** An ensemble's combined score. @param score {@code mean - lambda * std} @param mean member mean @param std population std (divide by n; 0 for one member), reported as uncertainty */
    public record EnsembleScore(double score, double mean, double std) {
    }

    private final Map<String, Double> weights;
    private final double uncertaintyPenalty;

    /**
     * @param config   supplies head weight overrides and the uncertainty penalty lambda
     * @param manifest supplies head names and default weights (may have no heads: single scalar head)
     * @throws IllegalArgumentException when an override names a head the manifest does not have
     */
    public ScoreCombiner(ShapingConfig config, ModelManifest manifest) {
        Map<String, Double> w = new LinkedHashMap<>();
        List<ModelManifest.Head> heads = manifest == null ? List.of() : manifest.heads();
        for (ModelManifest.Head h : heads) {
            w.put(h.name(), h.weight());
        }
        for (Map.Entry<String, Double> e : config.headWeights().entrySet()) {
            if (!heads.isEmpty() && !w.containsKey(e.getKey())) {
                throw new IllegalArgumentException(ShapingConfig.HEAD_WEIGHTS + ": model " + manifest.modelVersion()
                        + " has no head '" + e.getKey() + "' (heads: " + w.keySet() + ")");
            }
            w.put(e.getKey(), e.getValue());
        }
        this.weights = Map.copyOf(w);
        this.uncertaintyPenalty = config.uncertaintyPenalty();
    }

    /** Head name to weight in effect. */
    public Map<String, Double> weights() {
        return weights;
    }

    /**
     * The weighted sum of head scores.
     *
     * @throws InvalidRolloutException NON_FINITE_SCORE when a head score is not finite, MISSING_FIELD when a weighted head is absent
     */
    public double weightedSum(Map<String, Double> headScores) {
        double s = 0;
        for (Map.Entry<String, Double> e : weights.entrySet()) {
            Double v = headScores.get(e.getKey());
            if (v == null) {
                throw new InvalidRolloutException(Reason.MISSING_FIELD, "model output has no head '" + e.getKey() + "'");
            }
            if (!Double.isFinite(v)) {
                throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "head '" + e.getKey() + "' scored " + v);
            }
            s += e.getValue() * v;
        }
        return s;
    }

    /**
     * {@code mean - lambda * std} over ensemble members' scores (lambda = {@code scoring.uncertainty.penalty}).
     *
     * @throws InvalidRolloutException NON_FINITE_SCORE when a member score is not finite, MISSING_FIELD when there is none
     */
    public EnsembleScore ensemble(double[] memberScores) {
        if (memberScores == null || memberScores.length == 0) {
            throw new InvalidRolloutException(Reason.MISSING_FIELD, "ensemble produced no member scores");
        }
        for (int i = 0; i < memberScores.length; i++) {
            if (!Double.isFinite(memberScores[i])) {
                throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "ensemble member " + i + " scored " + memberScores[i]);
            }
        }
        double mean = GroupAdvantages.mean(memberScores);
        double std = ensembleStd(memberScores);
        return new EnsembleScore(penalized(mean, std), mean, std);
    }

    /** lambda ({@code scoring.uncertainty.penalty}). */
    public double uncertaintyPenalty() {
        return uncertaintyPenalty;
    }

    /**
     * {@code mean - lambda * std}: the score of an ensemble whose member mean and std are given (e.g. by the model's
     * {@code reward} and {@code reward_std} outputs).
     *
     * @throws InvalidRolloutException NON_FINITE_SCORE when std is not finite or negative
     */
    public double penalized(double mean, double std) {
        if (!Double.isFinite(std) || std < 0) {
            throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "ensemble uncertainty (reward_std) is " + std
                    + "; it must be finite and >= 0");
        }
        return mean - uncertaintyPenalty * std;
    }

    /**
     * The ensemble uncertainty: population standard deviation {@code sqrt(sum((x - mean)^2) / n)} of the members'
     * scores (two passes; 0 for one member). See the class comment for why population.
     *
     * @throws IllegalArgumentException when there is no member
     */
    public static double ensembleStd(double[] memberScores) {
        if (memberScores == null || memberScores.length == 0) {
            throw new IllegalArgumentException("ensemble std of no members");
        }
        double sum = 0;
        for (double v : memberScores) {
            sum += v;
        }
        double mean = sum / memberScores.length;
        double ss = 0;
        for (double v : memberScores) {
            ss += (v - mean) * (v - mean);
        }
        return Math.sqrt(ss / memberScores.length);
    }
}
