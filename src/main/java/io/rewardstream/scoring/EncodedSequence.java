package io.rewardstream.scoring;

import java.util.Objects;

/**
 * Model input ids of one (prompt, response) pair, already cut to the model's max_seq_len. Immutable by
 * convention (the array is not copied: do not modify it).
 *
 * @param ids           token ids, no padding; length >= 1
 * @param truncated     true when tokens were dropped to fit max_seq_len
 * @param droppedTokens how many tokens were dropped (0 unless truncated)
 */
public record EncodedSequence(int[] ids, boolean truncated, int droppedTokens) {

    public EncodedSequence {
        Objects.requireNonNull(ids, "ids");
        if (ids.length == 0) {
            throw new IllegalArgumentException("an encoded sequence needs at least one token");
        }
        if (droppedTokens < 0 || truncated != (droppedTokens > 0)) {
            throw new IllegalArgumentException("truncated=" + truncated + " inconsistent with droppedTokens="
                    + droppedTokens);
        }
    }

    /** An untruncated sequence. */
    public static EncodedSequence of(int... ids) {
        return new EncodedSequence(ids, false, 0);
    }

    /** Real (unpadded) length. */
    public int length() {
        return ids.length;
    }
}
