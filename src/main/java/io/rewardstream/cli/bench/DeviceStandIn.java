package io.rewardstream.cli.bench;

import io.rewardstream.scoring.ConstantRewardModel;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.SequenceEncoder;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * BENCH STAND-IN for an accelerator-backed reward model: ONE device that runs each call for {@code a + b x padded
 * tokens}, one call at a time in arrival order, while the calling thread parks (no CPU) until its call is done, like
 * a host thread waiting on its GPU kernels. The device keeps its own clock: a call that arrives while another runs
 * starts the instant that one ends, as kernels queued on a GPU stream do, whenever the host threads get scheduled
 * (so the shared machine's wake-up delays land on the host threads, where they belong, not on the device).
 * Concurrency buys no extra device time: only overlapping the device with the host's Kafka work can help. Scores are
 * a constant (the null model's). Records every call so the same shapes can be replayed alone and the run's device
 * time accounted for. Thread-safe.
 */
final class DeviceStandIn implements RewardModel {
    /** One call's shape. */
    record Shape(int rows, int paddedLength) {
        long paddedTokens() {
            return (long) rows * paddedLength;
        }
    }

    /** One call on the device clock (System.nanoTime): asked for, started, done; by which thread. */
    record Call(Shape shape, long requestedNanos, long startNanos, long endNanos, long thread) {
    }

    private final ConstantRewardModel scores;
    private final long callNanos;
    private final double nanosPerPaddedToken;
    private final Object clock = new Object();
    private long freeAtNanos = System.nanoTime();   // guarded by clock: when the device finishes its queued work
    private final List<Call> calls = new ArrayList<>();   // guarded by itself
    // one instant on both clocks: converts a stage's wall-clock start and end to the device clock
    private final long originMs = System.currentTimeMillis();
    private final long originNanos = System.nanoTime();

    DeviceStandIn(ModelManifest manifest, long callNanos, double nanosPerPaddedToken) {
        this.scores = new ConstantRewardModel(manifest, 0.5f);
        this.callNanos = callNanos;
        this.nanosPerPaddedToken = nanosPerPaddedToken;
    }

    long callNanos() {
        return callNanos;
    }

    double nanosPerPaddedToken() {
        return nanosPerPaddedToken;
    }

    long busyNanos(Shape s) {
        return callNanos + Math.round(nanosPerPaddedToken * s.paddedTokens());
    }

    @Override
    public ModelManifest manifest() {
        return scores.manifest();
    }

    @Override
    public SequenceEncoder encoder() {
        return scores.encoder();
    }

    @Override
    public ModelOutput score(PaddedBatch batch) {
        occupy(new Shape(batch.rows(), batch.paddedLength()));
        return scores.score(batch);
    }

    /** Queues one call of shape {@code s} on the device, parks (no CPU) until the device has run it, records it. */
    Call occupy(Shape s) {
        long requested = System.nanoTime();
        long start;
        long end;
        synchronized (clock) {
            start = Math.max(requested, freeAtNanos);
            end = start + busyNanos(s);
            freeAtNanos = end;
        }
        for (long left = end - System.nanoTime(); left > 0; left = end - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
        Call c = new Call(s, requested, start, end, Thread.currentThread().getId());
        synchronized (calls) {
            calls.add(c);
        }
        return c;
    }

    /** The shapes of every call so far, in call order. */
    List<Shape> calls() {
        synchronized (calls) {
            return calls.stream().map(Call::shape).toList();
        }
    }

    /**
     * Rows per second of the device alone on {@code shapes}: the calls queued back to back (as a host queues
     * asynchronous launches), so the device never waits: rows / sum of {@code a + b x padded tokens}. The strictest
     * denominator for a pipeline's device time, and free of the shared machine's scheduling noise.
     */
    double aloneRowsPerSecond(List<Shape> shapes) {
        long rows = 0;
        long nanos = 0;
        for (Shape s : shapes) {
            rows += s.rows();
            nanos += busyNanos(s);
        }
        return rows / (nanos / 1e9);
    }

    /**
     * Where a run's wall time from {@code startMs} to {@code endMs} (wall clock) went on the device, in seconds:
     * {@code busy} (computing), {@code head} (run start to the first call), {@code tail} (last call done to run end),
     * {@code idle_between} (between calls: no call waiting) and, of that, {@code idle_between_same_thread} (the
     * caller of the call before is the caller of the next: e.g. waking up and preparing a flush's next batch), the
     * number of those gaps over 1 ms ({@code idle_gaps_over_1ms}) and the longest ({@code largest_idle_gap}).
     */
    Map<String, Double> accounting(long startMs, long endMs) {
        List<Call> cs;
        synchronized (calls) {
            cs = new ArrayList<>(calls);
        }
        cs.sort(Comparator.comparingLong(Call::startNanos));
        long start = originNanos + (startMs - originMs) * 1_000_000L;
        long end = originNanos + (endMs - originMs) * 1_000_000L;
        long busy = 0;
        long between = 0;
        long sameThread = 0;
        long largest = 0;
        int overMs = 0;
        for (int i = 0; i < cs.size(); i++) {
            busy += cs.get(i).endNanos() - cs.get(i).startNanos();
            if (i > 0) {
                long gap = Math.max(0, cs.get(i).startNanos() - cs.get(i - 1).endNanos());
                between += gap;
                largest = Math.max(largest, gap);
                overMs += gap > 1_000_000 ? 1 : 0;
                if (cs.get(i).thread() == cs.get(i - 1).thread()) {
                    sameThread += gap;
                }
            }
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("run", (end - start) / 1e9);
        m.put("busy", busy / 1e9);
        m.put("head", cs.isEmpty() ? 0 : (cs.get(0).startNanos() - start) / 1e9);
        m.put("tail", cs.isEmpty() ? 0 : (end - cs.get(cs.size() - 1).endNanos()) / 1e9);
        m.put("idle_between", between / 1e9);
        m.put("idle_between_same_thread", sameThread / 1e9);
        m.put("idle_gaps_over_1ms", (double) overMs);
        m.put("largest_idle_gap", largest / 1e9);
        return m;
    }

    @Override
    public void close() {
        scores.close();
    }
}
