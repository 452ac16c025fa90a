package io.rewardstream.cli.demo;

import java.util.Arrays;

/** Summary statistics of the demo and the benchmark. Stateless; thread-safe. */
public final class DemoStats {
    private DemoStats() {
    }

    /**
     * Area under the ROC curve of {@code scores} for telling {@code positive} from negative items, by the
     * Mann-Whitney U statistic with mid-ranks for ties: the probability that a random positive scores above a random
     * negative (ties count one half). O(n log n).
     *
     * @return the AUC in [0, 1], or NaN when either class is empty
     * @throws IllegalArgumentException when the arrays differ in length or a score is not finite
     */
    public static double auc(double[] scores, boolean[] positive) {
        if (scores.length != positive.length) {
            throw new IllegalArgumentException("auc: " + scores.length + " scores but " + positive.length + " labels");
        }
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new IllegalArgumentException("auc: score " + i + " is not finite: " + scores[i]);
            }
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        double rankSumPos = 0;
        long pos = 0;
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) {
                j++;
            }
            double midRank = (i + j) / 2.0 + 1;   // ranks are 1-based
            for (int k = i; k <= j; k++) {
                if (positive[order[k]]) {
                    rankSumPos += midRank;
                    pos++;
                }
            }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) {
            return Double.NaN;
        }
        double u = rankSumPos - pos * (pos + 1) / 2.0;
        return u / ((double) pos * neg);
    }

    /**
     * Percentile by linear interpolation between closest ranks (the "R-7" / NumPy default definition).
     *
     * @param p in [0, 100]
     * @return NaN for an empty array
     */
    public static double percentile(double[] values, double p) {
        if (p < 0 || p > 100 || Double.isNaN(p)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        double h = (v.length - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        int hi = Math.min(v.length - 1, lo + 1);
        return v[lo] + (h - lo) * (v[hi] - v[lo]);
    }

    /** Arithmetic mean; NaN for an empty array. */
    public static double mean(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double s = 0;
        for (double x : values) {
            s += x;
        }
        return s / values.length;
    }
}
