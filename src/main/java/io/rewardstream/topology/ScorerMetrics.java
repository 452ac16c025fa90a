package io.rewardstream.topology;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The scorer's Micrometer meters (names lower-case dotted). Thread-safe: Micrometer meters are; stream threads share
 * one instance.
 */
public final class ScorerMetrics {
    public static final String BATCH_SIZE = "rewardstream.batch.size";
    public static final String BATCH_PADDED_TOKENS = "rewardstream.batch.padded.tokens";
    public static final String BATCH_PADDING_EFFICIENCY = "rewardstream.batch.padding.efficiency";
    public static final String QUEUE_DELAY = "rewardstream.queue.delay";
    public static final String INFERENCE_TIME = "rewardstream.inference.time";
    public static final String REWARD = "rewardstream.reward";
    public static final String KL = "rewardstream.kl";
    public static final String DEAD_LETTERS = "rewardstream.dead.letters";
    public static final String MODEL_VERSION = "rewardstream.model.version";
    /**
     * Counted by the release watcher with tag {@code reason}; not pre-registered here because Prometheus needs every
     * meter of one name to carry the same tag keys.
     */
    public static final String RELEASES_REFUSED = "rewardstream.releases.refused";
    public static final String MODEL_FAILURES = "rewardstream.model.failures";
    public static final String REWARDS_EMITTED = "rewardstream.rewards.emitted";
    public static final String GROUPS_EMITTED = "rewardstream.groups.emitted";
    /** Flushes by {@code trigger}: size, tokens, delay (batch.max.delay.ms) or idle (batch.idle.flush.ms). */
    public static final String FLUSHES = "rewardstream.flushes";
    /** Rollouts refused because their rollout_id was already rewarded within dedupe.window.ms. */
    public static final String DUPLICATES = "rewardstream.duplicates";
    /** The shared adaptive KL controller's beta after its last update on this instance (NaN before one). */
    public static final String KL_COEF_UPDATED = "rewardstream.kl.coef.updated";

    private final MeterRegistry registry;
    private final DistributionSummary batchSize;
    private final DistributionSummary paddedTokens;
    private final DistributionSummary paddingEfficiency;
    private final Timer queueDelay;
    private final DistributionSummary reward;
    private final DistributionSummary kl;
    private final Counter modelFailures;
    private final Counter duplicates;
    private final Counter rewardsEmitted;
    private final Counter groupsComplete;
    private final Counter groupsIncomplete;
    // Micrometer summaries drop negative values and rewards/KL (k1) can be negative: the last flush's means as gauges.
    private final java.util.concurrent.atomic.AtomicLong lastRewardMean = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong lastKlMean = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong lastKlUpdate = new java.util.concurrent.atomic.AtomicLong(
            Double.doubleToLongBits(Double.NaN));

    private final OveroptimizationMonitor monitor;

    /** With the over-optimization monitors on their default window. */
    public ScorerMetrics(MeterRegistry registry) {
        this(registry, OveroptimizationMonitor.from(Map.of(), registry));
    }

    public ScorerMetrics(MeterRegistry registry, OveroptimizationMonitor monitor) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.monitor = Objects.requireNonNull(monitor, "monitor");
        batchSize = DistributionSummary.builder(BATCH_SIZE).description("rollouts per model call")
                .publishPercentiles(0.5, 0.99).register(registry);
        paddedTokens = DistributionSummary.builder(BATCH_PADDED_TOKENS).description("rows x padded length per model call")
                .register(registry);
        paddingEfficiency = DistributionSummary.builder(BATCH_PADDING_EFFICIENCY)
                .description("real tokens / padded tokens per model call").register(registry);
        queueDelay = Timer.builder(QUEUE_DELAY).description("time a rollout waited in rollout-buffer")
                .publishPercentiles(0.5, 0.99).register(registry);
        reward = DistributionSummary.builder(REWARD).description("sequence reward s' - beta*kl").register(registry);
        kl = DistributionSummary.builder(KL).description("sequence KL (sum of clamped per-token estimates)")
                .register(registry);
        modelFailures = Counter.builder(MODEL_FAILURES).description("flushes whose model call failed (records kept)")
                .register(registry);
        rewardsEmitted = Counter.builder(REWARDS_EMITTED).register(registry);
        groupsComplete = registry.counter(GROUPS_EMITTED, "complete", "true");   // looked up once, not per group
        groupsIncomplete = registry.counter(GROUPS_EMITTED, "complete", "false");
        duplicates = Counter.builder(DUPLICATES)
                .description("rollouts not rewarded again: rollout_id already rewarded within dedupe.window.ms")
                .register(registry);
        io.micrometer.core.instrument.Gauge.builder(REWARD + ".flush.mean", lastRewardMean,
                a -> Double.longBitsToDouble(a.get())).description("mean reward of the last flush").register(registry);
        io.micrometer.core.instrument.Gauge.builder(KL + ".flush.mean", lastKlMean,
                a -> Double.longBitsToDouble(a.get())).description("mean sequence KL of the last flush").register(registry);
        io.micrometer.core.instrument.Gauge.builder(KL_COEF_UPDATED, lastKlUpdate, a -> Double.longBitsToDouble(a.get()))
                .description("beta after the shared KL controller's last update (only on the instance running it)")
                .register(registry);
    }

    void klUpdate(double beta) {
        lastKlUpdate.set(Double.doubleToLongBits(beta));
    }

    public MeterRegistry registry() {
        return registry;
    }

    void batch(int rows, long padded, double efficiency) {
        batchSize.record(rows);
        paddedTokens.record(padded);
        paddingEfficiency.record(efficiency);
    }

    void queueDelay(long ms) {
        queueDelay.record(Duration.ofMillis(Math.max(0, ms)));
    }

    void inference(String modelVersion, long nanos) {
        Timer.builder(INFERENCE_TIME).description("model time per flush").tag("model.version", modelVersion)
                .register(registry).record(Duration.ofNanos(nanos));
    }

    void reward(double r, double k) {
        reward.record(r);
        kl.record(k);
        rewardsEmitted.increment();
    }

    /** Records means over one flush (summaries ignore negative values; these gauges keep the sign). */
    void flushMeans(double rewardMean, double klMean) {
        lastRewardMean.set(Double.doubleToLongBits(rewardMean));
        lastKlMean.set(Double.doubleToLongBits(klMean));
    }

    void deadLetter(String reason) {
        registry.counter(DEAD_LETTERS, "reason", reason).increment();
        monitor.deadLetter();
    }

    /** The over-optimization monitors (per policy and model version). */
    public OveroptimizationMonitor monitor() {
        return monitor;
    }

    void duplicate() {
        duplicates.increment();
    }

    void modelFailure() {
        modelFailures.increment();
    }

    void flush(String trigger) {
        registry.counter(FLUSHES, "trigger", trigger).increment();
    }

    void groupEmitted(boolean complete) {
        (complete ? groupsComplete : groupsIncomplete).increment();
    }
}
