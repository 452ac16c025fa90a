package io.rewardstream.training;

import java.util.Map;

/**
 * The release gate: a candidate is released only if its held-out accuracy is at least the current model's
 * minus {@code tolerance} and none of either model's metrics is NaN. Stateless.
 */
public final class Gate {
    private Gate() {
    }

    /** Outcome and a one-line reason with the figures. */
    public record Decision(boolean release, String reason) {
    }

    public static Decision decide(EvalMetrics current, EvalMetrics candidate, double tolerance) {
        for (var e : candidate.asMap().entrySet()) {
            if (Double.isNaN(e.getValue())) {
                return new Decision(false, "candidate metric " + e.getKey() + " is NaN");
            }
        }
        if (current != null) {
            for (var e : current.asMap().entrySet()) {
                if (Double.isNaN(e.getValue())) {
                    return new Decision(false, "current model metric " + e.getKey() + " is NaN");
                }
            }
        }
        double floor = current == null ? 0 : current.accuracy() - tolerance;
        String fig = String.format("candidate accuracy %.4f vs current %s (tolerance %.4f)", candidate.accuracy(),
                current == null ? "none" : String.format("%.4f", current.accuracy()), tolerance);
        return candidate.accuracy() >= floor ? new Decision(true, fig) : new Decision(false, fig + ": below the floor "
                + String.format("%.4f", floor));
    }

    /** True when any value is NaN (for extra metrics maps). */
    static boolean anyNaN(Map<String, Double> m) {
        return m.values().stream().anyMatch(v -> v != null && v.isNaN());
    }
}
