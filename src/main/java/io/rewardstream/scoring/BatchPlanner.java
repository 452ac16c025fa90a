package io.rewardstream.scoring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Cuts encoded sequences into padded micro-batches. Pure and stateless; thread-safe.
 *
 * <p>{@link #plan} sorts by length and cuts the sorted run where it is cheapest: every batch has at most
 * {@code batch.max.size} rows and at most {@code batch.max.tokens} padded tokens (rows x padded length),
 * and among the cuts that respect those limits it picks the one minimising padded tokens plus
 * {@code batch.call.overhead.tokens} per model call (an exact dynamic programme over the sorted run, O(n x
 * max size)). So a flush mixing 10-token and 60-token answers becomes two calls instead of one call padded
 * to 64, but a flush of similar lengths stays one call. Each batch is padded only to its own longest sequence
 * rounded up to {@code batch.pad.multiple} (capped at max_seq_len). Padding is on the right with the pad id; the mask is 1 on real tokens.
 * {@link #planInArrivalOrder} keeps arrival order (same limits, same rounding): the naive baseline the
 * padding benchmark compares against.
 */
public final class BatchPlanner {
    private final BatchingConfig config;
    private final int maxSeqLen;
    private final int padId;

    /**
     * @throws IllegalArgumentException when {@code batch.max.tokens} cannot hold one max_seq_len sequence
     */
    public BatchPlanner(BatchingConfig config, int maxSeqLen, int padId) {
        this.config = Objects.requireNonNull(config, "config");
        if (maxSeqLen < 1) {
            throw new IllegalArgumentException("max_seq_len must be >= 1, got " + maxSeqLen);
        }
        if (config.maxTokens() < maxSeqLen) {
            throw new IllegalArgumentException(BatchingConfig.MAX_TOKENS + " (" + config.maxTokens()
                    + ") must be >= the model's max_seq_len (" + maxSeqLen + ") or a full-length sequence never fits");
        }
        this.maxSeqLen = maxSeqLen;
        this.padId = padId;
    }

    /** A planner for a model's max_seq_len and pad id. */
    public static BatchPlanner forModel(BatchingConfig config, ModelManifest manifest) {
        return new BatchPlanner(config, manifest.maxSeqLen(), manifest.padId());
    }

    public BatchingConfig config() {
        return config;
    }

    public int maxSeqLen() {
        return maxSeqLen;
    }

    /** Length a batch whose longest sequence is {@code longest} is padded to. */
    public int paddedLength(int longest) {
        int m = config.padMultiple();
        long rounded = ((long) longest + m - 1) / m * m;
        return (int) Math.min(rounded, maxSeqLen);
    }

    /**
     * Length-bucketed plan: sort by length (ties by arrival), cut at the size and token limits.
     *
     * @throws IllegalArgumentException when a sequence is longer than max_seq_len
     */
    public BatchPlan plan(List<EncodedSequence> sequences) {
        Integer[] order = checkedOrder(sequences);
        Arrays.sort(order, Comparator.<Integer>comparingInt(i -> sequences.get(i).length()).thenComparingInt(i -> i));
        return cheapestCut(sequences, order);
    }

    /**
     * Optimal contiguous cut of a length-sorted run: best[j] = min over i of best[i] + overhead + (j - i) x
     * padded(len[j - 1]), under the size and token limits (the last row of a sorted segment is its longest).
     */
    private BatchPlan cheapestCut(List<EncodedSequence> sequences, Integer[] order) {
        int n = order.length;
        long[] best = new long[n + 1];
        int[] from = new int[n + 1];
        Arrays.fill(best, Long.MAX_VALUE);
        best[0] = 0;
        for (int j = 1; j <= n; j++) {
            int padded = paddedLength(sequences.get(order[j - 1]).length());
            for (int i = j - 1; i >= 0 && j - i <= config.maxSize(); i--) {
                long tokens = (long) (j - i) * padded;
                if (tokens > config.maxTokens() && j - i > 1) {
                    break;                                  // longer segments only get bigger
                }
                long cost = best[i] + config.callOverheadTokens() + tokens;
                if (best[i] != Long.MAX_VALUE && cost < best[j]) {
                    best[j] = cost;
                    from[j] = i;
                }
            }
        }
        List<PaddedBatch> batches = new ArrayList<>();
        for (int j = n; j > 0; j = from[j]) {
            List<Integer> rows = new ArrayList<>();
            for (int k = from[j]; k < j; k++) {
                rows.add(order[k]);
            }
            batches.add(pad(sequences, rows, sequences.get(order[j - 1]).length()));
        }
        java.util.Collections.reverse(batches);
        return new BatchPlan(batches, sequences.size());
    }

    /**
     * Naive plan for comparison: arrival order, same limits, each batch padded to its longest.
     *
     * @throws IllegalArgumentException when a sequence is longer than max_seq_len
     */
    public BatchPlan planInArrivalOrder(List<EncodedSequence> sequences) {
        return cut(sequences, checkedOrder(sequences));
    }

    private Integer[] checkedOrder(List<EncodedSequence> sequences) {
        Integer[] order = new Integer[sequences.size()];
        for (int i = 0; i < order.length; i++) {
            EncodedSequence s = Objects.requireNonNull(sequences.get(i), "sequence " + i);
            if (s.length() > maxSeqLen) {
                throw new IllegalArgumentException("sequence " + i + " has " + s.length()
                        + " tokens, more than max_seq_len " + maxSeqLen + " (encode it with SequenceEncoder first)");
            }
            order[i] = i;
        }
        return order;
    }

    private BatchPlan cut(List<EncodedSequence> sequences, Integer[] order) {
        List<PaddedBatch> batches = new ArrayList<>();
        List<Integer> current = new ArrayList<>();
        int longest = 0;
        for (int idx : order) {
            int len = sequences.get(idx).length();
            int newLongest = Math.max(longest, len);
            long cost = (long) (current.size() + 1) * paddedLength(newLongest);
            if (!current.isEmpty() && (current.size() + 1 > config.maxSize() || cost > config.maxTokens())) {
                batches.add(pad(sequences, current, longest));
                current.clear();
                newLongest = len;
            }
            current.add(idx);
            longest = newLongest;
        }
        if (!current.isEmpty()) {
            batches.add(pad(sequences, current, longest));
        }
        return new BatchPlan(batches, sequences.size());
    }

    private PaddedBatch pad(List<EncodedSequence> sequences, List<Integer> rows, int longest) {
        int[][] seqs = new int[rows.size()][];
        int[] index = new int[rows.size()];
        for (int r = 0; r < rows.size(); r++) {
            index[r] = rows.get(r);
            seqs[r] = sequences.get(index[r]).ids();
        }
        return PaddedBatch.of(seqs, index, paddedLength(longest), padId);
    }
}
