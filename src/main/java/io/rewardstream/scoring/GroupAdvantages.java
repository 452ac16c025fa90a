package io.rewardstream.scoring;

import java.util.Locale;

/**
 * Group-relative advantages (GRPO, RLOO) over the rewards of one complete group. Pure functions;
 * thread-safe. Inputs are not modified.
 */
public final class GroupAdvantages {

    /** Advantage estimator. */
    public enum Method {
        /** {@code (r - mean) / (sample std + eps)}; std is 0 for a single member. */
        GRPO,
        /** {@code r - mean of the other members}; 0 for a single member. */
        RLOO,
        /** {@code r} unchanged. */
        NONE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Parses {@code grpo | rloo | none}, case-insensitively. */
        public static Method parse(String s) {
            if (s != null) {
                for (Method m : values()) {
                    if (m.id().equalsIgnoreCase(s.trim())) {
                        return m;
                    }
                }
            }
            throw new IllegalArgumentException("unknown group advantage '" + s + "' (expected grpo, rloo or none)");
        }
    }

    private GroupAdvantages() {
    }

    /**
     * One advantage per reward, in the same order.
     *
     * @param r      the rewards of the group members (s', or s' - beta*kl when KL is included); at least one
     * @param method estimator
     * @param eps    GRPO epsilon (>= 0); ignored by the other methods
     * @throws IllegalArgumentException when {@code r} is empty or holds a non-finite value, or eps is invalid
     */
    public static double[] compute(double[] r, Method method, double eps) {
        check(r);
        if (!Double.isFinite(eps) || eps < 0) {
            throw new IllegalArgumentException("group advantages: eps must be finite and >= 0, got " + eps);
        }
        int n = r.length;
        double[] out = new double[n];
        switch (method) {
            case NONE -> System.arraycopy(r, 0, out, 0, n);
            case GRPO -> {
                double mean = mean(r);
                double denom = std(r) + eps;
                for (int i = 0; i < n; i++) {
                    // With all rewards equal the numerator is exactly 0; with eps = 0 avoid 0/0.
                    out[i] = denom == 0 ? 0.0 : (r[i] - mean) / denom;
                }
            }
            case RLOO -> {
                if (n > 1) {
                    double sum = sum(r);
                    for (int i = 0; i < n; i++) {
                        out[i] = r[i] - (sum - r[i]) / (n - 1);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Best-of-N ranks: 1 for the highest value, ties share the best rank of their run (competition ranking: 1, 2, 2, 4).
     * NaN ranks last.
     */
    public static int[] ranks(double[] r) {
        int[] out = new int[r.length];
        for (int i = 0; i < r.length; i++) {
            int better = 0;
            for (double v : r) {
                // Double.compare orders NaN above everything: treat NaN as the lowest
                if (!Double.isNaN(v) && (Double.isNaN(r[i]) || v > r[i])) {
                    better++;
                }
            }
            out[i] = better + 1;
        }
        return out;
    }

    /** Mean of {@code r} (at least one finite value). */
    public static double mean(double[] r) {
        check(r);
        return sum(r) / r.length;
    }

    /** Sample standard deviation (n - 1) of {@code r}; 0 for a single value. */
    public static double std(double[] r) {
        check(r);
        int n = r.length;
        if (n < 2) {
            return 0.0;
        }
        double mean = sum(r) / n;
        double ss = 0;
        for (double v : r) {
            ss += (v - mean) * (v - mean);
        }
        return Math.sqrt(ss / (n - 1));
    }

    private static double sum(double[] r) {
        double s = 0;
        for (double v : r) {
            s += v;
        }
        return s;
    }

    private static void check(double[] r) {
        if (r == null || r.length == 0) {
            throw new IllegalArgumentException("group advantages: need at least one reward");
        }
        for (int i = 0; i < r.length; i++) {
            if (!Double.isFinite(r[i])) {
                throw new IllegalArgumentException("group advantages: reward " + i + " is not finite: " + r[i]);
            }
        }
    }
}
