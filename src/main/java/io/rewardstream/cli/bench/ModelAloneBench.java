package io.rewardstream.cli.bench;

import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.BatchPlan;
import io.rewardstream.scoring.BatchPlanner;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapingConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The bench's model-alone stages: the reward model timed on pre-built padded batches planned by the scorer's own
 * pipeline (encoder and planner) from the bench's rollouts, and the padding what-if. No Kafka. Stateless.
 */
final class ModelAloneBench {
    private ModelAloneBench() {
    }

    /** Sequences/s of the model on batches planned like the scorer's (length-bucketed chunks of {@code batch}). */
    static double modelAlone(RewardModel model, List<Rollout> rollouts, int batch) {
        List<PaddedBatch> batches = new ArrayList<>();
        int seqs = 0;
        {
            // the scorer's own pipeline: same encoder (the model's) and planner as the topology
            ScoringPipeline pipeline = pipeline(model, batch);
            int limit = Math.min(rollouts.size(), batch == 1 ? 400 : rollouts.size());
            for (int from = 0; from < limit; from += batch) {
                List<EncodedSequence> chunk = new ArrayList<>();
                for (Rollout r : rollouts.subList(from, Math.min(limit, from + batch))) {
                    chunk.add(pipeline.encode(ScoringInput.partsOf(r)));
                }
                BatchPlan plan = pipeline.planner().plan(chunk);
                batches.addAll(plan.batches());
                seqs += chunk.size();
            }
        }
        return seqPerSecond(model, batches, seqs);
    }

    /** Sequences/s of {@code model} scoring {@code batches} (holding {@code seqs} sequences) over and over for 2 s. */
    private static double seqPerSecond(RewardModel model, List<PaddedBatch> batches, int seqs) {
        for (PaddedBatch b : batches.subList(0, Math.min(batches.size(), 5))) {
            model.score(b);   // warm these shapes
        }
        long t0 = System.nanoTime();
        long done = 0;
        do {
            for (PaddedBatch b : batches) {
                model.score(b);
            }
            done += seqs;
        } while (System.nanoTime() - t0 < 2_000_000_000L);
        return done / ((System.nanoTime() - t0) / 1e9);
    }

    /** The scorer's pipeline for {@code model} with flushes of {@code batch} rollouts (default shaping and padding). */
    static ScoringPipeline pipeline(RewardModel model, int batch) {
        return ScoringPipeline.forModel(model, ScoringPipeline.Settings.of(ShapingConfig.defaults(),
                new BatchingConfig(batch, 1 << 20, BatchingConfig.DEFAULTS.padMultiple(), 200,
                        BatchingConfig.DEFAULTS.callOverheadTokens())));
    }

    /**
     * What-if for the padding finding: a greedy alternative to the scorer's planner (which cuts a sorted flush at the
     * cheapest point, padded tokens + a per-call overhead). This plan sorts by length like the planner and starts a
     * new batch whenever adding a row would drop the batch's padding efficiency below {@code minEfficiency}, whatever
     * the extra calls cost.
     */
    static List<PaddedBatch> paddingAwarePlan(List<EncodedSequence> seqs, BatchPlanner planner, double minEfficiency) {
        Integer[] order = new Integer[seqs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingInt(i -> seqs.get(i).length()));
        List<PaddedBatch> out = new ArrayList<>();
        List<Integer> cur = new ArrayList<>();
        long real = 0;
        for (int idx : order) {
            int len = seqs.get(idx).length();
            long padded = (long) (cur.size() + 1) * planner.paddedLength(len);
            if (!cur.isEmpty() && (cur.size() + 1 > planner.config().maxSize()
                    || (double) (real + len) / padded < minEfficiency)) {
                out.add(pad(seqs, cur, planner));
                cur.clear();
                real = 0;
            }
            cur.add(idx);
            real += len;
        }
        if (!cur.isEmpty()) {
            out.add(pad(seqs, cur, planner));
        }
        return out;
    }

    static PaddedBatch pad(List<EncodedSequence> seqs, List<Integer> rows, BatchPlanner planner) {
        int[][] ids = new int[rows.size()][];
        int[] index = new int[rows.size()];
        int longest = 1;
        for (int r = 0; r < rows.size(); r++) {
            index[r] = rows.get(r);
            ids[r] = seqs.get(index[r]).ids();
            longest = Math.max(longest, ids[r].length);
        }
        return PaddedBatch.of(ids, index, planner.paddedLength(longest), 0);
    }

    /** {seq/s, padding efficiency} of the model on flush-sized chunks planned by the planner or padding-aware. */
    static double[] modelAlonePlanned(RewardModel model, List<Rollout> rollouts, int flush, double minEfficiency) {
        return modelAlonePlanned(model, rollouts, new BatchingConfig(flush, 1 << 20,
                BatchingConfig.DEFAULTS.padMultiple(), 200, BatchingConfig.DEFAULTS.callOverheadTokens()), minEfficiency);
    }

    /** As above with explicit batching (flush = {@code batching.maxSize()}). */
    static double[] modelAlonePlanned(RewardModel model, List<Rollout> rollouts, BatchingConfig batching,
                                      double minEfficiency) {
        int flush = batching.maxSize();
        List<PaddedBatch> batches = new ArrayList<>();
        int seqs = 0;
        {
            ScoringPipeline pipeline = ScoringPipeline.forModel(model, ScoringPipeline.Settings.of(
                    ShapingConfig.defaults(), batching));
            BatchPlanner planner = pipeline.planner();
            for (int from = 0; from < rollouts.size(); from += flush) {
                List<EncodedSequence> chunk = new ArrayList<>();
                for (Rollout r : rollouts.subList(from, Math.min(rollouts.size(), from + flush))) {
                    chunk.add(pipeline.encode(ScoringInput.partsOf(r)));
                }
                batches.addAll(minEfficiency > 0 ? paddingAwarePlan(chunk, planner, minEfficiency)
                        : planner.plan(chunk).batches());
                seqs += chunk.size();
            }
        }
        long realTokens = batches.stream().mapToLong(PaddedBatch::realTokens).sum();
        long paddedTokens = batches.stream().mapToLong(PaddedBatch::paddedTokens).sum();
        return new double[]{seqPerSecond(model, batches, seqs), (double) realTokens / paddedTokens};
    }
}
