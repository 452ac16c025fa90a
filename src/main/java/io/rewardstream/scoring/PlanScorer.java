package io.rewardstream.scoring;

/**
 * Scores a whole {@link BatchPlan} batch by batch and maps results back to the original order. Stateless.
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
        for (PaddedBatch batch : plan.batches()) {
            ModelOutput out = model.score(batch);
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
