package io.rewardstream.scoring;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Scores a whole {@link BatchPlan} and maps results back to the original order. A plan of several batches has ALL of
 * them in flight together (the caller runs the first, the others run on {@link #IN_FLIGHT}; a {@link RewardModel} is
 * thread-safe), so a device runs them back to back instead of idling while a thread wakes up and hands it the next
 * one. Not the common fork-join pool: a model call blocks (a TensorFlow session run, a device), and that pool has one
 * worker on two cores, shared by every stream thread, so one thread's call held back the other's batches. Stateless;
 * thread-safe.
 */
public final class PlanScorer {
    /**
     * Threads for the batches of a plan beyond its first ({@link HelperThreads}). Bounded by the batches in flight at
     * once: callers x batches per plan.
     */
    private static final ExecutorService IN_FLIGHT = HelperThreads.cached("rewardstream-plan-batch-");

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
            inFlight(model, batches, outs);
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

    /** Every batch in flight at once: the others on {@link #IN_FLIGHT}, the first on the caller; the first failure is
     * rethrown after every batch has ended (no call outlives the caller's lease). */
    private static void inFlight(RewardModel model, List<PaddedBatch> batches, ModelOutput[] outs) {
        @SuppressWarnings("unchecked")
        Future<ModelOutput>[] others = new Future[batches.size()];
        for (int b = 1; b < batches.size(); b++) {
            PaddedBatch batch = batches.get(b);
            others[b] = IN_FLIGHT.submit(() -> model.score(batch));
        }
        RuntimeException failure = null;
        try {
            outs[0] = model.score(batches.get(0));
        } catch (RuntimeException e) {
            failure = e;
        }
        boolean interrupted = false;
        for (int b = 1; b < batches.size(); b++) {
            while (true) {
                try {
                    outs[b] = others[b].get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;   // wait on: the lease must outlive every call on the model
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable c = e.getCause();
                    if (failure == null) {
                        failure = c instanceof RuntimeException re ? re : new CompletionException(c);
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw failure;
        }
    }
}
