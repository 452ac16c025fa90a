package io.rewardstream.training;

import java.util.Map;

/**
 * The release gate: a candidate is released only if its held-out accuracy is at least the current model's
 * minus {@code tolerance} and none of either model's metrics is NaN; for a multi-objective model, the same holds for
 * each named head on its own objective's pairs. Stateless.
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

    /**
     * {@link #decide(EvalMetrics, EvalMetrics, double)}, and then each named head on its own objective's held-out
     * pairs: a head whose candidate accuracy is NaN, or below the current model's minus {@code tolerance}, refuses the
     * candidate (a gain on one objective must not hide a regression on another). Heads the current model has no
     * figure for are held to no floor.
     */
    public static Decision decide(EvalMetrics current, EvalMetrics candidate, double tolerance,
                                  Map<String, EvalMetrics> currentHeads, Map<String, EvalMetrics> candidateHeads) {
        Decision overall = decide(current, candidate, tolerance);
        if (!overall.release() || candidateHeads.isEmpty()) {
            return overall;
        }
        StringBuilder fig = new StringBuilder(overall.reason());
        for (var e : candidateHeads.entrySet()) {
            double acc = e.getValue().accuracy();
            EvalMetrics was = currentHeads.get(e.getKey());
            fig.append(String.format("; head %s %.4f vs %s", e.getKey(), acc,
                    was == null ? "none" : String.format("%.4f", was.accuracy())));
            if (Double.isNaN(acc)) {
                return new Decision(false, fig + ": head " + e.getKey() + " accuracy is NaN");
            }
            if (was != null && acc < was.accuracy() - tolerance) {
                return new Decision(false, fig + String.format(": head %s below the floor %.4f", e.getKey(),
                        was.accuracy() - tolerance));
            }
        }
        return new Decision(true, fig.toString());
    }

    /** True when any value is NaN (for extra metrics maps). */
    static boolean anyNaN(Map<String, Double> m) {
        return m.values().stream().anyMatch(v -> v != null && v.isNaN());
    }
}
