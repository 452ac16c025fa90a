package io.rewardstream.cli.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Waits, before a stage's clock starts, until the JIT compilers have been idle for a short while. A stage's set-up
 * (a new Streams application, its clients, JMX beans, topics) queues hundreds of compilations; on two cores the
 * compiler threads would otherwise spend the first second of the measured window on set-up code, and the C2 queue's
 * length raises the thresholds at which the stage's own per-record methods get compiled at all. Compilations the
 * stage's own work triggers still land in its window and are counted. Not thread-safe; called from the bench thread.
 */
final class JitQuiet {
    private static final long QUIET_MS = 300;
    private static final long POLL_MS = 50;
    private static final long MAX_WAIT_MS = 15_000;

    private JitQuiet() {
    }

    /**
     * Blocks until the JVM's total compilation time has not grown for {@value #QUIET_MS} ms, or at most
     * {@value #MAX_WAIT_MS} ms. Returns the ms waited (0 when the JVM does not report compilation time).
     *
     * @throws InterruptedException if interrupted while waiting
     */
    static long await() throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return 0;
        }
        long start = System.currentTimeMillis();
        long last = jit.getTotalCompilationTime();
        long quietSince = start;
        while (System.currentTimeMillis() - quietSince < QUIET_MS
                && System.currentTimeMillis() - start < MAX_WAIT_MS) {
            Thread.sleep(POLL_MS);
            long now = jit.getTotalCompilationTime();
            if (now != last) {
                last = now;
                quietSince = System.currentTimeMillis();
            }
        }
        return System.currentTimeMillis() - start;
    }
}
