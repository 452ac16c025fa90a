package io.rewardstream.topology;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every batcher of one scorer topology (all its tasks and stream threads) must know about the others for
 * {@code batch.idle.flush.ms}: whether a flush is scoring right now ({@link #idle()}: the model has nothing to do;
 * an idle flush itself is not counted, so the other tasks' partial batches follow it at once, see
 * {@link BatchFlusher}), and when a rollout last arrived in ANY task ({@link #quietForMs}). A partial batch is
 * flushed early only when the whole scorer's input is quiet and the model idle, so under load batches keep filling.
 * Per-task quiet was not enough: a poll of {@code max.poll.records} often holds one partition's records only, so the
 * thread's other tasks looked quiet for 20 ms in the middle of a stream, and each flushed a part batch and requested a
 * commit (an extra transaction, with markers on every output and changelog partition it wrote). Thread-safe.
 */
final class FlushActivity {
    private final AtomicInteger scoring = new AtomicInteger();
    private volatile long lastArrivalMs;

    /** A flush starts scoring; pair with {@link #end()} in a finally. */
    void begin() {
        scoring.incrementAndGet();
    }

    void end() {
        scoring.decrementAndGet();
    }

    /** True when no flush of this topology is scoring. */
    boolean idle() {
        return scoring.get() == 0;
    }

    /** A rollout arrived in some task at {@code nowMs} (wall clock). Writes at most once per millisecond. */
    void arrived(long nowMs) {
        if (nowMs > lastArrivalMs) {   // racy max: a lost update is at most one ms older, harmless for a 20 ms rule
            lastArrivalMs = nowMs;
        }
    }

    /** Milliseconds since a rollout last arrived in any task of this topology (very large if none has yet). */
    long quietForMs(long nowMs) {
        return nowMs - lastArrivalMs;
    }
}
