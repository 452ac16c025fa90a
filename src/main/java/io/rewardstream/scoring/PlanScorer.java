package io.rewardstream.scoring;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Scores a whole {@link BatchPlan} and maps results back to the original order. A plan of several batches has them
 * in flight together (the caller and the common fork-join pool; a {@link RewardModel} is thread-safe), so a device
 * runs them back to back instead of idling while the calling thread wakes up and hands it the next one. Stateless.
 */
public final class PlanScorer {
    private PlanScorer() {
    }

    /**
     * Scores every batch of {@code plan} with {@code model} (the caller holds the lease, if any, for the
     * whole plan so every row is scored by the same model version).
     *
     * @return output indexed like the sequence list given to the planner; heads/uncertainty/token rewards present only
     *         when every batch returned them
     * @throws ModelScoringException when a batch fails or returns the wrong number of rows
     */
    public static ModelOutput score(RewardModel model, BatchPlan plan) {
        int n = plan.sequences();
        float[] reward = new float[n];
        float[][] heads = new float[n][];
        float[] uncertainty = new float[n];
        float[][] tokenRewards = new float[n][];
        boolean allTokenRewards = true;
        boolean allHeads = true;
        boolean allUncertainty = true;
        List<PaddedBatch> batches = plan.batches();
        ModelOutput[] outs = new ModelOutput[batches.size()];
        if (batches.size() == 1) {
            outs[0] = model.score(batches.get(0));
        } else {
            // every batch in flight at once (the caller works too); a failure is rethrown here by the join
            IntStream.range(0, outs.length).parallel().forEach(b -> outs[b] = model.score(batches.get(b)));
        }
        for (int b = 0; b < outs.length; b++) {
            PaddedBatch batch = batches.get(b);
            ModelOutput out = outs[b];
            if (out.rows() != batch.rows()) {
                throw new ModelScoringException("model " + model.modelVersion() + " returned " + out.rows()
                        + " rewards for a batch of " + batch.rows());
            }
            int[] idx = batch.originalIndex();
            for (int r = 0; r < idx.length; r++) {
                reward[idx[r]] = out.reward()[r];
                if (out.hasHeads()) {
                    heads[idx[r]] = out.heads()[r];
                }
                if (out.hasUncertainty()) {
                    uncertainty[idx[r]] = out.uncertainty()[r];
                }
                if (out.hasTokenRewards()) {
                    tokenRewards[idx[r]] = out.tokenRewards()[r];
                }
            }
            allTokenRewards &= out.hasTokenRewards();
            allHeads &= out.hasHeads();
            allUncertainty &= out.hasUncertainty();
        }
        boolean any = n > 0;
        return new ModelOutput(reward, any && allHeads ? heads : null, any && allUncertainty ? uncertainty : null,
                any && allTokenRewards ? tokenRewards : null);
    }
}
