package io.rewardstream.cli.demo;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.topology.OveroptimizationMonitor;
import io.rewardstream.topology.ScorerMetrics;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Samples the scorer's live over-optimization monitors ({@code rewardstream.monitor.*} gauges per policy and model
 * version, and the shared KL controller's beta) once per {@code periodMs} from its meter registry, the values a
 * Prometheus scrape would see, so the demo page plots them over time. Thread-safe: one daemon sampling thread.
 */
public final class MonitorSampler implements AutoCloseable {

    /** One gauge value. @param seconds since the sampler started @param series e.g. {@code policy-2 / builtin:1} */
    public record Point(double seconds, String metric, String series, double value) {
    }

    /** The gauges plotted, in page order. */
    public static final List<String> METRICS = List.of(OveroptimizationMonitor.REWARD_MEAN,
            OveroptimizationMonitor.REWARD_STD, OveroptimizationMonitor.KL_MEAN,
            OveroptimizationMonitor.LENGTH_REWARD_CORRELATION, OveroptimizationMonitor.UNCERTAINTY_MEAN,
            OveroptimizationMonitor.DEAD_LETTER_RATIO, ScorerMetrics.KL_COEF_UPDATED);

    private final MeterRegistry registry;
    private final long t0 = System.nanoTime();
    private final List<Point> points = new ArrayList<>();
    private final Thread thread;
    private volatile boolean running = true;

    public MonitorSampler(MeterRegistry registry, long periodMs) {
        this.registry = registry;
        this.thread = new Thread(() -> {
            while (running) {
                sample();
                try {
                    Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "demo-monitor-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Reads every monitored gauge once. */
    void sample() {
        double t = (System.nanoTime() - t0) / 1e9;
        List<Point> now = new ArrayList<>();
        for (String m : METRICS) {
            for (Gauge g : registry.find(m).gauges()) {
                double v = g.value();
                if (Double.isFinite(v)) {
                    String policy = g.getId().getTag("policy.version");
                    String model = g.getId().getTag("model.version");
                    now.add(new Point(t, m, policy == null ? "all" : policy + " / " + model, v));
                }
            }
        }
        synchronized (points) {
            points.addAll(now);
        }
    }

    /** Every point so far. */
    public List<Point> points() {
        synchronized (points) {
            return List.copyOf(points);
        }
    }

    /** Writes the points as CSV: seconds,metric,series,value. */
    public static void writeCsv(List<Point> points, Path file) throws IOException {
        StringBuilder sb = new StringBuilder("seconds,metric,series,value\n");
        for (Point p : points) {
            sb.append(String.format(Locale.ROOT, "%.2f,%s,\"%s\",%s%n", p.seconds(), p.metric(), p.series(), p.value()));
        }
        Files.writeString(file, sb);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(5_000);
        sample();
    }
}
