package io.rewardstream.topology;

import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.KlObservation;
import io.rewardstream.scoring.KlController;
import io.rewardstream.scoring.KlControllerState;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Processor {@code kl-controller}: the ONE adaptive KL controller of a policy run (Ziegler et al.), fed by the KL
 * observations of every task of every scorer instance.
 *
 * <p>Why this design: a per-task controller runs one beta per partition (6 partitions = 6 betas for one policy), and
 * a per-instance one still diverges across instances. Here every flush of every task sends its rewards' KL
 * ({@code rewards}, {@code kl_sum}) to {@code kl-observations}, keyed by the controller, so they all land in ONE
 * partition and therefore ONE task of this sub-topology, wherever it runs: a single writer without any election, and
 * under exactly-once the observations are counted exactly once (they are written in the same transaction as the
 * rewards). This node adds them to the open window (store {@code kl-controller-window}, change-logged) and, from a
 * wall-clock punctuator every {@code scoring.kl.period.ms}, closes a window holding at least {@code scoring.kl.window}
 * rewards: beta is updated once, with n = all rewards of the window, and written to the compacted
 * {@code kl-coefficients} topic. Every task reads that topic as the global store {@code kl-coefficients} and stamps the
 * newest beta on every reward of a flush. Beta therefore changes at most once per period; an instance that has not
 * yet read the newest update is one update behind, never more, as long as the period exceeds the propagation time
 * (commit interval + global-store poll: ~100 ms to ~1 s against a default period of 5 s).
 *
 * <p>Not thread-safe: one instance per task.
 */
final class KlControllerProcessor implements Processor<String, KlObservation, String, KlCoefficient> {
    private static final Logger LOG = LoggerFactory.getLogger(KlControllerProcessor.class);

    private final KlController controller;
    private final double initialBeta;
    private final long periodMs;
    private final ScorerMetrics metrics;
    private ProcessorContext<String, KlCoefficient> context;
    private KeyValueStore<String, byte[]> window;
    private Cancellable punctuator;

    KlControllerProcessor(ScorerConfig config, KlControlConfig kl, ScorerMetrics metrics) {
        this.controller = new KlController(config.shaping());
        this.initialBeta = config.shaping().klCoef();
        this.periodMs = kl.periodMs();
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, KlCoefficient> context) {
        this.context = context;
        this.window = context.getStateStore(ScorerTopology.KL_CONTROLLER_WINDOW);
        punctuator = context.schedule(Duration.ofMillis(periodMs), PunctuationType.WALL_CLOCK_TIME, this::onPeriod);
    }

    @Override
    public void process(Record<String, KlObservation> record) {
        KlObservation o = record.value();
        if (record.key() == null || o == null || o.getRewards() < 0 || !Double.isFinite(o.getKlSum())) {
            LOG.warn("ignoring malformed KL observation {}: {}", record.key(), o);
            return;
        }
        Entry e = load(record.key());
        window.put(record.key(), new Entry(controller.accumulate(e.state(), o.getRewards(), o.getKlSum()),
                e.update(), e.updatedAtMs()).toBytes());
    }

    private void onPeriod(long now) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = window.all()) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        for (String key : keys) {
            Entry e = load(key);
            if (now - e.updatedAtMs() < periodMs) {
                continue; // a late punctuation is followed by an early one: never two updates within a period
            }
            KlControllerState next = controller.closeWindow(e.state());
            if (next == e.state()) {
                continue; // window not full yet (or fixed): beta stays
            }
            long update = e.update() + 1;
            window.put(key, new Entry(next, update, now).toBytes());
            double meanKl = e.state().klSum() / e.state().count();
            KlCoefficient c = KlCoefficient.newBuilder().setController(key).setUpdate(update)
                    .setKlCoef(next.beta()).setPreviousKlCoef(e.state().beta()).setWindowRewards(e.state().count())
                    .setWindowKlMean(meanKl).setUpdatedAt(Instant.ofEpochMilli(now)).build();
            context.forward(new Record<>(key, c, now), ScorerTopology.KL_COEFFICIENTS_SINK);
            metrics.klUpdate(next.beta());
            LOG.info("KL controller {} update {}: beta {} -> {} (window of {} rewards, mean KL {})", key, update,
                    e.state().beta(), next.beta(), e.state().count(), meanKl);
        }
    }

    private Entry load(String key) {
        byte[] b = window.get(key);
        return b == null ? new Entry(KlControllerState.initial(initialBeta), 0, Long.MIN_VALUE / 2) : Entry.fromBytes(b);
    }

    @Override
    public void close() {
        if (punctuator != null) {
            punctuator.cancel();
        }
    }

    /**
     * The controller state, the number of updates so far and when the last one was made:
     * {@link KlControllerState#toBytes()}, then two longs.
     */
    record Entry(KlControllerState state, long update, long updatedAtMs) {
        private static final int BYTES = KlControllerState.BYTES + 16;

        byte[] toBytes() {
            return ByteBuffer.allocate(BYTES).put(state.toBytes()).putLong(update).putLong(updatedAtMs).array();
        }

        static Entry fromBytes(byte[] b) {
            if (b.length != BYTES) {
                throw new IllegalArgumentException("kl-controller-window entry: expected " + BYTES + " bytes, got "
                        + b.length);
            }
            byte[] s = new byte[KlControllerState.BYTES];
            ByteBuffer bb = ByteBuffer.wrap(b).get(s);
            return new Entry(KlControllerState.fromBytes(s), bb.getLong(), bb.getLong());
        }
    }
}
