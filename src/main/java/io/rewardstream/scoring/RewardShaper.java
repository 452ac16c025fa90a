package io.rewardstream.scoring;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.InvalidRolloutException.Reason;

import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a reward-model score and the response's log-probs into KL-penalized per-token and sequence
 * rewards:
 * <pre>
 *   d[t]  = lp[t] - lr[t]
 *   kl[t] = clamp(estimator(d[t]), -kl_clamp, kl_clamp)         (0 when lr is null: flag NO_REFERENCE)
 *   s1    = s - missing_eos_penalty if finish_reason != STOP     (flag MISSING_EOS whenever != STOP)
 *   s'    = clip(normalize(s1), -score_clip, score_clip)
 *   token_rewards[t] = -beta * kl[t];  token_rewards[L-1] += s'
 *   reward = s' - beta * sum(kl)
 * </pre>
 * With process rewards p[t] (a model's {@code token_rewards} on the response tokens, see {@link ProcessRewards}):
 * <pre>
 *   p'[t] = clip(p[t] / scale, -score_clip, score_clip)   scale = std of the normalization (static: manifest std;
 *                                                          running: std of the stats including s, 1 while it is 0;
 *                                                          none: 1) -- the mean is NOT subtracted per token
 *   token_rewards[t] = -beta * kl[t] + p'[t];  token_rewards[L-1] += s'
 *   reward = s' - beta * sum(kl) + sum(p')                (still the sum of token_rewards)
 * </pre>
 * The per-token values are scaled like the sequence score but not shifted: subtracting the mean from every token
 * would add {@code -L * mean} to the reward, a bias by response length.
 * Normalization {@code running} first adds the raw score s to the running stats (Welford, sample variance)
 * and then whitens s1 with the updated stats (so the current score is included; the first score of a model
 * version whitens to {@code s1 - s}, i.e. 0 without EOS penalty). {@code static} uses the manifest's mean/std.
 *
 * <p>Pure and thread-safe: all state (beta, running stats) comes in as arguments and goes out in the result.
 * Invalid input throws {@link InvalidRolloutException}; nothing is silently turned into a number.
 */
public final class RewardShaper {

    private final ShapingConfig config;
    private final ModelManifest.Normalization staticNormalization;

    /** A shaper for normalization {@code none} or {@code running}. */
    public RewardShaper(ShapingConfig config) {
        this(config, null);
    }

    /**
     * @param config              shaping configuration
     * @param staticNormalization mean/std for normalization {@code static} (usually {@code manifest.normalization()});
     *                            ignored otherwise
     * @throws IllegalArgumentException when the normalization is static and no mean/std is given
     */
    public RewardShaper(ShapingConfig config, ModelManifest.Normalization staticNormalization) {
        if (config == null) {
            throw new IllegalArgumentException("shaping config is required");
        }
        if (config.normalization() == ShapingConfig.NormalizationMode.STATIC && staticNormalization == null) {
            throw new IllegalArgumentException(ShapingConfig.NORMALIZATION
                    + "=static needs the model manifest's normalization (mean/std), which is missing");
        }
        this.config = config;
        this.staticNormalization = staticNormalization;
    }

    public ShapingConfig config() {
        return config;
    }

    /** Shapes one response without running stats (normalization none or static). */
    public ShapedReward shape(double score, double[] policyLogprobs, double[] referenceLogprobs, boolean stopped, double beta) {
        return shape(score, policyLogprobs, referenceLogprobs, stopped, beta, RunningStats.EMPTY);
    }

    /**
     * Shapes one response.
     *
     * @param score             reward-model score s (finite)
     * @param policyLogprobs    lp[t], length L >= 1, finite
     * @param referenceLogprobs lr[t], length L, finite; or null (KL = 0, flag NO_REFERENCE)
     * @param stopped           whether finish_reason was STOP
     * @param beta              KL coefficient (finite, >= 0), e.g. from {@link KlControllerState#beta()}
     * @param runningStats      the model version's running score stats BEFORE this response (used by normalization
     *                          {@code running}; null means none yet)
     * @throws InvalidRolloutException EMPTY_RESPONSE, REFERENCE_LENGTH_MISMATCH, NON_FINITE_LOGPROB, NON_FINITE_SCORE,
     *                                 or MISSING_FIELD when policyLogprobs is null
     * @throws IllegalArgumentException when beta is negative or not finite
     */
    public ShapedReward shape(double score, double[] policyLogprobs, double[] referenceLogprobs, boolean stopped,
                              double beta, RunningStats runningStats) {
        return shape(score, policyLogprobs, referenceLogprobs, stopped, beta, runningStats, null);
    }

