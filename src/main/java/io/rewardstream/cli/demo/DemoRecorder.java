package io.rewardstream.cli.demo;

import io.rewardstream.avro.Reward;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Remembers what the simulated policy sent (correctness and task of every rollout id) and what came back (one
 * {@link Observation} per reward), and turns both into a {@link DemoSummary}. {@link #produced} and
 * {@link #observe} may be called from different threads; {@link #summary} after both stopped.
 */
public final class DemoRecorder {

    /** What is known about a rollout when it is sent. */
    public record Sent(boolean correct, String task, boolean shifted, boolean padded, boolean probe) {
    }

    /**
     * One reward read back, joined with what was sent.
     *
     * @param shifted     sent by the drifted (or shifted-task) policy
     * @param padded      the answer was wrapped in filler
     * @param probe       sent by the original policy after the drift, to measure the original task under later models
     * @param uncertainty {@code Reward.uncertainty}, NaN when null
     */
    public record Observation(String rolloutId, boolean correct, String task, boolean shifted, String modelVersion,
                              double score, double reward, double kl, double beta, long latencyMs, long readAtMs,
                              boolean padded, boolean probe, double uncertainty) {
        /** The exploit of the reward-hacking story: a wrong answer wrapped in filler. */
        boolean exploit() {
            return padded && !correct;
        }
    }

    private final Map<String, Sent> sent = new ConcurrentHashMap<>();
    private final List<Observation> observations = new ArrayList<>();
    private final Map<String, Boolean> seen = new ConcurrentHashMap<>();
    private final AtomicLong produced = new AtomicLong();
    private final AtomicLong unknown = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private final long startMs;

    public DemoRecorder(long startMs) {
        this.startMs = startMs;
    }

    public void produced(String rolloutId, boolean correct, String task, boolean shifted) {
        produced(rolloutId, correct, task, shifted, false, false);
    }

    public void produced(String rolloutId, boolean correct, String task, boolean shifted, boolean padded,
                         boolean probe) {
        sent.put(rolloutId, new Sent(correct, task, shifted, padded, probe));
        produced.incrementAndGet();
    }

    /** Records a reward read at {@code readAtMs}; rewards of unknown rollouts and duplicates are counted, not kept. */
    public void observe(Reward r, long readAtMs) {
        Sent s = sent.get(r.getRolloutId());
        if (s == null) {
            unknown.incrementAndGet();
            return;
        }
        if (seen.putIfAbsent(r.getRolloutId(), Boolean.TRUE) != null) {
            duplicates.incrementAndGet();
            return;
        }
        long latency = readAtMs - r.getRolloutCreatedAt().toEpochMilli();
        synchronized (observations) {
            observations.add(new Observation(r.getRolloutId(), s.correct(), s.task(), s.shifted(), r.getModelVersion(),
                    r.getScore(), r.getReward(), r.getKl(), r.getKlCoef(), latency, readAtMs, s.padded(), s.probe(),
                    r.getUncertainty() == null ? Double.NaN : r.getUncertainty()));
        }
    }

    public long producedCount() {
        return produced.get();
    }

    public int rewardCount() {
        synchronized (observations) {
            return observations.size();
        }
    }

    public long duplicates() {
        return duplicates.get();
    }

    public long unknown() {
        return unknown.get();
    }

    /** Model versions in the order they first scored a reward. */
    public List<String> modelVersions() {
        LinkedHashSet<String> v = new LinkedHashSet<>();
        for (Observation o : snapshot()) {
            v.add(o.modelVersion());
        }
        return new ArrayList<>(v);
    }

    /** The newest model version seen so far, or null. */
    public String latestModelVersion() {
        synchronized (observations) {
            return observations.isEmpty() ? null : observations.get(observations.size() - 1).modelVersion();
        }
    }

    public List<Observation> snapshot() {
        synchronized (observations) {
            return List.copyOf(observations);
        }
    }

    /**
     * @param deadLetters records on the dead-letter topic
     * @param seconds     wall-clock seconds from the first rollout sent to the last reward read
     */
    public DemoSummary summary(long deadLetters, double seconds) {
        return summary(deadLetters, seconds, "task-shift");
    }

    /**
     * @param deadLetters records on the dead-letter topic
     * @param seconds     wall-clock seconds from the first rollout sent to the last reward read
     * @param scenario    the demo's story ({@code reward-hacking} or {@code task-shift})
     */
    public DemoSummary summary(long deadLetters, double seconds, String scenario) {
        List<Observation> obs = snapshot();
        List<String> versions = modelVersions();
        String first = versions.isEmpty() ? null : versions.get(0);
        String last = versions.isEmpty() ? null : versions.get(versions.size() - 1);
        boolean released = versions.size() >= 2;
        List<Observation> before = obs.stream().filter(o -> o.shifted() && !o.probe()
                && o.modelVersion().equals(first)).toList();
        List<Observation> after = !released ? List.of()
                : obs.stream().filter(o -> o.shifted() && !o.probe() && o.modelVersion().equals(last)).toList();
        List<Observation> original = obs.stream().filter(o -> !o.shifted() && !o.probe()).toList();
        List<Observation> originalAfter = !released ? List.of()
                : obs.stream().filter(o -> o.probe() && o.modelVersion().equals(last)).toList();
        double[] lat = obs.stream().mapToDouble(Observation::latencyMs).toArray();
        return new DemoSummary(producedCount(), obs.size(), deadLetters, versions, seconds,
                seconds > 0 ? obs.size() / seconds : Double.NaN,
                DemoStats.percentile(lat, 50), DemoStats.percentile(lat, 99),
                group(original), group(before), group(after), klOverTime(obs, 10), lat, scenario,
                group(originalAfter), meanReward(before, Observation::exploit), meanReward(after, Observation::exploit),
                meanUncertainty(original), meanUncertainty(before), timeline(obs, 20, last), Map.of());
    }

    private static double meanReward(List<Observation> obs, java.util.function.Predicate<Observation> which) {
        return DemoStats.mean(obs.stream().filter(which).mapToDouble(Observation::reward).toArray());
    }

    /** Mean of the non-null uncertainties; NaN when there are none (the scorer does not fill it). */
    private static double meanUncertainty(List<Observation> obs) {
        return DemoStats.mean(obs.stream().mapToDouble(Observation::uncertainty).filter(Double::isFinite).toArray());
    }

    /** Mean reward of correct answers, of the exploit and of wrong concise answers in consecutive slices. */
    static List<DemoSummary.TimePoint> timeline(List<Observation> all, int bins, String last) {
        List<Observation> obs = all.stream().filter(o -> !o.probe()).toList();
        List<DemoSummary.TimePoint> out = new ArrayList<>();
        int n = obs.size();
        int b = Math.min(bins, n);
        for (int i = 0; i < b; i++) {
            List<Observation> slice = obs.subList((int) ((long) n * i / b), (int) ((long) n * (i + 1) / b));
            out.add(new DemoSummary.TimePoint((int) ((long) n * (i + 1) / b),
                    meanReward(slice, Observation::correct),
                    meanReward(slice, Observation::exploit),
                    meanReward(slice, o -> !o.correct() && !o.padded()),
                    slice.stream().filter(Observation::padded).count() / (double) slice.size(),
                    slice.stream().filter(o -> o.modelVersion().equals(last)).count() / (double) slice.size()));
        }
        return out;
    }

    private static DemoSummary.Group group(List<Observation> obs) {
        double[] s = obs.stream().mapToDouble(Observation::score).toArray();
        boolean[] y = new boolean[obs.size()];
        for (int i = 0; i < y.length; i++) {
            y[i] = obs.get(i).correct();
        }
        double[] rc = obs.stream().filter(Observation::correct).mapToDouble(Observation::reward).toArray();
        double[] rw = obs.stream().filter(o -> !o.correct()).mapToDouble(Observation::reward).toArray();
        String task = obs.isEmpty() ? null : obs.get(0).task();
        String version = obs.isEmpty() ? null : obs.get(0).modelVersion();
        return new DemoSummary.Group(task, version, obs.size(), rc.length, rw.length, DemoStats.mean(rc),
                DemoStats.mean(rw), DemoStats.auc(s, y), rc, rw);
    }

    /** Mean KL and beta of {@code bins} consecutive, equally sized slices of the rewards in read order. */
    static List<DemoSummary.KlPoint> klOverTime(List<Observation> obs, int bins) {
        List<DemoSummary.KlPoint> out = new ArrayList<>();
        if (obs.isEmpty()) {
            return out;
        }
        long t0 = obs.get(0).readAtMs();
        int n = obs.size();
        int b = Math.min(bins, n);
        for (int i = 0; i < b; i++) {
            int from = (int) ((long) n * i / b);
            int to = (int) ((long) n * (i + 1) / b);
            List<Observation> slice = obs.subList(from, to);
            out.add(new DemoSummary.KlPoint(to,
                    (slice.get(slice.size() - 1).readAtMs() - t0) / 1000.0,
                    DemoStats.mean(slice.stream().mapToDouble(Observation::kl).toArray()),
                    DemoStats.mean(slice.stream().mapToDouble(Observation::beta).toArray())));
        }
        return out;
    }

    /** Every observation's fields for a CSV or the plots. */
    public static Map<String, Object> row(Observation o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("rollout_id", o.rolloutId());
        m.put("task", o.task());
        m.put("correct", o.correct());
        m.put("model_version", o.modelVersion());
        m.put("score", o.score());
        m.put("reward", o.reward());
        m.put("kl", o.kl());
        m.put("beta", o.beta());
        m.put("latency_ms", o.latencyMs());
        return m;
    }
}
