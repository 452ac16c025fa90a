package io.rewardstream.scoring;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * Finds the rows a model call fails on, after a whole batch failed: the batch is cut in halves, level by level, and
 * each part is scored on its own, so the rows of every part that scores are kept and only a failing part is cut again.
 * A row is refused (a poison row: a release whose embedding is smaller than its manifest's vocabulary, a graph that
 * fails on one shape) only when its call fails alone twice while other rows of the batch scored: that shows the model
 * works and the row is at fault. When no part scores within {@link #MAX_FAILED_CALLS_BEFORE_A_SCORE} calls, or at
 * all, the model is the problem and the whole batch is left to the caller's retry ({@link BatchNotScoredException}).
 *
 * <p>Only on the failure path: a batch whose call succeeds never comes here. Cost for a batch of n rows with one
 * poison row: about 2·log2(n) + 2 calls. Stateless; thread-safe if the model is.
 */
final class RowIsolation {
    /**
     * Failed calls without any part scoring after which the model, not a row, is taken to be failing: two levels of
     * halves (2 + 4 calls), so up to three poison rows in one batch are still found, and a model that is down costs
     * six extra calls per retry.
     */
    static final int MAX_FAILED_CALLS_BEFORE_A_SCORE = 6;

    /**
     * The scores of the rows that scored and the failure of each refused row.
     *
     * @param output   indexed like the sequences; a refused row's entries are zero/null
     * @param refused  per row, the failure of its own call (null when it scored)
     * @param calls    model calls made (plans scored), for the log
     */
    record Outcome(ModelOutput output, RuntimeException[] refused, int calls) {
        int refusedCount() {
            int n = 0;
            for (RuntimeException e : refused) {
                if (e != null) {
                    n++;
                }
            }
            return n;
        }
    }

    private RowIsolation() {
    }

    /**
     * @param first the failure of the whole batch's call
     * @throws BatchNotScoredException when no row could be scored (the model, not a row, is failing)
     */
    static Outcome isolate(RewardModel model, BatchPlanner planner, List<EncodedSequence> seqs,
                           RuntimeException first) {
        int n = seqs.size();
        float[] reward = new float[n];
        float[][] heads = new float[n][];
        float[] uncertainty = new float[n];
        float[][] tokenRewards = new float[n][];
        boolean allHeads = true;
        boolean allUncertainty = true;
        boolean allTokenRewards = true;
        RuntimeException[] refused = new RuntimeException[n];
        boolean anyScored = false;
        int calls = 0;
        int failedCalls = 0;
        Deque<int[]> parts = new ArrayDeque<>();   // breadth first: every level is tried before a deeper one
        split(all(n), parts);
        while (!parts.isEmpty()) {
            int[] rows = parts.poll();
            ModelOutput out = null;
            RuntimeException failure = null;
            // a single row gets a second call before it is refused: a flaky device does not cost a good rollout
            for (int attempt = 0; attempt < (rows.length == 1 ? 2 : 1) && out == null; attempt++) {
                calls++;
                try {
                    out = PlanScorer.score(model, planner.plan(subset(seqs, rows)));
                } catch (RuntimeException e) {
                    failure = e;
                    failedCalls++;
                }
            }
            if (out == null) {
                if (!anyScored && failedCalls >= MAX_FAILED_CALLS_BEFORE_A_SCORE) {
                    break;
                }
                if (rows.length == 1) {
                    refused[rows[0]] = failure;
                } else {
                    split(rows, parts);
                }
                continue;
            }
            anyScored = true;
            for (int k = 0; k < rows.length; k++) {
                int i = rows[k];
                reward[i] = out.reward()[k];
                heads[i] = out.hasHeads() ? out.heads()[k] : null;
                uncertainty[i] = out.hasUncertainty() ? out.uncertainty()[k] : 0f;
                tokenRewards[i] = out.hasTokenRewards() ? out.tokenRewards()[k] : null;
            }
            allHeads &= out.hasHeads();
            allUncertainty &= out.hasUncertainty();
            allTokenRewards &= out.hasTokenRewards();
        }
        if (!anyScored) {
            throw new BatchNotScoredException("model " + model.modelVersion() + " failed to score " + n
                    + " rollouts, and every part of them after " + calls + " more calls: " + first.getMessage(), first);
        }
        return new Outcome(new ModelOutput(reward, allHeads ? heads : null, allUncertainty ? uncertainty : null,
                allTokenRewards ? tokenRewards : null), refused, calls);
    }

    private static int[] all(int n) {
        int[] rows = new int[n];
        Arrays.setAll(rows, i -> i);
        return rows;
    }

    /** Both halves of {@code rows} (a single row is its own part: its call is the one retry). */
    private static void split(int[] rows, Deque<int[]> parts) {
        if (rows.length == 1) {
            parts.add(rows);
            return;
        }
        int mid = rows.length / 2;
        parts.add(Arrays.copyOfRange(rows, 0, mid));
        parts.add(Arrays.copyOfRange(rows, mid, rows.length));
    }

    private static List<EncodedSequence> subset(List<EncodedSequence> seqs, int[] rows) {
        List<EncodedSequence> out = new ArrayList<>(rows.length);
        for (int i : rows) {
            out.add(seqs.get(i));
        }
        return out;
    }
}
