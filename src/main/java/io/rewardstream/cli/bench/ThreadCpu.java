package io.rewardstream.cli.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CPU time of every thread of this process, by component, over a stage's timed window: where the two cores went while
 * a stage ran (the embedded broker, the JIT compiler and the measured application share them in the bench's one JVM).
 *
 * <p>Reads {@code /proc/self/task/<tid>/stat} (Linux): utime + stime and the thread's name (the first 15 characters
 * of its Java name). A daemon thread samples every {@value #PERIOD_MS} ms, so a thread that ends inside a window (a
 * stage's stream threads end when it closes) is counted up to its last sample. Components, by name: {@code jit} (C1/C2
 * compiler threads), {@code gc}, {@code broker} (the embedded broker's request handlers, network, coordinators and
 * log threads), {@code app} (the stage's own Kafka Streams threads, named after its application id {@code bench-...}),
 * {@code producer_io} (Kafka producer I/O threads: the app's and the bench's input producer), {@code harness} (the
 * bench's main thread and readers) and {@code other}. Elsewhere than Linux {@link #available()} is false and windows are
 * empty. Thread-safe.
 */
final class ThreadCpu implements AutoCloseable {
    static final long PERIOD_MS = 100;
    /** USER_HZ, the unit of utime and stime: 100 on every Linux the bench targets. */
    private static final double TICKS_PER_SECOND = 100;
    private static final Path TASKS = Path.of("/proc/self/task");

    /** Samples older than this are dropped (a stage's window is read right after it). */
    private static final long KEEP_MS = 120_000;

    private record Sample(long atMs, int[] tids, long[] ticks) {
    }

    private final List<Sample> samples = new ArrayList<>();
    private final Map<Integer, String> names = new HashMap<>();
    private final Thread sampler;
    private volatile boolean closed;

    private ThreadCpu() {
        this.sampler = new Thread(this::loop, "bench-cpu-sampler");
        sampler.setDaemon(true);
    }

    /** Starts sampling (a no-op sampler when /proc is not there). */
    static ThreadCpu start() {
        ThreadCpu t = new ThreadCpu();
        if (available()) {
            t.sampler.start();
        }
        return t;
    }

    static boolean available() {
        return Files.isDirectory(TASKS);
    }

    private void loop() {
        while (!closed) {
            sample();
            try {
                Thread.sleep(PERIOD_MS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void sample() {
        List<Integer> tids = new ArrayList<>();
        List<Long> ticks = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(TASKS)) {
            for (Path task : ds) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException e) {
                    continue;   // the thread ended between the listing and the read
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open) {
                    continue;
                }
                String[] f = stat.substring(close + 2).split(" ");
                int tid = Integer.parseInt(task.getFileName().toString());
                tids.add(tid);
                ticks.add(Long.parseLong(f[11]) + Long.parseLong(f[12]));
                synchronized (names) {
                    names.putIfAbsent(tid, stat.substring(open + 1, close));
                }
            }
        } catch (IOException | RuntimeException e) {
            return;
        }
        long now = System.currentTimeMillis();
        Sample s = new Sample(now, tids.stream().mapToInt(Integer::intValue).toArray(),
                ticks.stream().mapToLong(Long::longValue).toArray());
        synchronized (samples) {
            samples.add(s);
            samples.removeIf(x -> x.atMs() < now - KEEP_MS);
        }
    }

    /**
     * CPU seconds by component between {@code fromMs} and {@code toMs} (wall clock): for each thread, its last sample
     * in the window minus its last sample before it (0 for a thread started inside it). Empty when nothing was sampled.
     */
    Map<String, Double> window(long fromMs, long toMs) {
        sample();   // the window's end is usually now
        Map<Integer, Long> before = new HashMap<>();
        Map<Integer, Long> last = new HashMap<>();
        synchronized (samples) {
            // only the window's samples and the last one before it (every thread alive at the window's start is in
            // it): reading all ten minutes of samples after each stage was hot enough for C2, whose compile of it
            // then ran inside the next stage's window and was counted as that stage's JIT
            int first = samples.size();
            while (first > 0 && samples.get(first - 1).atMs() >= fromMs) {
                first--;
            }
            for (int k = Math.max(0, first - 1); k < samples.size(); k++) {
                Sample s = samples.get(k);
                for (int i = 0; i < s.tids().length; i++) {
                    if (s.atMs() < fromMs) {
                        before.put(s.tids()[i], s.ticks()[i]);
                    } else if (s.atMs() <= toMs + PERIOD_MS) {
                        last.put(s.tids()[i], s.ticks()[i]);
                    }
                }
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        for (String c : List.of("app", "broker", "producer_io", "jit", "gc", "harness", "other")) {
            out.put(c, 0.0);
        }
        for (Map.Entry<Integer, Long> e : last.entrySet()) {
            long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            String name;
            synchronized (names) {
                name = names.getOrDefault(e.getKey(), "");
            }
            out.merge(component(name), d / TICKS_PER_SECOND, Double::sum);
        }
        return last.isEmpty() ? Map.of() : out;
    }

    /** The component of a thread, from the first 15 characters of its name. */
    static String component(String name) {
        if (name.contains("CompilerThre")) {
            return "jit";
        }
        if (name.startsWith("GC Thread") || name.startsWith("G1 ") || name.equals("VM Thread")) {
            return "gc";
        }
        if (name.startsWith("kafka-producer-")) {
            return "producer_io";
        }
        if (name.startsWith("bench-reader") || name.equals("java") || name.equals("main")
                || name.startsWith("bench-cpu")) {
            return "harness";
        }
        if (name.startsWith("bench-") || name.startsWith("rewardstream-")) {   // + the scorer's flush/plan helpers
            return "app";
        }
        if (name.startsWith("data-plane-") || name.startsWith("kafka-") || name.startsWith("broker-")
                || name.startsWith("controller-") || name.startsWith("quorum-") || name.startsWith("group-coord")
                || name.startsWith("transaction-") || name.startsWith("TxnMarker") || name.startsWith("AddPartitions")
                || name.startsWith("ExpirationReap") || name.startsWith("raft-") || name.startsWith("executor-")
                || name.startsWith("share-") || name.startsWith("persister-") || name.startsWith("LogDirFailure")) {
            return "broker";
        }
        return "other";
    }

    /** Microseconds of CPU per record, by component, plus {@code total} and {@code total_without_jit}. */
    static Map<String, Double> perRecord(Map<String, Double> seconds, long records) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (seconds.isEmpty() || records <= 0) {
            return out;
        }
        double total = 0;
        for (Map.Entry<String, Double> e : seconds.entrySet()) {
            out.put(e.getKey(), e.getValue() * 1e6 / records);
            total += e.getValue();
        }
        out.put("total", total * 1e6 / records);
        out.put("total_without_jit", (total - seconds.getOrDefault("jit", 0.0)) * 1e6 / records);
        return out;
    }

    @Override
    public void close() {
        closed = true;
        sampler.interrupt();
    }
}
