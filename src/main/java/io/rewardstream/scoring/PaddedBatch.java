package io.rewardstream.scoring;

import java.util.Objects;

/**
 * One model call's worth of sequences, right-padded to a common length. Not copied: treat as immutable.
 *
 * @param ids           [rows][paddedLength] token ids, padded on the right with the manifest pad id
 * @param mask          [rows][paddedLength] attention mask, 1 for real tokens and 0 for padding
 * @param originalIndex for each row, its index in the list handed to the planner
 * @param realTokens    number of real tokens (sum of the mask)
 * @param paddedTokens  rows x paddedLength
 */
public record PaddedBatch(int[][] ids, int[][] mask, int[] originalIndex, long realTokens, long paddedTokens) {

    public PaddedBatch {
        Objects.requireNonNull(ids, "ids");
        Objects.requireNonNull(mask, "mask");
        Objects.requireNonNull(originalIndex, "originalIndex");
        if (ids.length == 0) {
            throw new IllegalArgumentException("a batch needs at least one row");
        }
        if (mask.length != ids.length || originalIndex.length != ids.length) {
            throw new IllegalArgumentException("ids, mask and originalIndex must have the same number of rows: "
                    + ids.length + ", " + mask.length + ", " + originalIndex.length);
        }
        int t = ids[0].length;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i].length != t || mask[i].length != t) {
                throw new IllegalArgumentException("row " + i + " is not " + t + " tokens long");
            }
        }
        if (paddedTokens != (long) ids.length * t) {
            throw new IllegalArgumentException("paddedTokens " + paddedTokens + " != rows x length " + ids.length * t);
        }
    }

    /**
     * Builds a batch from sequences padded to {@code paddedLength}.
     *
     * @throws IllegalArgumentException when a sequence is longer than {@code paddedLength}
     */
    public static PaddedBatch of(int[][] sequences, int[] originalIndex, int paddedLength, int padId) {
        int rows = sequences.length;
        int[][] ids = new int[rows][paddedLength];
        int[][] mask = new int[rows][paddedLength];
        long real = 0;
        for (int r = 0; r < rows; r++) {
            int[] s = sequences[r];
            if (s.length > paddedLength) {
                throw new IllegalArgumentException("sequence of " + s.length + " tokens does not fit padded length "
                        + paddedLength);
            }
            System.arraycopy(s, 0, ids[r], 0, s.length);
            for (int c = s.length; c < paddedLength; c++) {
                ids[r][c] = padId;
            }
            for (int c = 0; c < s.length; c++) {
                mask[r][c] = 1;
            }
            real += s.length;
        }
        return new PaddedBatch(ids, mask, originalIndex, real, (long) rows * paddedLength);
    }

    /** Number of sequences. */
    public int rows() {
        return ids.length;
    }

    /** Padded sequence length T. */
    public int paddedLength() {
        return ids[0].length;
    }

    /** Real tokens / padded tokens, in (0, 1]. */
    public double paddingEfficiency() {
        return paddedTokens == 0 ? 1.0 : (double) realTokens / paddedTokens;
    }
}
