package io.rewardstream.scoring;

import io.rewardstream.scoring.InvalidRolloutException.Reason;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Combines a model's raw outputs into the scalar score s: the weighted sum of named heads (weights from
 * the config's {@code scoring.head.weights}, else from the manifest), and the uncertainty-penalized mean of
 * an ensemble. Immutable; thread-safe.
 */
public final class ScoreCombiner {

    /** An ensemble's combined score. @param score {@code mean - lambda * std} @param mean member mean @param std sample std (n - 1; 0 for one member), reported as uncertainty */
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
        double std = GroupAdvantages.std(memberScores);
        return new EnsembleScore(mean - uncertaintyPenalty * std, mean, std);
    }
}
