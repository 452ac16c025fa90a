package io.rewardstream.topology;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.metrics.MetricsHttpServer;
import io.rewardstream.scoring.Ensemble;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The streaming scorer: a {@link ModelHolder} (owned here; processors only lease from it), the
 * {@link ScorerTopology} on {@link KafkaStreams} with KIP-1034 dead letters, a Prometheus registry and a small HTTP
 * server ({@code /metrics}, {@code /health/live}, {@code /health/ready}) on {@code metrics.host:metrics.port}.
 *
 * <p>Threads (why {@code num.stream.threads=2} by default): every stream thread leases the ONE model from the holder
 * (a TF Session is thread-safe), so while one thread waits on the model (GPU, or TF's own CPU pool) another polls,
 * buffers, sends and commits; with {@code batch.flush.overlap} (default) a flush's model call runs on a helper thread
 * while its own stream thread goes on too ({@link InFlightFlush}). A flush's outputs are written by the thread that
 * owns its task and that task's transactional producer, in one transaction, and its rollouts stay in the
 * change-logged buffer until then: exactly_once_v2 is unchanged (no second producer). Measured by the bench's device
 * stand-in ({@code device_pipeline_efficiency}).
 *
 * <p>Lifecycle: construct, {@link #start()}, {@link #close()} (idempotent): release hook handle, then
 * {@code KafkaStreams.close} with LEAVE_GROUP (a restart does not wait out the session timeout) bounded by
 * {@code shutdown.timeout.ms}, then the HTTP server, then the model holder. Thread-safe.
 */
public final class ScorerApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ScorerApp.class);

    private final ScorerConfig config;
    private final ReleaseHook releaseHook;
    private final RewardModel givenModel;
    private final Path readyFile;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean readyWritten = new AtomicBoolean();
    private volatile java.util.concurrent.ScheduledExecutorService connectionWatch;
    private volatile String waitingFor;

    private volatile ModelHolder holder;
    private volatile KafkaStreams streams;
    private volatile KafkaStreamsMetrics streamsMetrics;
    private volatile MetricsHttpServer http;
    private volatile AutoCloseable releaseHandle;

    /** Loads {@code model.dir} at start; no release handling. */
    public ScorerApp(ScorerConfig config) {
        this(config, ReleaseHook.none(), null, null);
    }

    /**
     * @param config      scorer configuration
     * @param releaseHook release handling (initial model and hot swaps); {@link ReleaseHook#none()} for none
     * @param initialModel a model to serve instead of loading one (ownership passes to the app), or null
     * @param readyFile   a file to write one line to once KafkaStreams is RUNNING, or null
     */
    public ScorerApp(ScorerConfig config, ReleaseHook releaseHook, RewardModel initialModel, Path readyFile) {
        this.config = Objects.requireNonNull(config, "config");
        this.releaseHook = Objects.requireNonNull(releaseHook, "releaseHook");
        this.givenModel = initialModel;
        this.readyFile = readyFile;
    }

    /**
     * Loads the model (given model, else the release hook's, else {@code model.dir}), starts the HTTP server, the
     * release hook and KafkaStreams. Returns at once; readiness is reported by {@code /health/ready} and the ready file.
     *
     * <p>Start and {@link #close()} exclude each other: a close (a shutdown hook) during start-up waits until start
     * is done and then closes everything it started; a start after close fails.
     *
     * @throws IllegalStateException when started twice or after close, or no model source is configured
     * @throws Exception             when the model cannot be loaded or the HTTP port cannot be bound (nothing stays open)
     */
    public synchronized void start() throws Exception {
        if (closed.get()) {
            throw new IllegalStateException("scorer already closed");
        }
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("scorer already started");
        }
        try {
            RewardModel first = initialModel();
            if (first == null) {
                holder = new ModelHolder(); // the release hook installs the first model in start()
            } else {
                try {
                    // fail fast on a model the configuration cannot serve: batch limits (names batch.max.tokens),
                    // routes naming a head the model does not have, static normalization without its stats
                    PipelineCache.checkFits(config, first);
                } catch (IllegalArgumentException e) {
                    first.close();
                    throw e;
                }
                holder = new ModelHolder(first);
            }
            Gauge.builder(ScorerMetrics.MODEL_VERSION, this, ScorerApp::modelVersionNumber)
                    .description("version number of the model serving (name:version)").register(registry);
            Topology topology = ScorerTopology.build(config, holder, registry, true);
            LOG.debug("scorer topology:\n{}", topology.describe());   // score --describe prints it
            streams = new KafkaStreams(topology, streamsProperties(config, registry));
            streams.setUncaughtExceptionHandler(e -> {
                LOG.error("stream thread failed; replacing it (uncommitted work is retried)", e);
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            });
            streams.setStateListener((now, before) -> {
                LOG.info("KafkaStreams {} -> {}", before, now);
                if (now == KafkaStreams.State.RUNNING) {
                    writeReadyFile();
                }
            });
            streamsMetrics = new KafkaStreamsMetrics(streams);
            streamsMetrics.bindTo(registry);
            if (config.metricsPort() >= 0) {
                startHttp();
            }
            releaseHandle = releaseHook.start(config, holder, registry);
            streams.start();
            startConnectionWatch();
            LOG.info("scorer started: application.id={} rollouts={} model={} metrics={}", config.applicationId(),
                    config.rolloutsTopic(), holder.modelVersion(), metricsUrl().orElse("off"));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    private RewardModel initialModel() throws Exception {
        if (givenModel != null) {
            return givenModel;
        }
        Optional<RewardModel> fromRelease = releaseHook.initialModel(config);
        if (fromRelease.isPresent()) {
            return fromRelease.get();
        }
        if (!config.runtime().ensembleDirs().isEmpty()) {
            return loadEnsemble(config);
        }
        Path dir = config.runtime().modelDir();
        if (dir == null && releaseHook.installsFirstModel(config)) {
            return null;
        }
        if (dir == null) {
            throw new IllegalStateException(io.rewardstream.scoring.RuntimeConfig.MODEL_DIR
                    + " is required (no release provided an initial model)");
        }
        return ModelLoader.load(dir, config.runtime(), config.batching());
    }

    /**
     * {@code model.ensemble.dirs}: every directory loaded (and verified) like {@code model.dir}, served as one
     * {@link Ensemble#of} whose uncertainty (population std across members) reaches {@code Reward.uncertainty}.
     * A release replaces ONE model, so ensembles and {@code model.root} are exclusive.
     */
    static Ensemble loadEnsemble(ScorerConfig config) {
        String root = config.raw().getOrDefault("model.root", "");
        if (!root.isBlank()) {
            throw new IllegalArgumentException(RuntimeConfig.ENSEMBLE_DIRS + " cannot be combined with model.root ("
                    + root + "): a release swaps one model, not an ensemble");
        }
        List<RewardModel> members = new ArrayList<>();
        try {
            for (Path d : config.runtime().ensembleDirs()) {
                members.add(ModelLoader.load(d, config.runtime(), config.batching()));
            }
            Ensemble e = Ensemble.of(members);
            LOG.info("serving ensemble {} of {} models (uncertainty = population std across members)",
                    e.modelVersion(), members.size());
            return e;
        } catch (RuntimeException e) {
            for (RewardModel m : members) {
                m.close();
            }
            throw e;
        }
    }

    /** KafkaStreams properties: the pass-through keys plus dead letters and the exception handlers. */
    static Properties streamsProperties(ScorerConfig config, Object meterRegistry) {
        Properties p = new Properties();
        p.putAll(config.streamsProperties());
        p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, config.deadLettersTopic());
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
                DeadLetterProcessingExceptionHandler.class.getName());
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
                DeadLetterDeserializationExceptionHandler.class.getName());
        if (meterRegistry != null) {
            p.put(DeadLetterDeserializationExceptionHandler.METER_REGISTRY_CONFIG, meterRegistry);
        }
        return p;
    }

    private double modelVersionNumber() {
        ModelHolder h = holder;
        if (h == null) {
            return Double.NaN;
        }
        try {
            String v = h.modelVersion();
            return Double.parseDouble(v.substring(v.lastIndexOf(':') + 1));
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    private void startHttp() throws IOException {
        http = MetricsHttpServer.start(config.metricsHost(), config.metricsPort(), registry::scrape,
                () -> isLive() ? MetricsHttpServer.Health.up("live")
                        : MetricsHttpServer.Health.down("not live: " + state()),
                () -> isReady() ? MetricsHttpServer.Health.up("ready " + holder.modelVersion())
                        : MetricsHttpServer.Health.down("not ready: streams " + state() + ", model "
                        + (modelLoaded() ? "loaded" : "absent")
                        + (waitingFor == null ? "" : "; " + waitingFor)));
    }

    /**
     * While KafkaStreams is not RUNNING, says after 10 s and then every 15 s what the scorer waits for (naming the brokers' address) in a
     * log line and on /health/ready; the scorer itself keeps retrying (a long-running service outlives outages).
     */
    private void startConnectionWatch() {
        long t0 = System.nanoTime();
        connectionWatch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "scorer-connection-watch");
            t.setDaemon(true);
            return t;
        });
        connectionWatch.scheduleWithFixedDelay(() -> {
            KafkaStreams.State st = state();
            if (st == KafkaStreams.State.RUNNING || st == null || !st.isRunningOrRebalancing()
                    && st != KafkaStreams.State.CREATED) {
                waitingFor = null;
                return;
            }
            Optional<String> problem = io.rewardstream.schema.KafkaReachability.probe(config.streamsProperties(), Duration.ofSeconds(5));
            if (Thread.currentThread().isInterrupted() || closed.get()) {
                return;   // closing: the probe was cut short
            }
            String why = problem.orElse("Kafka at " + config.streamsProperties().get("bootstrap.servers")
                    + " answers; waiting for the group's partition assignment or for a task to initialise (repeated"
                    + " 'last committed offset ... could be determined' timeouts: a hanging transaction, see"
                    + " HangingTransactions)");
            waitingFor = why;
            LOG.warn("scorer not running {} s after start (KafkaStreams {}): {}; still retrying",
                    Math.round((System.nanoTime() - t0) / 1e9), st, why);
        }, 10, 15, java.util.concurrent.TimeUnit.SECONDS);
    }

    private void writeReadyFile() {
        if (readyFile == null || !readyWritten.compareAndSet(false, true)) {
            return;
        }
        try {
            Path tmp = readyFile.resolveSibling(readyFile.getFileName() + ".tmp");
            Files.writeString(tmp, "RUNNING model=" + holder.modelVersion() + " metrics=" + metricsUrl().orElse("off")
                    + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, readyFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write ready file " + readyFile, e);
        }
    }

    /** KafkaStreams state, or null before start. */
    public KafkaStreams.State state() {
        KafkaStreams s = streams;
        return s == null ? null : s.state();
    }

    /** Stream threads alive: KafkaStreams neither failed nor shutting down, and at least one thread not dead. */
    public boolean isLive() {
        KafkaStreams s = streams;
        if (s == null || closed.get()) {
            return false;
        }
        KafkaStreams.State st = s.state();
        if (st != KafkaStreams.State.CREATED && st != KafkaStreams.State.REBALANCING
                && st != KafkaStreams.State.RUNNING) {
            return false;
        }
        return st == KafkaStreams.State.CREATED
                || s.metadataForLocalThreads().stream().anyMatch(t -> !"DEAD".equals(t.threadState()));
    }

    /** A model is loaded and KafkaStreams is RUNNING. */
    public boolean isReady() {
        return modelLoaded() && state() == KafkaStreams.State.RUNNING;
    }

    private boolean modelLoaded() {
        ModelHolder h = holder;
        if (h == null) {
            return false;
        }
        try {
            h.modelVersion();
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** Base URL of the HTTP server ({@code http://host:port}), if it runs. */
    public Optional<String> metricsUrl() {
        MetricsHttpServer s = http;
        return s == null ? Optional.empty() : Optional.of(s.url());
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The app's model holder (null before start); owned by the app. */
    public ModelHolder holder() {
        return holder;
    }

    public ScorerConfig config() {
        return config;
    }

    /**
     * Release hook handle, KafkaStreams (LEAVE_GROUP, bounded), HTTP server, model holder. Idempotent. Waits for a
     * {@link #start()} in progress (it used to find nothing to close, and start then went on to open everything).
     */
    @Override
    public synchronized void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (connectionWatch != null) {
            connectionWatch.shutdownNow();
        }
        AutoCloseable rh = releaseHandle;
        if (rh != null) {
            try {
                rh.close();
            } catch (Exception e) {
                LOG.warn("release hook did not close cleanly", e);
            }
        }
        KafkaStreams s = streams;
        if (s != null) {
            boolean done = s.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofMillis(config.shutdownTimeoutMs())));
            if (!done) {
                LOG.warn("KafkaStreams did not close within {} ms", config.shutdownTimeoutMs());
            }
        }
        if (streamsMetrics != null) {
            streamsMetrics.close();
        }
        MetricsHttpServer h = http;
        if (h != null) {
            h.close();
        }
        ModelHolder mh = holder;
        if (mh != null) {
            mh.close();
        } else if (givenModel != null) {
            givenModel.close();
        }
        registry.close();
        LOG.info("scorer closed");
    }
}
