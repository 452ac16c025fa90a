package io.rewardstream.topology;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The flushes of one scorer topology that are scoring right now, shared by its batchers across tasks and stream
 * threads. {@link #idle()} is the "model has nothing to do" half of {@code batch.idle.flush.ms}: a partial batch is
 * flushed early only when no other flush is scoring, so under load batches keep filling (work-conserving batching).
 * Thread-safe.
 */
final class FlushActivity {
    private final AtomicInteger scoring = new AtomicInteger();

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
}
