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
 * fails on one shape) only when its call fails alone twice, at least once after another row of the batch scored: that
 * shows the model works and the row is at fault, and a device that failed for a moment does not cost a good rollout.
 * When {@link #MAX_FAILED_CALLS_BEFORE_A_SCORE} calls failed and nothing scored, up to {@link #PROBES} single rows are
 * tried; when none of them scores either, the model is the problem and the whole batch is left to the caller's retry
 * ({@link BatchNotScoredException}). Once anything scored, the search goes on to the last row.
 *
 * <p>Only on the failure path: a batch whose call succeeds never comes here. Cost for a batch of n rows with one
 * poison row: about 2·log2(n) + 2 calls; for a model that is down, 1 + 6 + 3 calls per retry. Stateless; thread-safe
 * if the model is.
 */
final class RowIsolation {
    /**
     * Failed calls without any part scoring after which single rows are probed: two levels of halves (2 + 4 calls),
     * so up to three poison rows in one batch are found without probing.
     */
    static final int MAX_FAILED_CALLS_BEFORE_A_SCORE = 6;
    /** Single rows tried, each once, when the budget is spent and nothing scored. */
    static final int PROBES = 3;

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
        Search search = new Search(model, planner, seqs);
        Deque<int[]> parts = new ArrayDeque<>();   // breadth first: every level is tried before a deeper one
        split(all(seqs.size()), parts);
        List<Integer> suspects = new ArrayList<>();   // failed alone twice before anything scored
        while (!parts.isEmpty()) {
            if (!search.anyScored && search.failedCalls >= MAX_FAILED_CALLS_BEFORE_A_SCORE
                    && !search.probe(parts)) {
                break;
            }
            int[] rows = parts.poll();
            if (search.score(rows)) {
                continue;
            }
            if (rows.length > 1) {
                split(rows, parts);
            } else if (!search.score(rows)) {   // a single row's second call
                if (search.anyScored) {
                    search.refused[rows[0]] = search.lastFailure;
                } else {
                    suspects.add(rows[0]);
                }
            }
        }
        if (!search.anyScored) {
            throw new BatchNotScoredException("model " + model.modelVersion() + " failed to score " + seqs.size()
                    + " rollouts, and every part of them after " + search.calls + " more calls: "
                    + first.getMessage(), first);
        }
        for (int i : suspects) {   // failed alone before the model showed it works: once more now
            if (!search.score(new int[]{i})) {
                search.refused[i] = search.lastFailure;
            }
        }
        return new Outcome(search.output(), search.refused, search.calls);
    }

    /** The calls of one isolation and what they returned. Not thread-safe (one isolation). */
    private static final class Search {
        private final RewardModel model;
        private final BatchPlanner planner;
        private final List<EncodedSequence> seqs;
        private final float[] reward;
        private final float[][] heads;
        private final float[] uncertainty;
        private final float[][] tokenRewards;
        private final RuntimeException[] refused;
        private boolean allHeads = true;
        private boolean allUncertainty = true;
        private boolean allTokenRewards = true;
        private boolean anyScored;
        private int calls;
        private int failedCalls;
        private RuntimeException lastFailure;

        Search(RewardModel model, BatchPlanner planner, List<EncodedSequence> seqs) {
            this.model = model;
            this.planner = planner;
            this.seqs = seqs;
            int n = seqs.size();
            reward = new float[n];
            heads = new float[n][];
            uncertainty = new float[n];
            tokenRewards = new float[n][];
            refused = new RuntimeException[n];
        }

        /** Scores {@code rows} in one plan and keeps their outputs; false (and {@link #lastFailure}) when it fails. */
        boolean score(int[] rows) {
            calls++;
            ModelOutput out;
            try {
                out = PlanScorer.score(model, planner.plan(subset(seqs, rows)));
            } catch (RuntimeException e) {
                failedCalls++;
                lastFailure = e;
                return false;
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
            return true;
        }

        /** Tries the first row of up to {@link #PROBES} waiting parts alone: whether one scored. */
        boolean probe(Deque<int[]> parts) {
            int tried = 0;
            for (int[] part : parts) {
                if (tried++ == PROBES) {
                    break;
                }
                if (score(new int[]{part[0]})) {
                    return true;
                }
            }
            return false;
        }

        ModelOutput output() {
            return new ModelOutput(reward, allHeads ? heads : null, allUncertainty ? uncertainty : null,
                    allTokenRewards ? tokenRewards : null);
        }
    }

    private static int[] all(int n) {
        int[] rows = new int[n];
        Arrays.setAll(rows, i -> i);
        return rows;
    }

    /** Both halves of {@code rows} (a single row is its own part). */
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
