package io.rewardstream.topology;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.RunningStats;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The rollout-batcher alone on a {@link MockProcessorContext}. A restart (or rebalance): a NEW processor instance over
 * the SAME stores (as Kafka Streams restores them from their changelogs) must rebuild its index from the store:
 * nothing lost, arrival times kept. The idle flush ({@code batch.idle.flush.ms}): a partial batch goes early only
 * when its task is quiet AND no flush of the topology is scoring. The overlapped flush ({@code batch.flush.overlap}):
 * a size flush scores on a helper thread, its rollouts stay in the store until the stream thread writes the rewards.
 * The other tests score on the calling thread, so their outputs are there when {@code process} returns.
 */
class RolloutBatcherTest {
    private FakeRewardModel model;
    private ModelHolder holder;
    private ScorerConfig config;
    private List<KeyValueStore<String, byte[]>> stores;

    @BeforeEach
    void setUp() {
        model = new FakeRewardModel("fake", 1, 64, 1000);
        holder = new ModelHolder(model);
        config = ScorerConfig.from(Map.of("application.id", "restart-test", "bootstrap.servers", "unused:9092",
                "schema.registry.url", "http://127.0.0.1:1/unused", "batch.max.size", "4", "batch.max.delay.ms", "100",
                "scoring.normalization", "running", "batch.flush.overlap", "false"));
        stores = List.of(store(ScorerTopology.ROLLOUT_BUFFER), store(ScorerTopology.SCORE_STATS),
                store(ScorerTopology.REWARDED_IDS));
    }

    @AfterEach
    void tearDown() {
        holder.close();
    }

    private static KeyValueStore<String, byte[]> store(String name) {
        return Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(name), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
    }

    /** A fresh processor + context over the shared stores, initialized at wall-clock {@code now}. */
    private MockProcessorContext<Object, Object> startInstance(RolloutBatcher batcher, long now) {
        return startInstance(batcher, now, stores);
    }

    /** As {@link #startInstance(RolloutBatcher, long)} over the given stores (another task's). */
    private static MockProcessorContext<Object, Object> startInstance(RolloutBatcher batcher, long now,
                                                                      List<KeyValueStore<String, byte[]>> stores) {
        MockProcessorContext<Object, Object> ctx = new MockProcessorContext<>();
        ctx.setCurrentSystemTimeMs(now);
        for (KeyValueStore<String, byte[]> s : stores) {
            if (!s.isOpen()) {
                s.init(ctx.getStateStoreContext(), s);
            }
            ctx.addStateStore(s);
        }
        batcher.init(ctx);
        return ctx;
    }

    private RolloutBatcher newBatcher() {
        return newBatcher(new FlushActivity());
    }

    private RolloutBatcher newBatcher(FlushActivity activity) {
        return newBatcher(config, new SimpleMeterRegistry(), activity);
    }

