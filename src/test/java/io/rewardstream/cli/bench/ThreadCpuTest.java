package io.rewardstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ThreadCpuTest {

    @Test
    void shouldNameTheComponentOfEachKindOfThread() {
        assertThat(ThreadCpu.component("C2 CompilerThre")).isEqualTo("jit");
        assertThat(ThreadCpu.component("C1 CompilerThre")).isEqualTo("jit");
        assertThat(ThreadCpu.component("GC Thread#0")).isEqualTo("gc");
        assertThat(ThreadCpu.component("data-plane-kafk")).isEqualTo("broker");
        assertThat(ThreadCpu.component("kafka-1-metadat")).isEqualTo("broker");
        assertThat(ThreadCpu.component("TxnMarkerSender")).isEqualTo("broker");
        assertThat(ThreadCpu.component("kafka-producer-")).isEqualTo("producer_io");
        assertThat(ThreadCpu.component("bench-null-0-3f")).isEqualTo("app");
        assertThat(ThreadCpu.component("rewardstream-fl")).as("an overlapped flush's helper").isEqualTo("app");
        assertThat(ThreadCpu.component("rewardstream-pl")).as("a plan's batch in flight").isEqualTo("app");
        assertThat(ThreadCpu.component("bench-reader-nu")).isEqualTo("harness");
        assertThat(ThreadCpu.component("java")).isEqualTo("harness");
        assertThat(ThreadCpu.component("Signal Dispatch")).isEqualTo("other");
    }

    @Test
    void shouldChargeAThreadsCpuToItsComponentWithinTheWindowEvenAfterTheThreadEnded() throws Exception {
        assumeTrue(ThreadCpu.available(), "Linux /proc only");
        try (ThreadCpu cpu = ThreadCpu.start()) {
            Thread.sleep(3 * ThreadCpu.PERIOD_MS);
            long from = System.currentTimeMillis();
            Thread burner = new Thread(() -> {   // until it has used 400 ms of CPU itself (a busy machine: longer)
                java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
                long end = mx.getCurrentThreadCpuTime() + 400_000_000L;
                long x = 0;
                while (mx.getCurrentThreadCpuTime() < end) {
                    x += System.identityHashCode(this) ^ x;
                }
                if (x == 42) {
                    System.out.print("");
                }
                try {
                    // alive, idle, for three sampling periods: on a loaded machine the sampler may not have run while
                    // this thread held the core (CI once read 0.0 here); what is tested is the charge after it ends
                    Thread.sleep(3 * ThreadCpu.PERIOD_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "bench-burn-test");
            burner.start();
            burner.join();
            Thread.sleep(2 * ThreadCpu.PERIOD_MS);   // ended before the window is read
            long to = System.currentTimeMillis();

            Map<String, Double> secs = cpu.window(from, to);
            assertThat(secs.get("app")).as("400 ms spinning, charged to 'app'").isCloseTo(0.4, within(0.15));
            Map<String, Double> per = ThreadCpu.perRecord(secs, 1000);
            assertThat(per.get("app")).isCloseTo(secs.get("app") * 1000, within(1e-6));
            assertThat(per.get("total")).isGreaterThanOrEqualTo(per.get("app"));
            assertThat(per.get("total_without_jit")).isCloseTo(per.get("total") - per.get("jit"), within(1e-6));

            // a window before the burner ran does not see it
            assertThat(cpu.window(from - 10 * ThreadCpu.PERIOD_MS, from - 5 * ThreadCpu.PERIOD_MS)
                    .getOrDefault("app", 0.0)).isLessThan(0.05);
        }
    }
}
