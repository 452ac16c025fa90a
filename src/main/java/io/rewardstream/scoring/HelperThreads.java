package io.rewardstream.scoring;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Pools for work that blocks on a model call (a TensorFlow session run, a device) off the calling thread: threads made
 * on demand, named {@code <prefix><n>}, daemon, gone after 30 s unused. No owner closes them, and a blocked model call
 * never holds the JVM open. Unbounded: the callers bound what they put in flight (a plan's batches, one flush per
 * task). Not the common fork-join pool, whose one worker on two cores is shared by every caller. Stateless;
 * thread-safe.
 */
public final class HelperThreads {
    private HelperThreads() {
    }

    /** A new cached pool of daemon threads named {@code prefix} + a running number. */
    public static ExecutorService cached(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }
}
