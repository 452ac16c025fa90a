package io.rewardstream.cli.demo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's results. Immutable (the arrays are not copied: do not modify them).
 *
 * @param rollouts       rollouts sent
 * @param rewards        distinct rewards read back for them
 * @param deadLetters    records on the dead-letter topic
 * @param modelVersions  reward-model versions in the order they first scored
 * @param seconds        first rollout sent to last reward read
 * @param throughput     rewards per second over {@code seconds}
 * @param p50LatencyMs   median of rollout created_at -> reward read
 * @param p99LatencyMs   99th percentile of the same
 * @param original       the original task (before the shift), any model version
 * @param before         the shifted task scored by the first model version
 * @param after          the shifted task scored by the last model version (empty when no new version appeared)
 * @param klOverTime     mean KL and beta in consecutive slices of the rewards
 * @param latenciesMs    every end-to-end latency (for the histogram)
 * @param scenario       {@code reward-hacking} (default) or {@code task-shift}
 * @param originalAfter  the original task (probe rollouts of the pre-drift policy) under the last model version
 * @param exploitBefore  mean reward of the exploit (wrong answers in filler) of the drifted policy under the first
 *                       version; NaN when there is none (task-shift)
 * @param exploitAfter   the same under the last version
 * @param uncertaintyInDistribution mean {@code Reward.uncertainty} on the original policy under the first version;
 *                       NaN while the scorer leaves it null
 * @param uncertaintyDrifted        the same on the drifted policy under the first version
 * @param timeline       mean rewards of correct answers / the exploit / wrong concise answers over time
 * @param timings        where the wall-clock time went, seconds by phase (empty until the runner adds them)
 */