    private RolloutBatcher newBatcher(ScorerConfig config, SimpleMeterRegistry meters, FlushActivity activity) {
        // "original bytes" here are the single-object encoding, decoded by the matching (registry-free) deserializer
        return new RolloutBatcher(config, holder, new ScorerMetrics(meters), (t, r) -> new byte[0],
                (t, b) -> {
                    try {
                        return Rollout.fromByteBuffer(java.nio.ByteBuffer.wrap(b));
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }, KlControlConfig.from(config), null, activity);
    }

    private ScorerConfig overlapped() {
        return config.with(Map.of("batch.flush.overlap", "true"));
    }

    /** Closes the model's gate and sends a full batch (a0..a3 at 1,000): its flush is then waiting on the model. */
    private java.util.concurrent.CountDownLatch fullBatchBehindAGate(RolloutBatcher b) {
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        model.gate = gate;
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        return gate;
    }

    /** Opens the model's gate from another thread in 100 ms, while the test's thread is blocked in the batcher. */
    private static Thread openLater(java.util.concurrent.CountDownLatch gate) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            gate.countDown();
        });
        t.start();
        return t;
    }

    /** Waits (bounded) until the batcher's flush in flight has finished scoring. */
    private static void awaitScored(RolloutBatcher b) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (b.scoringInFlight()) {
            assertThat(System.nanoTime()).as("the flush in flight never finished").isLessThan(deadline);
            Thread.sleep(2);
        }
    }

    private static void punctuate(MockProcessorContext<Object, Object> ctx, long now) {
        ctx.setCurrentSystemTimeMs(now);
        ctx.scheduledPunctuators().stream().filter(p -> p.getType() == PunctuationType.WALL_CLOCK_TIME)
                .forEach(p -> p.getPunctuator().punctuate(now));
    }

    private static List<Reward> rewards(MockProcessorContext<Object, Object> ctx) {
        return ctx.forwarded(ScorerTopology.REWARDS_SINK).stream().map(f -> (Reward) f.record().value()).toList();
    }

    private static void process(RolloutBatcher b, Rollout r, long ts) {
        try {
            java.nio.ByteBuffer bb = r.toByteBuffer();
            byte[] raw = new byte[bb.remaining()];
            bb.get(raw);
            b.process(new Record<>(r.getGroupId(), new ReceivedRollout(r, raw), ts));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void shouldFlushAPartialBatchOnceItsTaskIsQuietAndNoFlushIsScoring() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(config, meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        process(b, ScorerTopologyTest.rollout("a", "g", null, 4, 5, true, true), 1_000);
        process(b, ScorerTopologyTest.rollout("b", "g", null, 4, 5, true, true), 1_000);

        punctuate(ctx, 1_010);   // quiet for 10 ms < batch.idle.flush.ms (20): keep filling
        assertThat(rewards(ctx)).isEmpty();
        punctuate(ctx, 1_025);   // quiet for 25 ms, the model idle: go now, not at the 100 ms max delay

        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a", "b");
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "idle").count()).isEqualTo(1.0);
        assertThat(b.buffered()).isZero();
        assertThat(ctx.committed()).as("the burst's end is committed at once").isTrue();
    }

    @Test
    void shouldKeepFillingWhileAnotherTasksFlushIsScoringAndFlushByTheMaxDelay() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        FlushActivity shared = new FlushActivity();
        RolloutBatcher b = newBatcher(config, meters, shared);
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        shared.begin();   // another task's flush is on the model
        process(b, ScorerTopologyTest.rollout("a", "g", null, 4, 5, true, true), 1_000);

        punctuate(ctx, 1_050);
        assertThat(rewards(ctx)).as("quiet task, busy model: the batch keeps filling").isEmpty();
        punctuate(ctx, 1_100);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a");
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "delay").count()).isEqualTo(1.0);

        shared.end();     // the model is free again
        ctx.setCurrentSystemTimeMs(1_200);
        process(b, ScorerTopologyTest.rollout("c", "g", null, 4, 5, true, true), 1_200);
        punctuate(ctx, 1_230);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a", "c");
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "idle").count()).isEqualTo(1.0);
    }

    @Test
    void shouldNotIdleFlushAQuietTaskWhileAnotherTaskOfTheScorerIsStillReceiving() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        FlushActivity shared = new FlushActivity();
        RolloutBatcher quiet = newBatcher(config, meters, shared);
        RolloutBatcher busy = newBatcher(config, new SimpleMeterRegistry(), shared);
        MockProcessorContext<Object, Object> q = startInstance(quiet, 1_000);
        MockProcessorContext<Object, Object> other = startInstance(busy, 1_000, List.of(
                store(ScorerTopology.ROLLOUT_BUFFER), store(ScorerTopology.SCORE_STATS),
                store(ScorerTopology.REWARDED_IDS)));
        process(quiet, ScorerTopologyTest.rollout("a", "g", null, 4, 5, true, true), 1_000);

        // the other task's partition keeps delivering (one poll can hold one partition's records only)
        for (long t = 1_010; t <= 1_060; t += 10) {
            other.setCurrentSystemTimeMs(t);
            process(busy, ScorerTopologyTest.rollout("o" + t, "h" + t, null, 4, 5, true, true), t);
            punctuate(q, t + 5);
        }
        assertThat(rewards(q)).as("mid-stream: no part batch, no commit request").isEmpty();
        assertThat(q.committed()).isFalse();

        punctuate(q, 1_085);   // the whole scorer quiet for 25 ms, the model idle: the end of the burst
        assertThat(rewards(q)).extracting(Reward::getRolloutId).containsExactly("a");
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "idle").count()).isEqualTo(1.0);
        assertThat(q.committed()).isTrue();
    }

    @Test
    void shouldWaitForTheMaxDelayWhenTheIdleFlushIsOff() {
        ScorerConfig off = ScorerConfig.from(Map.of("application.id", "restart-test", "bootstrap.servers",
                "unused:9092", "schema.registry.url", "http://127.0.0.1:1/unused", "batch.max.size", "4",
                "batch.max.delay.ms", "100", "batch.idle.flush.ms", "0", "batch.flush.overlap", "false"));
        RolloutBatcher b = newBatcher(off, new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        process(b, ScorerTopologyTest.rollout("a", "g", null, 4, 5, true, true), 1_000);

        punctuate(ctx, 1_075);
        assertThat(rewards(ctx)).isEmpty();
        punctuate(ctx, 1_100);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a");
    }

    @Test
    void shouldRebuildItsIndexFromTheStoreAndKeepArrivalTimes() {
        RolloutBatcher first = newBatcher();
        startInstance(first, 1_000);
        for (int i = 0; i < 3; i++) {
            process(first, ScorerTopologyTest.rollout("r" + i, "g", null, 4, 5, true, true), 1_000);
        }
        assertThat(first.buffered()).isEqualTo(3);
        // crash: the instance is gone without close(); only the stores survive

        RolloutBatcher second = newBatcher();
        MockProcessorContext<Object, Object> ctx = startInstance(second, 1_050);
        assertThat(second.buffered()).isEqualTo(3);
        punctuate(ctx, 1_060); // oldest arrived at 1000: 60 ms < 100 ms, arrival time came from the store
        assertThat(rewards(ctx)).isEmpty();

        process(second, ScorerTopologyTest.rollout("r3", "g", null, 4, 5, true, true), 1_070);

        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("r0", "r1", "r2", "r3");
        assertThat(model.batchRows).containsExactly(4);
        assertThat(second.buffered()).isZero();
        assertThat(stores.get(0).approximateNumEntries()).isZero();
    }

    @Test
    void shouldKeepBufferedRolloutsWhenTheRegistryIsDownAfterARestartAndRewardThemOnceItIsBack() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher first = newBatcher();
        startInstance(first, 1_000);
        for (int i = 0; i < 3; i++) {
            process(first, ScorerTopologyTest.rollout("r" + i, "g", null, 4, 5, true, true), 1_000);
        }
        // restart while the registry is down: the buffered original bytes cannot be decoded yet
        RolloutBatcher down = new RolloutBatcher(config, holder, new ScorerMetrics(meters), (t, r) -> new byte[0],
                (t, b) -> {
                    throw new io.rewardstream.schema.SchemaRegistryException(503, 50301, null, "unavailable", null);
                }, KlControlConfig.from(config), null, new FlushActivity());
        MockProcessorContext<Object, Object> c1 = startInstance(down, 5_000);
        assertThatThrownBy(() -> punctuate(c1, 5_000))   // past the max delay: the flush needs the registry
                .as("an outage fails the thread (retried), it does not make the entries corrupt")
                .isInstanceOf(ScorerUnavailableException.class).hasMessageContaining("unavailable");
        assertThat(c1.forwarded(ScorerTopology.DEAD_LETTERS_SINK)).isEmpty();
        assertThat(meters.getMeters()).noneMatch(m -> m.getId().getName().equals(ScorerMetrics.DEAD_LETTERS));
        assertThat(stores.get(0).approximateNumEntries()).as("still buffered").isEqualTo(3);

        RolloutBatcher back = newBatcher();   // the thread is replaced; the registry answers again
        MockProcessorContext<Object, Object> c2 = startInstance(back, 6_000);
        punctuate(c2, 6_000);
        assertThat(rewards(c2)).extracting(Reward::getRolloutId).containsExactly("r0", "r1", "r2");
        assertThat(stores.get(0).approximateNumEntries()).isZero();
    }

    @Test
    void shouldDeadLetterARolloutIdTooLongForTheStoresAtArrivalAndKeepScoringTheRest() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(config, meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        Rollout huge = ScorerTopologyTest.rollout("x".repeat(70_000), "g", null, 4, 5, true, true);
        assertThatThrownBy(() -> process(b, huge, 1_000)).isInstanceOf(RejectedRolloutException.class)
                .hasMessageContaining("OVERSIZED");
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "OVERSIZED").count()).isEqualTo(1.0);
    }

    @Test
    void shouldFlushAfterARestartOnceTheStoredArrivalIsOldEnough() {
        RolloutBatcher first = newBatcher();
        startInstance(first, 1_000);
        process(first, ScorerTopologyTest.rollout("a", "g", 2, 4, 5, true, true), 1_000);

        RolloutBatcher second = newBatcher();
        MockProcessorContext<Object, Object> ctx = startInstance(second, 5_000);
        punctuate(ctx, 5_000);

        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a");
        assertThat(ctx.forwarded(ScorerTopology.GROUP_AGGREGATOR)).hasSize(1);
    }

    @Test
    void shouldNotRewardARolloutIdAgainWithinTheDedupeWindowAcrossARestart() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher first = new RolloutBatcher(config, holder, new ScorerMetrics(meters), (t, r) -> new byte[0],
                (t, b) -> null, KlControlConfig.from(config), null, new FlushActivity());
        MockProcessorContext<Object, Object> c1 = startInstance(first, 1_000);
        for (int i = 0; i < 4; i++) {
            process(first, ScorerTopologyTest.rollout("d" + i, "g", null, 4, 5, true, true), 1_000);
        }
        assertThat(rewards(c1)).hasSize(4);

        RolloutBatcher second = new RolloutBatcher(config, holder, new ScorerMetrics(meters), (t, r) -> new byte[0],
                (t, b) -> null, KlControlConfig.from(config), null, new FlushActivity());
        MockProcessorContext<Object, Object> c2 = startInstance(second, 2_000);   // restart: ids come from the store
        process(second, ScorerTopologyTest.rollout("d1", "g", null, 4, 5, true, true), 2_000);
        process(second, ScorerTopologyTest.rollout("new", "g", null, 4, 5, true, true), 2_000);
        assertThat(second.buffered()).isEqualTo(1);
        punctuate(c2, 2_200);
        assertThat(rewards(c2)).extracting(Reward::getRolloutId).containsExactly("new");
        assertThat(meters.counter(ScorerMetrics.DUPLICATES).count()).isEqualTo(1.0);

        // past the window (default 10 min after the first flush) the id is scored again, and the old entry is gone
        long later = 1_000 + DeliveryConfig.DEFAULTS.dedupeWindowMs() + 1;
        punctuate(c2, later);
        process(second, ScorerTopologyTest.rollout("d1", "g", null, 4, 5, true, true), later);
        assertThat(second.buffered()).isEqualTo(1);
        assertThat(meters.counter(ScorerMetrics.DUPLICATES).count()).isEqualTo(1.0);
        assertThat(stores.get(2).approximateNumEntries()).isEqualTo(1);   // only the flush of "new"
    }

    @Test
    void shouldPersistRunningStatsAcrossInstances() {
        RolloutBatcher first = newBatcher();
        MockProcessorContext<Object, Object> c1 = startInstance(first, 1_000);
        for (int i = 0; i < 4; i++) {
            process(first, ScorerTopologyTest.rollout("x" + i, "g", null, 4, 5, true, true), 1_000);
        }
        assertThat(rewards(c1)).hasSize(4);
        RunningStats stats = RunningStats.fromBytes(stores.get(1).get("fake:1"));
        assertThat(stats.count()).isEqualTo(4);

        RolloutBatcher second = newBatcher();
        MockProcessorContext<Object, Object> c2 = startInstance(second, 2_000);
        for (int i = 0; i < 4; i++) {
            process(second, ScorerTopologyTest.rollout("y" + i, "g", null, 4, 5, true, true), 2_000);
        }
        List<Reward> out = rewards(c2);
        assertThat(out).hasSize(4);
        assertThat(RunningStats.fromBytes(stores.get(1).get("fake:1")).count()).isEqualTo(8);
    }

    @Test
    void shouldScoreASizeFlushOffTheStreamThreadAndKeepItsRolloutsInTheStoreUntilItsRewardsAreWritten()
            throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        FlushActivity activity = new FlushActivity();
        RolloutBatcher b = newBatcher(overlapped(), meters, activity);
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        model.gate = new java.util.concurrent.CountDownLatch(1);   // the device is busy
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        // process returned while the model is still scoring: the thread goes on buffering
        process(b, ScorerTopologyTest.rollout("b0", "g", null, 4, 5, true, true), 1_001);
        assertThat(b.scoringInFlight()).isTrue();
        assertThat(activity.idle()).isFalse();
        assertThat(rewards(ctx)).isEmpty();
        assertThat(b.buffered()).as("the next batch holds only b0").isEqualTo(1);
        assertThat(stores.get(0).approximateNumEntries()).as("in flight, still in the store").isEqualTo(5);

        model.gate.countDown();
        awaitScored(b);
        punctuate(ctx, 1_005);

        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(stores.get(0).approximateNumEntries()).isEqualTo(1);
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "size").count()).isEqualTo(1.0);
        assertThat(activity.idle()).isTrue();
        assertThat(ctx.committed()).as("b0 arrived 4 ms ago: not the end of a burst").isFalse();
    }

    @Test
    void shouldKeepFillingAFullBatchWhileTheTasksFlushIsOnTheModelAndFlushItOnceThatIsWritten()
            throws InterruptedException {
        RolloutBatcher b = newBatcher(overlapped(), new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        java.util.concurrent.CountDownLatch gate = fullBatchBehindAGate(b);
        // the gate stays shut: a thread that waited for the model would be stuck here (30 s, then a model failure)
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("c" + i, "g", null, 4, 5, true, true), 1_010);
        }
        assertThat(b.scoringInFlight()).isTrue();
        assertThat(b.buffered()).as("the full second batch keeps filling").isEqualTo(4);
        assertThat(rewards(ctx)).isEmpty();

        gate.countDown();
        awaitScored(b);
        punctuate(ctx, 1_020);   // writes a0..a3, then starts the full batch that filled behind them
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        awaitScored(b);
        punctuate(ctx, 1_030);
        assertThat(rewards(ctx)).hasSize(8);
        assertThat(RunningStats.fromBytes(stores.get(1).get("fake:1")).count()).as("stats chained").isEqualTo(8);
        assertThat(model.batchRows).containsExactly(4, 4);
    }

    @Test
    void shouldWaitForTheTasksFlushInFlightOnceOneAndAHalfBatchesAreBuffered() throws InterruptedException {
        RolloutBatcher b = newBatcher(overlapped(), new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        java.util.concurrent.CountDownLatch gate = fullBatchBehindAGate(b);
        Thread opener = openLater(gate);
        long t0 = System.nanoTime();
        for (int i = 0; i < 6; i++) {
            process(b, ScorerTopologyTest.rollout("c" + i, "g", null, 4, 5, true, true), 1_010);
        }
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        opener.join();
        // the sixth rollout made 1.5 batches: the thread waited for a0..a3, wrote them, then sent c0..c5
        assertThat(tookMs).as("the thread did not wait for the model").isGreaterThanOrEqualTo(50);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(b.buffered()).isZero();

        awaitScored(b);
        punctuate(ctx, 1_020);
        assertThat(rewards(ctx)).hasSize(10);
        assertThat(model.batchRows.get(0)).isEqualTo(4);
        List<Integer> second = model.batchRows.subList(1, model.batchRows.size());
        assertThat(second).as("one flush of 6, planned as calls of at most batch.max.size")
                .allSatisfy(rows -> assertThat(rows).isLessThanOrEqualTo(4));
        assertThat(second.stream().mapToInt(Integer::intValue).sum()).isEqualTo(6);
    }

    @Test
    void shouldLeaveAFlushInFlightToTheTasksNextOwnerWhenTheTaskCloses() throws InterruptedException {
        RolloutBatcher first = newBatcher(overlapped(), new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> c1 = startInstance(first, 1_000);
        java.util.concurrent.CountDownLatch gate = fullBatchBehindAGate(first);
        first.close();   // rebalance: the task moves while its flush is on the model
        gate.countDown();
        awaitScored(first);
        assertThat(rewards(c1)).isEmpty();

        model.gate = null;
        RolloutBatcher second = newBatcher(overlapped(), new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> c2 = startInstance(second, 1_050);
        assertThat(second.buffered()).isEqualTo(4);
        punctuate(c2, 1_100);   // the max delay, measured from the stored arrival
        awaitScored(second);
        punctuate(c2, 1_101);
        assertThat(rewards(c2)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(stores.get(0).approximateNumEntries()).isZero();
    }

    @Test
    void shouldReturnABatchTheModelFailedInFlightToTheBufferAndRetryIt() throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(overlapped(), meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        model.failing = true;
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        awaitScored(b);
        punctuate(ctx, 1_001);
        assertThat(rewards(ctx)).isEmpty();
        assertThat(b.buffered()).as("back in the buffer").isEqualTo(4);
        assertThat(meters.counter(ScorerMetrics.MODEL_FAILURES).count()).isEqualTo(1.0);

        model.failing = false;
        punctuate(ctx, 1_200);   // past the retry delay (batch.max.delay.ms) and the max delay
        awaitScored(b);
        punctuate(ctx, 1_201);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(b.buffered()).isZero();
    }

    @Test
    void shouldDeadLetterARolloutTheModelFailsOnAloneWithItsOriginalBytesAndRewardTheRestOfItsBatch()
            throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(overlapped(), meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        model.poisonId = 950;
        Rollout poison = ScorerTopologyTest.rollout("a2", "g", null, 4, 5, true, true);
        List<Integer> ids = new java.util.ArrayList<>(poison.getResponseTokenIds());
        ids.set(3, 950);
        poison.setResponseTokenIds(ids);
        for (int i = 0; i < 4; i++) {
            process(b, i == 2 ? poison : ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        awaitScored(b);
        punctuate(ctx, 1_001);
        assertThat(rewards(ctx)).as("the poison row does not hold its batch back")
                .extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a3");
        assertThat(ctx.forwarded(ScorerTopology.DEAD_LETTERS_SINK)).singleElement().satisfies(f -> {
            org.apache.kafka.common.header.Headers h = f.record().headers();
            assertThat(new String(h.lastHeader(io.rewardstream.schema.DeadLetters.REASON).value(),
                    java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("MODEL_REJECTED");
            assertThat(new String(h.lastHeader(io.rewardstream.schema.DeadLetters.DETAIL).value(),
                    java.nio.charset.StandardCharsets.UTF_8)).contains("fails on this rollout alone")
                    .contains("token 950 is outside its embedding");
            java.nio.ByteBuffer bb = poison.toByteBuffer();
            byte[] raw = new byte[bb.remaining()];
            bb.get(raw);
            assertThat((byte[]) f.record().value()).as("the producer's bytes").isEqualTo(raw);
        });
        assertThat(b.buffered()).isZero();
        assertThat(stores.get(0).approximateNumEntries()).as("nothing left in rollout-buffer").isZero();
        assertThat(meters.counter(ScorerMetrics.DEAD_LETTERS, "reason", "MODEL_REJECTED").count()).isEqualTo(1.0);
        assertThat(meters.counter(ScorerMetrics.MODEL_FAILURES).count()).as("the flush itself did not fail").isZero();
    }

    @Test
    void shouldFailTheThreadNotBlameTheRecordBeingProcessedWhenWritingAFlushsOutputsFails() {
        // FAKE store for this test only: rewarded-ids refuses its next put, after the flush's rewards were forwarded
        java.util.concurrent.atomic.AtomicBoolean refuse = new java.util.concurrent.atomic.AtomicBoolean();
        KeyValueStore<String, byte[]> real = store(ScorerTopology.REWARDED_IDS);
        @SuppressWarnings("unchecked")
        KeyValueStore<String, byte[]> refusing = (KeyValueStore<String, byte[]>) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{KeyValueStore.class}, (proxy, method, args) -> {
                    if (method.getName().equals("put") && refuse.get()) {
                        throw new org.apache.kafka.streams.errors.ProcessorStateException("disk full");
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        stores = List.of(stores.get(0), stores.get(1), refusing);
        RolloutBatcher b = newBatcher();
        startInstance(b, 1_000);
        for (int i = 0; i < 3; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        refuse.set(true);
        Rollout fourth = ScorerTopologyTest.rollout("a3", "g", null, 4, 5, true, true);
        // a3 fills the batch; its flush fails while writing: the handler must fail the thread (the transaction with
        // the rewards sent so far aborts) instead of dead-lettering a3, which is buffered and would be rewarded too
        assertThatThrownBy(() -> process(b, fourth, 1_000)).isInstanceOf(ScorerUnavailableException.class)
                .hasMessageContaining("writing the outputs of a flush of 4 rollouts failed").hasRootCauseMessage("disk full");
    }

    @Test
    void shouldWorkOffABacklogThatBuiltUpWhileTheModelFailedInFlushesOfOneAndAHalfBatches() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(config, meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        model.failing = true;
        for (int i = 0; i < 20; i++) {   // batch.max.size 4: the first flush fails, the rest wait out the retry delay
            process(b, ScorerTopologyTest.rollout(String.format("a%02d", i), "g", null, 4, 5, true, true), 1_000);
        }
        assertThat(b.buffered()).isEqualTo(20);
        model.failing = false;
        model.batchRows.clear();

        punctuate(ctx, 1_200);
        assertThat(rewards(ctx)).as("one flush takes the oldest 6 (1.5 batches), not the whole backlog")
                .extracting(Reward::getRolloutId).containsExactly("a00", "a01", "a02", "a03", "a04", "a05");
        assertThat(b.buffered()).isEqualTo(14);
        for (long t = 1_201; b.buffered() > 0 && t < 1_210; t++) {
            punctuate(ctx, t);
        }
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).hasSize(20).doesNotHaveDuplicates()
                .isSortedAccordingTo(String::compareTo);
        assertThat(model.batchRows).as("no call above batch.max.size").allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(4));
        assertThat(stores.get(0).approximateNumEntries()).isZero();
    }

    @Test
    void shouldNotRewardARolloutAgainThatArrivesWhileItsCopyIsScoring() throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(overlapped(), meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        java.util.concurrent.CountDownLatch gate = fullBatchBehindAGate(b);
        Thread opener = openLater(gate);
        process(b, ScorerTopologyTest.rollout("a2", "g", null, 4, 5, true, true), 1_010);   // a trainer's retry
        opener.join();

        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3");
        assertThat(b.buffered()).isZero();
        assertThat(meters.counter(ScorerMetrics.DUPLICATES).count()).isEqualTo(1.0);
        assertThat(stores.get(0).approximateNumEntries()).isZero();
    }

    @Test
    void shouldSendEveryQuietTasksPartialBatchToTheModelAtOnceAtTheEndOfABurst() throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        FlushActivity shared = new FlushActivity();
        RolloutBatcher first = newBatcher(overlapped(), meters, shared);
        RolloutBatcher second = newBatcher(overlapped(), meters, shared);
        MockProcessorContext<Object, Object> c1 = startInstance(first, 1_000);
        MockProcessorContext<Object, Object> c2 = startInstance(second, 1_000, List.of(
                store(ScorerTopology.ROLLOUT_BUFFER), store(ScorerTopology.SCORE_STATS),
                store(ScorerTopology.REWARDED_IDS)));
        model.gate = new java.util.concurrent.CountDownLatch(1);
        process(first, ScorerTopologyTest.rollout("a", "g", null, 4, 5, true, true), 1_000);
        process(second, ScorerTopologyTest.rollout("b", "h", null, 4, 5, true, true), 1_000);

        punctuate(c1, 1_025);   // the whole scorer quiet for 25 ms: the first task's partial batch goes
        punctuate(c2, 1_025);   // ... and the second's follows at once, queued on the model, not a tick later
        assertThat(first.scoringInFlight()).isTrue();
        assertThat(second.scoringInFlight()).isTrue();
        assertThat(c1.committed()).as("nothing written yet: no commit request").isFalse();

        model.gate.countDown();
        awaitScored(first);
        awaitScored(second);
        punctuate(c1, 1_030);
        punctuate(c2, 1_030);
        assertThat(rewards(c1)).extracting(Reward::getRolloutId).containsExactly("a");
        assertThat(rewards(c2)).extracting(Reward::getRolloutId).containsExactly("b");
        assertThat(meters.counter(ScorerMetrics.FLUSHES, "trigger", "idle").count()).isEqualTo(2.0);
        assertThat(c1.committed()).as("the burst's end is committed once written").isTrue();
        assertThat(c2.committed()).isTrue();
    }

    @Test
    void shouldKeepABatchWhosePipelineFailedAfterTheCallAndNotBlameTheNextRecord() throws InterruptedException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RolloutBatcher b = newBatcher(overlapped(), meters, new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        model.shortTokenRewards = true;   // a process-reward row shorter than its input: not a BatchNotScoredException
        for (int i = 0; i < 4; i++) {
            process(b, ScorerTopologyTest.rollout("a" + i, "g", null, 4, 5, true, true), 1_000);
        }
        awaitScored(b);

        // the next record is processed as usual: the flush's failure is the batch's, not this record's
        process(b, ScorerTopologyTest.rollout("e", "g", null, 4, 5, true, true), 1_001);
        assertThat(b.buffered()).isEqualTo(5);
        assertThat(meters.counter(ScorerMetrics.MODEL_FAILURES).count()).isEqualTo(1.0);
        assertThat(rewards(ctx)).isEmpty();
        assertThat(ctx.forwarded(ScorerTopology.DEAD_LETTERS_SINK)).isEmpty();

        model.shortTokenRewards = false;
        punctuate(ctx, 1_200);   // past the retry delay and the max delay
        awaitScored(b);
        punctuate(ctx, 1_201);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3", "e");
    }

    @Test
    void shouldNotBlockATickOnTheTasksOwnFlushStillOnTheModel() throws InterruptedException {
        RolloutBatcher b = newBatcher(overlapped(), new SimpleMeterRegistry(), new FlushActivity());
        MockProcessorContext<Object, Object> ctx = startInstance(b, 1_000);
        java.util.concurrent.CountDownLatch gate = fullBatchBehindAGate(b);
        process(b, ScorerTopologyTest.rollout("late", "g", null, 4, 5, true, true), 1_000);
        Thread opener = openLater(gate);

        long t0 = System.nanoTime();
        punctuate(ctx, 1_300);   // quiet and past the max delay, but the task's flush is still on the model
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        opener.join();
        assertThat(tookMs).as("the tick waited for the model").isLessThan(80);
        assertThat(b.buffered()).as("late waits for the next tick").isEqualTo(1);

        awaitScored(b);
        punctuate(ctx, 1_310);   // writes a0..a3, then flushes late
        awaitScored(b);
        punctuate(ctx, 1_320);
        assertThat(rewards(ctx)).extracting(Reward::getRolloutId).containsExactly("a0", "a1", "a2", "a3", "late");
    }
}
