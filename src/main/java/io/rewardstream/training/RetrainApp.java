package io.rewardstream.training;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.metrics.MetricsHttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The retraining service, wired like {@code topology.ScorerApp}: a {@link RetrainJob} (owned here) on its own thread,
 * a Prometheus registry and a small HTTP server ({@code /metrics}, {@code /health/live}, {@code /health/ready}) on
 * {@code metrics.host:metrics.port} (0 = ephemeral, -1 = off).
 *
 * <p>Lifecycle: construct, {@link #start()}, {@link #awaitTermination} (returns when the job's loop ends, e.g. after a
 * fatal replay-buffer error), {@link #close()} (idempotent): stop the job (a round in progress is abandoned, nothing
 * committed), wait for its loop, close the job, the HTTP server, delete the ready file, close the registry.
 * Thread-safe.
 */
public final class RetrainApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainApp.class);
    private static final long STOP_TIMEOUT_MS = 60_000;

    private final RetrainConfig config;
    private final RoundTrainer trainer;
    private final Path readyFile;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch loopEnded = new CountDownLatch(1);

    private volatile RetrainJob job;
    private volatile MetricsHttpServer http;
    private volatile Thread thread;
    private volatile Throwable failure;

    /** The production wiring: BERT-backbone releases train their head in Java, every other model runs its train_step. */
    public RetrainApp(RetrainConfig config, Path readyFile) {
        this(config, BertRoundTrainer.orElse(new SavedModelRoundTrainer()), readyFile);
    }

    /**
     * @param config    retraining configuration
     * @param trainer   trains one round
     * @param readyFile written once partitions are assigned, deleted at close; or null
     */
    public RetrainApp(RetrainConfig config, RoundTrainer trainer, Path readyFile) {
        this.config = Objects.requireNonNull(config, "config");
        this.trainer = Objects.requireNonNull(trainer, "trainer");
        this.readyFile = readyFile;
    }

    /**
     * Creates the job (replay buffer, clients, signing key), starts the HTTP server and the job's thread. Returns at
     * once; readiness is reported by {@code /health/ready} and the ready file.
     *
     * @throws IllegalStateException when started twice
     * @throws IOException           when the replay buffer, the model root or the signing key cannot be read, or the
     *                               HTTP port cannot be bound (nothing stays open)
     */
    public void start() throws IOException {
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("retrain app already started");
        }
        try {
            job = new RetrainJob(config, trainer, registry, readyFile);
            if (config.metricsPort() >= 0) {
                http = startHttp(config, registry, job);
                LOG.info("retrain job metrics={} (/metrics, /health/live, /health/ready)", http.url());
            } else {
                LOG.info("retrain job metrics=off ({}=-1)", RetrainConfig.METRICS_PORT);
            }
            Thread t = new Thread(this::loop, "retrain-job");
            thread = t;
            t.start();
        } catch (IOException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    private void loop() {
        try {
            job.run();
        } catch (Throwable t) {
            failure = t;
            LOG.error("retrain job failed", t);
        } finally {
            loopEnded.countDown();
        }
    }

    /**
     * The retrain job's HTTP endpoints: live while its loop runs, ready once it consumes its partitions.
     *
     * @throws IOException when the port cannot be bound
     */
    public static MetricsHttpServer startHttp(RetrainConfig cfg, PrometheusMeterRegistry meters, RetrainJob job)
            throws IOException {
        return MetricsHttpServer.start(cfg.metricsHost(), cfg.metricsPort(), meters::scrape,
                () -> job.isLive() ? MetricsHttpServer.Health.up("live (" + job.rounds() + " rounds)")
                        : MetricsHttpServer.Health.down("not live: the retrain loop has stopped"),
                () -> job.isReady() ? MetricsHttpServer.Health.up("ready")
                        : MetricsHttpServer.Health.down("not ready: partitions not assigned yet, or stopping"));
    }

    /** Waits until the job's loop ended (after {@link #close()} or a fatal error); true if it did within the time. */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return loopEnded.await(timeout, unit);
    }

    /** What ended the job's loop other than a stop, if anything. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    public boolean isLive() {
        RetrainJob j = job;
        return j != null && !closed.get() && j.isLive();
    }

    public boolean isReady() {
        RetrainJob j = job;
        return j != null && !closed.get() && j.isReady();
    }

    /** Rounds run so far (0 before start). */
    public int rounds() {
        RetrainJob j = job;
        return j == null ? 0 : j.rounds();
    }

    /** Base URL of the HTTP server ({@code http://host:port}), if it runs. */
    public Optional<String> metricsUrl() {
        MetricsHttpServer s = http;
        return s == null ? Optional.empty() : Optional.of(s.url());
    }

    /** The app's meters (the job's counters and gauges); owned by the app, closed with it. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public RetrainConfig config() {
        return config;
    }

    /** Stops the job and waits for its loop (bounded), then closes the job, HTTP server and registry. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        RetrainJob j = job;
        if (j != null) {
            j.stop();
            Thread t = thread;
            if (t != null) {
                try {
                    if (!loopEnded.await(STOP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                        LOG.warn("retrain loop did not end within {} ms", STOP_TIMEOUT_MS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            j.close();
        }
        MetricsHttpServer h = http;
        if (h != null) {
            h.close();
        }
        if (readyFile != null) {
            try {
                Files.deleteIfExists(readyFile);
            } catch (IOException e) {
                LOG.warn("cannot delete ready file {}: {}", readyFile, e.toString());
            }
        }
        registry.close();   // meters stay readable (meterSummary) after close
        LOG.info("retrain app closed after {} rounds", rounds());
    }

    /** One line of the app's rewardstream.* meters (for the exit message). */
    public String meterSummary() {
        StringBuilder sb = new StringBuilder();
        registry.getMeters().forEach(m -> {
            if (m.getId().getName().startsWith("rewardstream.")) {
                m.measure().forEach(x -> sb.append(m.getId().getName()).append(m.getId().getTags()).append('=')
                        .append(x.getValue()).append(';'));
            }
        });
        return sb.toString();
    }
}