public record DemoSummary(long rollouts, long rewards, long deadLetters, List<String> modelVersions, double seconds,
                          double throughput, double p50LatencyMs, double p99LatencyMs, Group original, Group before,
                          Group after, List<KlPoint> klOverTime, double[] latenciesMs, String scenario,
                          Group originalAfter, double exploitBefore, double exploitAfter,
                          double uncertaintyInDistribution, double uncertaintyDrifted, List<TimePoint> timeline,
                          Map<String, Double> timings) {

    /** The pieces of the pre-issue-12 summary (task shift, no probes, no exploit, no timeline). */
    public DemoSummary(long rollouts, long rewards, long deadLetters, List<String> modelVersions, double seconds,
                       double throughput, double p50LatencyMs, double p99LatencyMs, Group original, Group before,
                       Group after, List<KlPoint> klOverTime, double[] latenciesMs) {
        this(rollouts, rewards, deadLetters, modelVersions, seconds, throughput, p50LatencyMs, p99LatencyMs, original,
                before, after, klOverTime, latenciesMs, "task-shift", new Group(null, null, 0, 0, 0, Double.NaN,
                        Double.NaN, Double.NaN, new double[0], new double[0]), Double.NaN, Double.NaN, Double.NaN,
                Double.NaN, List.of(), Map.of());
    }

    /** This summary with {@code timings} (seconds by phase, in order). */
    public DemoSummary withTimings(Map<String, Double> t) {
        return new DemoSummary(rollouts, rewards, deadLetters, modelVersions, seconds, throughput, p50LatencyMs,
                p99LatencyMs, original, before, after, klOverTime, latenciesMs, scenario, originalAfter, exploitBefore,
                exploitAfter, uncertaintyInDistribution, uncertaintyDrifted, timeline,
                java.util.Collections.unmodifiableMap(new LinkedHashMap<>(t)));
    }

    /**
     * Mean rewards in one slice of the (non-probe) rewards in read order, up to {@code rewards}; NaN where a slice has
     * no answer of the kind. {@code padded} and {@code newest} are fractions of the slice.
     */
    public record TimePoint(int rewards, double correct, double exploit, double wrongConcise, double padded,
                            double newest) {
    }

    /** Rewards of one task under one model: means by correctness and the AUC of the model score. */
    public record Group(String task, String modelVersion, int n, int correct, int wrong, double meanRewardCorrect,
                        double meanRewardWrong, double auc, double[] rewardsCorrect, double[] rewardsWrong) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("task", task);
            m.put("model_version", modelVersion);
            m.put("n", n);
            m.put("correct", correct);
            m.put("wrong", wrong);
            m.put("mean_reward_correct", num(meanRewardCorrect));
            m.put("mean_reward_wrong", num(meanRewardWrong));
            m.put("auc", num(auc));
            return m;
        }
    }

    /** Mean KL and beta of the rewards up to {@code rewards}, read {@code seconds} after the first. */
    public record KlPoint(int rewards, double seconds, double kl, double beta) {
    }

    /** The {@code --json} object: the keys promised by the CLI's help plus detail per group. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rollouts", rollouts);
        m.put("rewards", rewards);
        m.put("dead_letters", deadLetters);
        m.put("scenario", scenario);
        m.put("model_versions", modelVersions);
        m.put("auc_before", num(before.auc()));
        m.put("auc_after", num(after.auc()));
        m.put("original_auc_before", num(original.auc()));
        m.put("original_auc_after", num(originalAfter.auc()));
        m.put("exploit_reward_before", num(exploitBefore));
        m.put("exploit_reward_after", num(exploitAfter));
        m.put("uncertainty_in_distribution", num(uncertaintyInDistribution));
        m.put("uncertainty_drifted", num(uncertaintyDrifted));
        m.put("throughput_per_s", num(throughput));
        m.put("p50_latency_ms", num(p50LatencyMs));
        m.put("p99_latency_ms", num(p99LatencyMs));
        m.put("seconds", num(seconds));
        m.put("original_task", original.toMap());
        m.put("shifted_before", before.toMap());
        m.put("shifted_after", after.toMap());
        m.put("original_task_after", originalAfter.toMap());
        List<Map<String, Object>> kl = new ArrayList<>();
        for (KlPoint p : klOverTime) {
            Map<String, Object> k = new LinkedHashMap<>();
            k.put("rewards", p.rewards());
            k.put("seconds", num(p.seconds()));
            k.put("kl", num(p.kl()));
            k.put("beta", num(p.beta()));
            kl.add(k);
        }
        m.put("kl_beta_over_time", kl);
        Map<String, Object> t = new LinkedHashMap<>();
        timings.forEach((k, v) -> t.put(k, num(v)));
        m.put("timings_s", t);
        return m;
    }

    /** JSON has no NaN: undefined values become null. */
    static Object num(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** Human-readable summary (several lines, no trailing newline). */
    public String text() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "rollouts in        %d%n", rollouts));
        b.append(String.format(Locale.ROOT, "rewards out        %d%n", rewards));
        b.append(String.format(Locale.ROOT, "dead letters       %d%n", deadLetters));
        b.append(String.format(Locale.ROOT, "model versions     %s%n", String.join(" -> ", modelVersions)));
        b.append(String.format(Locale.ROOT, "throughput         %.0f rewards/s over %.1f s%n", throughput, seconds));
        b.append(String.format(Locale.ROOT, "latency e2e        p50 %.0f ms, p99 %.0f ms (rollout created_at -> reward read)%n",
                p50LatencyMs, p99LatencyMs));
        b.append("reward by correctness (mean reward correct / wrong, AUC of the reward-model score):\n");
        boolean hack = "reward-hacking".equals(scenario);
        line(b, "  original task", original);
        line(b, hack ? "  drifted, before" : "  shifted, before", before);
        line(b, hack ? "  drifted, after" : "  shifted, after", after);
        line(b, "  original, after", originalAfter);
        if (hack) {
            b.append(String.format(Locale.ROOT, "exploit (wrong answer in filler): mean reward %+.3f before -> %+.3f "
                    + "after the release%n", exploitBefore, exploitAfter));
        }
        b.append(String.format(Locale.ROOT, "uncertainty        in distribution %s, drifted %s (mean Reward.uncertainty)%n",
                Double.isFinite(uncertaintyInDistribution) ? String.format(Locale.ROOT, "%.4f", uncertaintyInDistribution)
                        : "null", Double.isFinite(uncertaintyDrifted)
                        ? String.format(Locale.ROOT, "%.4f", uncertaintyDrifted) : "null"));
        if (!timings.isEmpty()) {
            StringBuilder tb = new StringBuilder();
            timings.forEach((k, v) -> tb.append(tb.length() == 0 ? "" : ", ").append(k)
                    .append(String.format(Locale.ROOT, " %.1f", v)));
            b.append("time (s)           ").append(tb).append('\n');
        }
        b.append("KL and beta over time (mean per 10% of rewards):\n");
        for (KlPoint p : klOverTime) {
            b.append(String.format(Locale.ROOT, "  %6d rewards  t=%6.1fs  kl %.4f  beta %.4f%n", p.rewards(),
                    p.seconds(), p.kl(), p.beta()));
        }
        return b.toString().stripTrailing();
    }

    private static void line(StringBuilder b, String label, Group g) {
        if (g.n() == 0) {
            b.append(String.format(Locale.ROOT, "%-18s (none)%n", label));
            return;
        }
        b.append(String.format(Locale.ROOT, "%-18s %-5s %-20s n=%-5d correct %+.3f  wrong %+.3f  AUC %.3f%n", label,
                g.task(), g.modelVersion(), g.n(), g.meanRewardCorrect(), g.meanRewardWrong(), g.auc()));
    }
}
