package io.rewardstream.scoring;

import java.util.Objects;

/**
 * Scores of one batch (or of a whole plan, in original order). Arrays are not copied: treat as immutable.
 *
 * @param reward      scalar reward per row
 * @param heads       per-row head values {@code [rows][H]}, heads named and weighted by the manifest's
 *                    {@code heads}; null when the model has no {@code rewards} output
 * @param uncertainty per-row uncertainty (std across ensemble members / heads); null when not computed
 * @param tokenRewards per-row, per-position process rewards {@code [rows][T]} of the optional {@code token_rewards}
 *                    output, over the model's input positions (a row may be longer than its real length: padding
 *                    columns are not trimmed); null when the model has no such output
 */
public record ModelOutput(float[] reward, float[][] heads, float[] uncertainty, float[][] tokenRewards) {

    /** Without per-token rewards. */
    public ModelOutput(float[] reward, float[][] heads, float[] uncertainty) {
        this(reward, heads, uncertainty, null);
    }

    public ModelOutput {
        Objects.requireNonNull(reward, "reward");
        if (heads != null && heads.length != reward.length) {
            throw new IllegalArgumentException("heads has " + heads.length + " rows, reward " + reward.length);
        }
        if (uncertainty != null && uncertainty.length != reward.length) {
            throw new IllegalArgumentException("uncertainty has " + uncertainty.length + " rows, reward "
                    + reward.length);
        }
        if (tokenRewards != null && tokenRewards.length != reward.length) {
            throw new IllegalArgumentException("tokenRewards has " + tokenRewards.length + " rows, reward "
                    + reward.length);
        }
    }

    /** Only a reward per row. */
    public static ModelOutput of(float[] reward) {
        return new ModelOutput(reward, null, null);
    }

    public int rows() {
        return reward.length;
    }

    public boolean hasHeads() {
        return heads != null;
    }

    public boolean hasTokenRewards() {
        return tokenRewards != null;
    }

    public boolean hasUncertainty() {
        return uncertainty != null;
    }
}
