package io.rewardstream.release;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.schema.AvroDeserializer;

import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;

import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * Installs signed model releases into a {@link ModelHolder} as they appear on the compacted release topic.
 *
 * <p>A plain {@link KafkaConsumer} (no consumer group: {@code assign()} + {@code seekToBeginning()},
 * {@code read_committed}) runs on this watcher's own daemon thread, so verification, loading and warm-up never run on
 * a stream thread. Each release of the configured model (or of any model) is verified by {@link ReleaseVerifier},
 * loaded by the loader, and swapped into the holder; batches already running finish on the old model (the holder's
 * leases close it after the last one). A refused release (see {@link ReleaseRefusedException.Reason}, including
 * {@code LOAD_FAILED}) is logged with its reason and counted in {@code rewardstream.releases.refused{reason}}; the
 * old model keeps serving. Unreadable records are logged, counted in {@code rewardstream.releases.unreadable} and
 * skipped; tombstones are ignored. Installs count in {@code rewardstream.releases.installed}.
 *
 * <p>Lifecycle: construct, {@link #start()} once, {@link #close()} once. The holder stays owned by the caller; the
 * watcher owns its consumer and thread. Not meant to be shared between threads except for the read-only accessors.
 */
public final class ReleaseWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseWatcher.class);

    public static final String REFUSED_METRIC = "rewardstream.releases.refused";
    public static final String INSTALLED_METRIC = "rewardstream.releases.installed";
    public static final String UNREADABLE_METRIC = "rewardstream.releases.unreadable";
    /** The {@link #REFUSED_METRIC} reason of a release whose installation failed unexpectedly (not a refusal). */
    static final String INSTALL_FAILED = "INSTALL_FAILED";

    private final ReleaseConfig config;
    private final Map<String, Object> clientProps;
    private final ModelHolder holder;
    private final MeterRegistry meters;
    private final Function<Path, ? extends RewardModel> loader;
    private final ReleaseVerifier verifier;
    private final AtomicReference<ModelRelease> lastInstalled = new AtomicReference<>();
    private final AtomicReference<ReleaseRefusedException> lastRefusal = new AtomicReference<>();

    private volatile boolean running;
    private KafkaConsumer<byte[], byte[]> consumer;
    private AvroDeserializer<ModelRelease> deserializer;
    private Thread thread;
    private boolean assigned;

    /**
     * Loads models with {@link ModelLoader#load(Path, RuntimeConfig)}.
     *
     * @param clientProps Kafka consumer and schema registry properties ({@code bootstrap.servers},
     *                    {@code schema.registry.url}, security settings); group, offsets, isolation and
     *                    deserializers are set by the watcher
     * @param holder      the holder to swap models into (owned by the caller)
     * @param meters      where refusals and installs are counted
     * @throws IllegalArgumentException when the model root or the public key directory cannot be used
     */
    public ReleaseWatcher(ReleaseConfig config, Map<String, ?> clientProps, ModelHolder holder, MeterRegistry meters,
                          RuntimeConfig runtime) {
        this(config, clientProps, holder, meters, dir -> ModelLoader.load(dir, runtime));
    }

    /** As above with an explicit loader (a ready, caller-owned model per directory; throws when it cannot load). */
    public ReleaseWatcher(ReleaseConfig config, Map<String, ?> clientProps, ModelHolder holder, MeterRegistry meters,
                          Function<Path, ? extends RewardModel> loader) {
        this.config = Objects.requireNonNull(config, "config");
        this.clientProps = Map.copyOf(Objects.requireNonNull(clientProps, "clientProps"));
        this.holder = Objects.requireNonNull(holder, "holder");
        this.meters = Objects.requireNonNull(meters, "meters");
        this.loader = Objects.requireNonNull(loader, "loader");
        Map<String, PublicKey> keys = Map.of();
        if (config.publicKeysDir() != null) {
            try {
                keys = KeyFiles.readPublicKeyDir(config.publicKeysDir());
            } catch (IOException e) {
                throw new IllegalArgumentException(ReleaseConfig.PUBLIC_KEYS_DIR + ": " + e.getMessage(), e);
            }
        }
        try {
            this.verifier = new ReleaseVerifier(config.modelRoot(), keys, config.allowUnsigned(),
                    config.allowRollback());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(ReleaseConfig.MODEL_ROOT + "/" + ReleaseConfig.PUBLIC_KEYS_DIR + ": "
                    + e.getMessage(), e);
        }
        LOG.info("release watcher: topic {}, model {}, root {}, {} trusted key(s) {}, unsigned {}, rollback {}",
                config.topic(), config.modelName() == null ? "<any>" : config.modelName(), verifier.modelRoot(),
                keys.size(), keys.keySet(), config.allowUnsigned() ? "ALLOWED" : "refused",
                config.allowRollback() ? "allowed" : "refused");
    }

    /**
     * Reads the release topic from its beginning to its current end, installs the newest release that passes every
     * check (newer refused ones are counted and skipped), then keeps watching on a background thread.
     *
     * @return whether a release was installed
     * @throws IllegalStateException when already started or the topic cannot be read to its end within
     *                               {@value ReleaseConfig#STARTUP_TIMEOUT_MS}
     */
    public synchronized boolean start() {
        if (consumer != null) {
            throw new IllegalStateException("release watcher already started");
        }
        Map<String, Object> props = new HashMap<>(clientProps);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // a missing release topic must not be auto-created by our metadata requests (it would not be compacted)
        props.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "rewardstream-release-watcher");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        consumer = new KafkaConsumer<>(props);
        deserializer = new AvroDeserializer<>(ModelRelease.class);
        boolean installed;
        try {
            deserializer.configure(clientProps, false);
            installed = catchUp();
        } catch (RuntimeException e) {
            consumer.close();
            deserializer.close();
            throw e;
        }
        running = true;
        thread = new Thread(this::loop, "release-watcher-" + config.topic());
        thread.setDaemon(true);
        thread.start();
        return installed;
    }

    /** The release installed last by this watcher, if any. Thread-safe. */
    public Optional<ModelRelease> lastInstalled() {
        return Optional.ofNullable(lastInstalled.get());
    }

    /** The last refusal, if any (for diagnostics and tests). Thread-safe. */
    public Optional<ReleaseRefusedException> lastRefusal() {
        return Optional.ofNullable(lastRefusal.get());
    }

    /** Stops the background thread and closes the consumer; the holder and its model are untouched. Idempotent. */
    @Override
    public synchronized void close() {
        running = false;
        if (thread != null) {
            consumer.wakeup();
            try {
                thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                // its consumer stays its own: the thread closes it when the load it is in ends (it handles no
                // further record once running is false)
                LOG.warn("release watcher thread did not stop within 30 s (still loading a model?); it stops after"
                        + " that release");
                thread = null;
                return;
            }
            thread = null;
        } else if (consumer != null) {
            consumer.close();
            deserializer.close();
        }
        consumer = null;
    }

    private boolean catchUp() {
        long deadline = System.currentTimeMillis() + config.startupTimeoutMs();
        if (!assign()) {
            LOG.warn("release topic {} does not exist (yet): no release installed at start; watching for it",
                    config.topic());
            return false;
        }
        Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment());
        List<ConsumerRecord<byte[], byte[]>> seen = new ArrayList<>();
        while (!reached(end)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("release topic " + config.topic() + " not read to its end " + end
                        + " within " + config.startupTimeoutMs() + " ms (" + ReleaseConfig.STARTUP_TIMEOUT_MS + ")");
            }
            consumer.poll(Duration.ofMillis(config.pollMs())).forEach(seen::add);
        }
        newestFirst(seen);
        LOG.info("release topic {} read to its end: {} record(s)", config.topic(), seen.size());
        for (ConsumerRecord<byte[], byte[]> r : seen) {
            ModelRelease release = decode(r);
            if (release == null || !config.accepts(release.getModelName())) {
                continue;
            }
            ModelManifest serving = servingManifest();
            if (serving != null && serving.name().equals(release.getModelName()) && !release.getRollback()
                    && release.getVersion() <= serving.version()) {
                // the newest acceptable release is the serving one (or older): older records are history, not news
                LOG.info("release {}:{} at start: {} is already serving", release.getModelName(),
                        release.getVersion(), serving.modelVersion());
                return false;
            }
            if (handle(release)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sorts release records newest first. One model's records (one key, so one partition) are in log order: a later
     * one is newer whatever its timestamp says (a publisher's clock can lag), so each record's time is at least that
     * of the same key's records before it. Records of different keys are ordered by that time, then position.
     */
    static void newestFirst(List<ConsumerRecord<byte[], byte[]>> records) {
        records.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
                .thenComparingLong(ConsumerRecord::offset));
        Map<String, Long> latest = new HashMap<>();
        Map<ConsumerRecord<byte[], byte[]>, Long> time = new IdentityHashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            long t = r.timestamp();
            if (r.key() != null) {
                String k = r.partition() + "/" + Base64.getEncoder().encodeToString(r.key());
                t = Math.max(t, latest.getOrDefault(k, Long.MIN_VALUE));
                latest.put(k, t);
            }
            time.put(r, t);
        }
        records.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingLong(time::get)
                .thenComparingLong(ConsumerRecord::offset).reversed());
    }

    private boolean reached(Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private boolean assign() {
        List<PartitionInfo> infos = consumer.partitionsFor(config.topic(), Duration.ofMillis(
                Math.max(config.pollMs(), 5_000)));
        if (infos == null || infos.isEmpty()) {
            return false;
        }
        List<TopicPartition> parts = infos.stream().map(p -> new TopicPartition(p.topic(), p.partition())).toList();
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        assigned = true;
        return true;
    }

    private void loop() {
        try {
            while (running) {
                try {
                    if (!assigned && !assign()) {
                        Thread.sleep(config.pollMs());
                        continue;
                    }
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(config.pollMs()));
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        if (!running) {
                            break;   // closed: no swap after close() returned
                        }
                        handleRecord(r);
                    }
                } catch (WakeupException e) {
                    if (running) {
                        LOG.warn("release watcher woken up while running; continuing");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (RuntimeException e) {
                    // keep the old model serving and retry: a broker outage must not stop release watching
                    LOG.error("release watcher error on topic {}; retrying in {} ms", config.topic(),
                            config.pollMs(), e);
                    try {
                        Thread.sleep(config.pollMs());
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        } finally {
            consumer.close();
            deserializer.close();
            LOG.info("release watcher on {} stopped", config.topic());
        }
    }

    /**
     * Decodes and handles one polled record. An unexpected failure (e.g. closing the replaced model threw) is logged
     * and counted ({@code reason=INSTALL_FAILED}) and the next record is handled: the batch's later records are past
     * the consumer's position already, so letting it escape would skip them.
     */
    private void handleRecord(ConsumerRecord<byte[], byte[]> r) {
        ModelRelease release = decode(r);
        if (release != null && config.accepts(release.getModelName())) {
            handleSafely(release, r.topic() + "-" + r.partition() + "@" + r.offset());
        }
    }

    /** {@link #handle}, with an unexpected failure logged and counted instead of thrown. Package-private for tests. */
    boolean handleSafely(ModelRelease release, String where) {
        try {
            return handle(release);
        } catch (RuntimeException e) {
            Counter.builder(REFUSED_METRIC).tag("reason", INSTALL_FAILED).register(meters).increment();
            ModelManifest serving = servingManifest();
            LOG.error("release {}:{} at {} failed while being installed; {} serves; going on with the next record",
                    release.getModelName(), release.getVersion(), where,
                    serving == null ? "no model" : serving.modelVersion(), e);
            return false;
        }
    }

    private ModelRelease decode(ConsumerRecord<byte[], byte[]> r) {
        if (r.value() == null) {
            LOG.debug("tombstone at {}-{}@{} ignored", r.topic(), r.partition(), r.offset());
            return null;
        }
        try {
            return deserializer.deserialize(r.topic(), r.value());
        } catch (RuntimeException e) {
            LOG.error("unreadable release record at {}-{}@{} skipped: {}", r.topic(), r.partition(), r.offset(),
                    e.toString());
            meters.counter(UNREADABLE_METRIC).increment();
            return null;
        }
    }

    /**
     * Verifies, loads and installs one release; logs and counts a refusal. Package-private for unit tests.
     *
     * @return whether it was installed
     */
    boolean handle(ModelRelease release) {
        String what = release.getModelName() + ":" + release.getVersion();
        ModelManifest serving = servingManifest();
        if (serving != null && serving.name().equals(release.getModelName())
                && serving.version() == release.getVersion() && !release.getRollback()) {
            LOG.info("release {} is already serving; nothing to do", what);
            return false;
        }
        long t0 = System.nanoTime();
        RewardModel model;
        try {
            model = verifier.verifyAndLoad(release, serving, loader);
        } catch (ReleaseRefusedException e) {
            lastRefusal.set(e);
            Counter.builder(REFUSED_METRIC).tag("reason", e.reason().name()).register(meters).increment();
            LOG.warn("release {} REFUSED ({}); {} keeps serving: {}", what, e.reason(),
                    serving == null ? "the current model" : serving.modelVersion(), e.getMessage());
            return false;
        }
        try {
            holder.swap(model);
        } catch (IllegalStateException e) {
            LOG.warn("release {} verified but not installed: {}", what, e.getMessage());
            return false;
        }
        lastInstalled.set(release);
        meters.counter(INSTALLED_METRIC).increment();
        LOG.info("release {} installed ({}signed{}) in {} ms", what, release.getSignature() == null ? "UN" : "",
                release.getSigningKeyId() == null ? "" : " by " + release.getSigningKeyId(),
                (System.nanoTime() - t0) / 1_000_000);
        return true;
    }

    private ModelManifest servingManifest() {
        try (ModelHolder.Lease lease = holder.acquire()) {
            return lease.model().manifest();
        } catch (IllegalStateException closed) {
            return null;
        }
    }
}
