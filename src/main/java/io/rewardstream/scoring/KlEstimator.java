package io.rewardstream.scoring;

import java.util.Locale;

/**
 * Per-token estimators of KL(policy || reference) from the log-ratio {@code d = lp - lr} of the sampled
 * token (Schulman, "Approximating KL divergence"). Stateless; thread-safe.
 */
public enum KlEstimator {
    /** {@code d}: unbiased, may be negative per token. */
    K1,
    /** {@code d^2 / 2}: biased, non-negative, low variance. */
    K2,
    /** {@code exp(-d) - 1 + d}: unbiased and non-negative. */
    K3,
    /** {@code |d|}. */
    ABS;

    /** The raw (unclamped) estimate for one token. */
    public double estimate(double d) {
        return switch (this) {
            case K1 -> d;
            case K2 -> 0.5 * d * d;
            // expm1 keeps precision for small |d|; overflows to +Infinity for very negative d, which the clamp absorbs.
            case K3 -> Math.expm1(-d) + d;
            case ABS -> Math.abs(d);
        };
    }

    /** The estimate clamped to {@code [-clamp, clamp]}. */
    public double estimate(double d, double clamp) {
        double v = estimate(d);
        return Math.max(-clamp, Math.min(clamp, v));
    }

    /** Lower-case config name ({@code k1}, {@code k2}, {@code k3}, {@code abs}). */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a config name, case-insensitively. @throws IllegalArgumentException naming the valid values */
    public static KlEstimator parse(String s) {
        if (s != null) {
            for (KlEstimator e : values()) {
                if (e.id().equalsIgnoreCase(s.trim())) {
                    return e;
                }
            }
        }
        throw new IllegalArgumentException("unknown KL estimator '" + s + "' (expected k1, k2, k3 or abs)");
    }
}
