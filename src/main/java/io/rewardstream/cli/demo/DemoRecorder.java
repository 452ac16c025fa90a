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
    public record Sent(boolean correct, String task, boolean shifted) {
    }

    /** One reward read back, joined with what was sent. */
    public record Observation(String rolloutId, boolean correct, String task, boolean shifted, String modelVersion,
                              double score, double reward, double kl, double beta, long latencyMs, long readAtMs) {
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
        sent.put(rolloutId, new Sent(correct, task, shifted));
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
                    r.getScore(), r.getReward(), r.getKl(), r.getKlCoef(), latency, readAtMs));
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
        List<Observation> obs = snapshot();
        List<String> versions = modelVersions();
        String first = versions.isEmpty() ? null : versions.get(0);
        String last = versions.isEmpty() ? null : versions.get(versions.size() - 1);
        List<Observation> before = obs.stream().filter(o -> o.shifted() && o.modelVersion().equals(first)).toList();
        List<Observation> after = versions.size() < 2 ? List.of()
                : obs.stream().filter(o -> o.shifted() && o.modelVersion().equals(last)).toList();
        List<Observation> original = obs.stream().filter(o -> !o.shifted()).toList();
        double[] lat = obs.stream().mapToDouble(Observation::latencyMs).toArray();
        return new DemoSummary(producedCount(), obs.size(), deadLetters, versions, seconds,
                seconds > 0 ? obs.size() / seconds : Double.NaN,
                DemoStats.percentile(lat, 50), DemoStats.percentile(lat, 99),
                group(original), group(before), group(after), klOverTime(obs, 10), lat);
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
