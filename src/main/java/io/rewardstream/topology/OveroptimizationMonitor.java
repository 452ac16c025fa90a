package io.rewardstream.topology;

import io.rewardstream.config.ConfigValues;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.rewardstream.scoring.RewardWindow;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;

/**
 * Live over-optimization monitors, per {@code policy.version} and {@code model.version}: gauges over a sliding window
 * ({@code scoring.monitor.window.ms}) of the rewards the scorer emits: reward mean and spread (negative rewards
 * included), mean sequence KL, length-reward correlation, mean uncertainty and the window's size; plus the instance's
 * dead-letter ratio over the same window. A reward model being over-optimized shows as reward mean rising for one
 * model version while the length correlation, KL or uncertainty rise with it. Alerts and panels:
 * {@code ops/prometheus/alerts.yml}, {@code ops/grafana/rewardstream-dashboard.json}.
 *
 * <p>A (policy, model) pair with no reward in the window is dropped together with its gauges, so the number of series
 * stays bounded while policy versions come and go. Thread-safe.
 */
public final class OveroptimizationMonitor {
    public static final String REWARD_MEAN = "rewardstream.monitor.reward.mean";
    public static final String REWARD_STD = "rewardstream.monitor.reward.std";
    public static final String KL_MEAN = "rewardstream.monitor.kl.mean";
    public static final String LENGTH_REWARD_CORRELATION = "rewardstream.monitor.length.reward.correlation";
    public static final String UNCERTAINTY_MEAN = "rewardstream.monitor.uncertainty.mean";
    public static final String WINDOW_REWARDS = "rewardstream.monitor.window.rewards";
    public static final String DEAD_LETTER_RATIO = "rewardstream.monitor.dead.letter.ratio";
    public static final String WINDOW_MS = "scoring.monitor.window.ms";
    public static final String WINDOW_MAX_REWARDS = "scoring.monitor.window.max.rewards";

    private record Key(String policyVersion, String modelVersion) {
    }

    private record Series(RewardWindow window, List<Meter> meters) {
    }

    private final MeterRegistry registry;
    private final long windowMs;
    private final int capacity;
    private final LongSupplier clock;
    private final Map<Key, Series> series = new ConcurrentHashMap<>();
    private final RewardWindow outcomes; // reward = 1 for a dead letter, 0 for a reward: its mean is the ratio
    private volatile long lastSweepMs;

    /**
     * @param windowMs the sliding window
     * @param capacity at most this many rewards per (policy, model) in the window (the oldest go first)
     * @param clock    wall clock in ms
     */
    public OveroptimizationMonitor(MeterRegistry registry, long windowMs, int capacity, LongSupplier clock) {
        this.registry = registry;
        this.windowMs = windowMs;
        this.capacity = capacity;
        this.clock = clock;
        this.outcomes = new RewardWindow(windowMs, Math.max(2, capacity * 4));
        Gauge.builder(DEAD_LETTER_RATIO, this, m -> m.outcomes.stats(m.clock.getAsLong()).rewardMean())
                .description("dead letters / (dead letters + rewards) over the monitor window").register(registry);
    }

    /** From {@code scoring.monitor.window.ms} (default 60000) and {@code scoring.monitor.window.max.rewards} (4096). */
    public static OveroptimizationMonitor from(Map<String, String> raw, MeterRegistry registry) {
        long w = ConfigValues.longValue(raw, WINDOW_MS, 60_000);
        long cap = ConfigValues.longValue(raw, WINDOW_MAX_REWARDS, 4096);
        if (w < 1 || cap < 2 || cap > 1_000_000) {
            throw new IllegalArgumentException(WINDOW_MS + " must be >= 1 and " + WINDOW_MAX_REWARDS
                    + " in [2, 1000000], got " + w + " and " + cap);
        }
        return new OveroptimizationMonitor(registry, w, (int) cap, System::currentTimeMillis);
    }

    /** One emitted reward. @param uncertainty null when the model has none */
    public void reward(String policyVersion, String modelVersion, double reward, double kl, int responseLength,
                       Double uncertainty) {
        long now = clock.getAsLong();
        Key key = new Key(policyVersion == null ? "" : policyVersion, modelVersion);
        series.computeIfAbsent(key, this::register).window().add(now, reward, kl, responseLength, uncertainty);
        outcomes.add(now, 0, 0, 0, null);
        sweep(now);
    }

    /** One dead-lettered rollout. */
    public void deadLetter() {
        outcomes.add(clock.getAsLong(), 1, 0, 0, null);
    }

    /** Statistics of one pair now (tests, demo). */
    public RewardWindow.Stats stats(String policyVersion, String modelVersion) {
        Series s = series.get(new Key(policyVersion, modelVersion));
        return s == null ? new RewardWindow(1, 2).stats(0) : s.window().stats(clock.getAsLong());
    }

    private Series register(Key k) {
        RewardWindow w = new RewardWindow(windowMs, capacity);
        Tags tags = Tags.of("policy.version", k.policyVersion(), "model.version", k.modelVersion());
        List<Meter> meters = new ArrayList<>();
        meters.add(gauge(REWARD_MEAN, "mean reward over the monitor window", tags, w, RewardWindow.Stats::rewardMean));
        meters.add(gauge(REWARD_STD, "population std of the rewards over the monitor window", tags, w,
                RewardWindow.Stats::rewardStd));
        meters.add(gauge(KL_MEAN, "mean sequence KL over the monitor window", tags, w, RewardWindow.Stats::klMean));
        meters.add(gauge(LENGTH_REWARD_CORRELATION, "Pearson correlation of response length and reward over the window",
                tags, w, RewardWindow.Stats::lengthRewardCorrelation));
        meters.add(gauge(UNCERTAINTY_MEAN, "mean Reward.uncertainty over the window (NaN without an ensemble)", tags, w,
                RewardWindow.Stats::uncertaintyMean));
        meters.add(gauge(WINDOW_REWARDS, "rewards in the monitor window", tags, w, s -> s.count()));
        return new Series(w, meters);
    }

    private Meter gauge(String name, String description, Tags tags, RewardWindow w,
                        ToDoubleFunction<RewardWindow.Stats> f) {
        return Gauge.builder(name, w, x -> f.applyAsDouble(x.stats(clock.getAsLong()))).description(description)
                .tags(tags).register(registry);
    }

    /** Drops idle pairs and their gauges, at most once per quarter window. */
    private void sweep(long now) {
        if (now - lastSweepMs < Math.max(1, windowMs / 4)) {
            return;
        }
        lastSweepMs = now;
        series.entrySet().removeIf(e -> {
            if (!e.getValue().window().isIdle(now)) {
                return false;
            }
            e.getValue().meters().forEach(registry::remove);
            return true;
        });
    }
}