    /**
     * Shapes one response with optional process rewards (see the class comment).
     *
     * @param processRewards raw per-response-token rewards p[t] (length L, finite), or null for none
     * @throws InvalidRolloutException as {@link #shape(double, double[], double[], boolean, double, RunningStats)};
     *                                 NON_FINITE_SCORE on a non-finite p[t]
     * @throws IllegalArgumentException also when processRewards has a length other than L
     */
    public ShapedReward shape(double score, double[] policyLogprobs, double[] referenceLogprobs, boolean stopped,
                              double beta, RunningStats runningStats, double[] processRewards) {
        if (policyLogprobs == null) {
            throw new InvalidRolloutException(Reason.MISSING_FIELD, "policy_logprobs is null");
        }
        int n = policyLogprobs.length;
        if (n == 0) {
            throw new InvalidRolloutException(Reason.EMPTY_RESPONSE, "the response has no tokens (L = 0)");
        }
        if (referenceLogprobs != null && referenceLogprobs.length != n) {
            throw new InvalidRolloutException(Reason.REFERENCE_LENGTH_MISMATCH, "reference_logprobs has "
                    + referenceLogprobs.length + " values for " + n + " policy log-probs");
        }
        if (!Double.isFinite(score)) {
            throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "reward-model score is " + score);
        }
        checkFinite("policy_logprobs", policyLogprobs);
        if (referenceLogprobs != null) {
            checkFinite("reference_logprobs", referenceLogprobs);
        }
        if (!Double.isFinite(beta) || beta < 0) {
            throw new IllegalArgumentException("KL coefficient beta must be finite and >= 0, got " + beta);
        }
        RunningStats stats = runningStats == null ? RunningStats.EMPTY : runningStats;

        Set<String> flags = new TreeSet<>();
        double[] kl = new double[n];
        double klSum = 0;
        if (referenceLogprobs == null) {
            flags.add(RewardFlags.NO_REFERENCE);
        } else {
            KlEstimator est = config.klEstimator();
            double clamp = config.klClamp();
            for (int t = 0; t < n; t++) {
                kl[t] = est.estimate(policyLogprobs[t] - referenceLogprobs[t], clamp);
                klSum += kl[t];
            }
        }

        double s = score;
        if (!stopped) {
            flags.add(RewardFlags.MISSING_EOS);
            s -= config.missingEosPenalty();
        }
        switch (config.normalization()) {
            case NONE -> { }
            case RUNNING -> {
                stats = stats.plus(score);
                s = stats.whiten(s);
            }
            case STATIC -> s = (s - staticNormalization.mean()) / staticNormalization.std();
        }
        if (config.scoreClipEnabled()) {
            s = Math.max(-config.scoreClip(), Math.min(config.scoreClip(), s));
        }

        double[] tokenRewards = new double[n];
        for (int t = 0; t < n; t++) {
            tokenRewards[t] = -beta * kl[t];
        }
        tokenRewards[n - 1] += s;
        double reward = s - beta * klSum;
        if (processRewards != null) {
            if (processRewards.length != n) {
                throw new IllegalArgumentException(processRewards.length + " process rewards for " + n
                        + " response tokens");
            }
            double scale = processScale(stats);
            for (int t = 0; t < n; t++) {
                if (!Double.isFinite(processRewards[t])) {
                    throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "process reward [" + t + "] is "
                            + processRewards[t]);
                }
                double p = processRewards[t] / scale;
                if (config.scoreClipEnabled()) {
                    p = Math.max(-config.scoreClip(), Math.min(config.scoreClip(), p));
                }
                tokenRewards[t] += p;
                reward += p;
            }
        }
        return new ShapedReward(score, s, klSum, kl, beta, tokenRewards, reward,
                Collections.unmodifiableSet(flags), stats);
    }

    /** The divisor of the normalization in use (1 when it does not scale). */
    private double processScale(RunningStats stats) {
        return switch (config.normalization()) {
            case NONE -> 1.0;
            case RUNNING -> stats.std() > 0 ? stats.std() : 1.0;
            case STATIC -> staticNormalization.std();
        };
    }

    /**
     * Shapes a rollout (its log-probs and finish reason) with a score. Validate the rollout first with
     * {@link RolloutValidator}; this checks only what the maths needs.
     *
     * @throws InvalidRolloutException as {@link #shape(double, double[], double[], boolean, double, RunningStats)},
     *                                 plus LOGPROB_LENGTH_MISMATCH against the response token ids
     */
    public ShapedReward shape(double score, Rollout rollout, double beta, RunningStats runningStats) {
        double[] lp = toDoubles("policy_logprobs", rollout.getPolicyLogprobs());
        if (rollout.getResponseTokenIds() != null && lp != null && lp.length != rollout.getResponseTokenIds().size()) {
            throw new InvalidRolloutException(Reason.LOGPROB_LENGTH_MISMATCH, "policy_logprobs has " + lp.length
                    + " values for " + rollout.getResponseTokenIds().size() + " response tokens");
        }
        double[] lr = rollout.getReferenceLogprobs() == null ? null : toDoubles("reference_logprobs", rollout.getReferenceLogprobs());
        return shape(score, lp, lr, rollout.getFinishReason() == FinishReason.STOP, beta, runningStats);
    }

    /** Float list (Avro array of float) to doubles. @throws InvalidRolloutException MISSING_FIELD on a null element */
    public static double[] toDoubles(String field, List<Float> values) {
        if (values == null) {
            return null;
        }
        double[] out = new double[values.size()];
        for (int i = 0; i < out.length; i++) {
            Float f = values.get(i);
            if (f == null) {
                throw new InvalidRolloutException(Reason.MISSING_FIELD, field + "[" + i + "] is null");
            }
            out[i] = f;
        }
        return out;
    }

    private static void checkFinite(String field, double[] v) {
        for (int t = 0; t < v.length; t++) {
            if (!Double.isFinite(v[t])) {
                throw new InvalidRolloutException(Reason.NON_FINITE_LOGPROB, field + "[" + t + "] is " + v[t]);
            }
        }
    }
}
