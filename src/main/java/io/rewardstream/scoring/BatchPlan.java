package io.rewardstream.scoring;

import java.util.List;

/**
 * The micro-batches of one planning round. Every original index in {@code [0, sequences)} appears in
 * exactly one batch. Immutable.
 *
 * @param batches   the padded batches, in execution order
 * @param sequences number of sequences planned
 */
public record BatchPlan(List<PaddedBatch> batches, int sequences) {

    public BatchPlan {
        batches = List.copyOf(batches);
        int rows = batches.stream().mapToInt(PaddedBatch::rows).sum();
        if (rows != sequences) {
            throw new IllegalArgumentException("plan has " + rows + " rows for " + sequences + " sequences");
        }
    }

    public long realTokens() {
        return batches.stream().mapToLong(PaddedBatch::realTokens).sum();
    }

    public long paddedTokens() {
        return batches.stream().mapToLong(PaddedBatch::paddedTokens).sum();
    }

    /** Real tokens / padded tokens over the whole plan (1.0 for an empty plan). */
    public double paddingEfficiency() {
        long padded = paddedTokens();
        return padded == 0 ? 1.0 : (double) realTokens() / padded;
    }
}
