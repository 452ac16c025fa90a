package io.rewardstream.scoring;

import java.util.Set;

/**
 * The shaped reward of one response, as computed by {@link RewardShaper}. Immutable by convention: the
 * arrays are owned by this record and must not be modified by callers. Record equality compares the arrays by
 * identity (as every record with array components does); compare fields when testing.
 *
 * @param score        raw score s (weighted heads / penalized ensemble mean)
 * @param shapedScore  s' = clip(normalize(s - missing_eos_penalty if no EOS))
 * @param klSum        sum of the clamped per-token KL estimates (0 without reference)
 * @param klPerToken   clamped per-token KL estimates, one per response token (all 0 without reference)
 * @param beta         KL coefficient used
 * @param tokenRewards {@code -beta * kl[t]}, plus s' on the last token
 * @param reward       sequence reward {@code s' - beta * klSum}
 * @param flags        sorted, unmodifiable subset of {@link RewardFlags} (NO_REFERENCE, MISSING_EOS)
 * @param runningStats the running score statistics after this response: the input stats plus s when the
 *                     normalization is {@code running}, the input stats unchanged otherwise. The caller
 *                     persists them (keyed by model version).
 */
public record ShapedReward(
        double score,
        double shapedScore,
        double klSum,
        double[] klPerToken,
        double beta,
        double[] tokenRewards,
        double reward,
        Set<String> flags,
        RunningStats runningStats) {

    /** Response length L. */
    public int length() {
        return tokenRewards.length;
    }

    /** Per-token rewards as floats (the Avro {@code token_rewards} type). */
    public float[] tokenRewardsAsFloats() {
        float[] f = new float[tokenRewards.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) tokenRewards[i];
        }
        return f;
    }
}
