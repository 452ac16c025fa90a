package io.rewardstream.scoring;

/** Flag strings carried by rewards ({@code Reward.flags}) and group advantages. Strings so new flags never break old readers. */
public final class RewardFlags {
    /** The model input was cut to max_seq_len. */
    public static final String TRUNCATED = "TRUNCATED";
    /** No reference log-probs: the KL terms are 0. */
    public static final String NO_REFERENCE = "NO_REFERENCE";
    /** finish_reason was not STOP. */
    public static final String MISSING_EOS = "MISSING_EOS";
    /** The group timed out before every member arrived. */
    public static final String INCOMPLETE_GROUP = "INCOMPLETE_GROUP";

    private RewardFlags() {
    }
}
