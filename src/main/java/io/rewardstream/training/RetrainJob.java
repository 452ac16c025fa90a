package io.rewardstream.training;

import io.rewardstream.release.ReleaseWriter;
import io.rewardstream.release.ReleasePublisher;
import io.rewardstream.release.ReleaseLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The continuous retraining job: consumes the preference topics, keeps valid pairs in a {@link ReplayBuffer},
 * and runs rounds that fine-tune the current release, gate the candidate and publish it as a signed release.
 *
 * <p>Delivery: consumer offsets are committed only after a round's release is published (or after the round
 * is refused: the refused pairs stay in the replay buffer as older pairs, and not committing would train on
 * them again and again), so a crash repeats the round or nothing. A restart that finds a published release
 * whose {@code eval_metrics} already cover the round's offsets ({@code offset.<topic>.<partition>}) skips the
 * duplicate release and only commits; at partition assignment, offsets a release covers beyond the committed ones
 * are committed straight away. Half-written {@code .tmp-*} release directories are deleted at start. A complete
 * {@code v<N>} above the newest release (a crash between the atomic move and the send) is published as it is when it
 * verifies and descends from the newest release, else moved to {@code rejected/} (see scoring/training/RETRAINING.md).
 *
 * <p>Each phase is logged as {@code round N: <phase>} (starting, training, gate, releasing, installed, published,
 * rejected, committing, committed) so a test can stop the process at a chosen phase.
 *
 * <p>Threading: {@link #run()} blocks the calling thread; {@link #stop()} may be called from any thread (e.g. a
 * SIGTERM hook) and makes {@code run()} return after abandoning a round in progress without committing.
 * Owns its consumers and producers; {@link #close()} releases them.
 */
public final class RetrainJob implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainJob.class);
    private static final long RETRY_BACKOFF_MS = 10_000;
    /**
     * Test/chaos knob (system property, milliseconds, default 0): sleep between the atomic move of a release to
     * {@code v<N>} and sending its {@code ModelRelease}, so a crash test can kill the job in exactly that window.
     * Never set it in production.
     */
    public static final String PAUSE_BEFORE_PUBLISH_PROPERTY = "rewardstream.retrain.pause.before.publish.ms";

    private final RetrainConfig cfg;
    private final RoundTrainer trainer;
    private final Path readyFile;
    private final Map<String, Object> clientProps;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> deadLetters;
    private final ReleasePublisher publisher;
    private final ReleaseLog releases;
    private final ReleaseWriter writer;
    private final ReplayBuffer buffer;
    private final AvroDeserializer<PreferencePair> pairValues;
    private final AvroDeserializer<RankedPreference> rankedValues;
    private final MeterRegistry meters;
    private final Counter released;
    private final Counter refused;
    private final Counter validPairs;
    private final Counter deadLettered;
    private final AtomicReference<Double> heldOutAccuracy = new AtomicReference<>(Double.NaN);
    private final AtomicReference<Double> agreement = new AtomicReference<>(Double.NaN);

    private final Map<String, Long> trainedUpTo = new TreeMap<>();
    private final CountDownLatch finished = new CountDownLatch(1);
    private final long pauseBeforePublishMs = Long.getLong(PAUSE_BEFORE_PUBLISH_PROPERTY, 0L);
    private volatile boolean stopping;
    private volatile boolean running;
    private volatile boolean readyWritten;
    private int newPairs;
    private long lastRoundAt;
    private long notBefore;
    private int round;

    /**
     * Connects (no I/O on the topics yet), opens the replay buffer and deletes half-written release directories.
     *
     * @param readyFile written once partitions are assigned (for scripts and tests), or null
     * @throws IOException when the replay buffer, the model root or the signing key cannot be read
     */
    public RetrainJob(RetrainConfig cfg, RoundTrainer trainer, MeterRegistry meters, Path readyFile) throws IOException {
        this.cfg = cfg;
        this.trainer = trainer;
        this.readyFile = readyFile;
        this.meters = meters;
        clientProps = new HashMap<>(cfg.kafka());
        clientProps.put("bootstrap.servers", cfg.bootstrapServers());
        clientProps.put("schema.registry.url", cfg.schemaRegistryUrl());

        Files.createDirectories(cfg.modelRoot());
        writer = new ReleaseWriter(cfg.modelRoot(), cfg.modelName());
        int cleaned = writer.cleanUp();
        if (cleaned > 0) {
            LOG.warn("deleted {} half-written release directories under {}", cleaned, writer.modelDir());
        }
        buffer = ReplayBuffer.open(cfg.replayDir(), cfg.replayMaxPairs());

        Map<String, Object> cp = new HashMap<>(clientProps);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, cfg.groupId());
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.putIfAbsent(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3_600_000);   // a round does not poll
        cp.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "rewardstream-retrain");
        Map<String, Object> pp = new HashMap<>(clientProps);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pp.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "rewardstream-retrain-dlq");
        pairValues = new AvroDeserializer<>(PreferencePair.class);
        pairValues.configure(clientProps, false);
        rankedValues = new AvroDeserializer<>(RankedPreference.class);
        rankedValues.configure(clientProps, false);

        KafkaConsumer<byte[], byte[]> c = null;
        KafkaProducer<byte[], byte[]> d = null;
        ReleasePublisher pub = null;
        try {
            c = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            d = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
            pub = ReleasePublisher.create(cfg.modelRoot(), cfg.signingKey(), cfg.signingKeyId(), clientProps,
                    cfg.releasesTopic());
            releases = new ReleaseLog(clientProps, cfg.releasesTopic(), Duration.ofSeconds(60));
        } catch (IOException | RuntimeException e) {
            if (c != null) {
                c.close();
            }
            if (d != null) {
                d.close();
            }
            if (pub != null) {
                pub.close();
            }
            throw e;
        }
        consumer = c;
        deadLetters = d;
        publisher = pub;

        released = Counter.builder("rewardstream.retrain.rounds").tag("outcome", "released")
                .description("Retraining rounds by outcome").register(meters);
        refused = Counter.builder("rewardstream.retrain.rounds").tag("outcome", "refused")
                .description("Retraining rounds by outcome").register(meters);
        validPairs = Counter.builder("rewardstream.retrain.pairs").tag("result", "valid")
                .description("Preference pairs consumed").register(meters);
        deadLettered = Counter.builder("rewardstream.retrain.pairs").tag("result", "dead_lettered")
                .description("Preference pairs consumed").register(meters);
        meters.gauge("rewardstream.retrain.heldout.accuracy", heldOutAccuracy, AtomicReference::get);
        meters.gauge("rewardstream.retrain.annotator.agreement", agreement, AtomicReference::get);
    }

    /** Asks {@link #run()} to return; safe from any thread. Abandons a round in progress (nothing committed). */
    public void stop() {
        stopping = true;
        try {
            consumer.wakeup();
        } catch (RuntimeException e) {
            // already closed
        }
    }

    /** Waits until {@link #run()} returned (for shutdown hooks). */
    public boolean awaitFinished(long timeout, TimeUnit unit) throws InterruptedException {
        return finished.await(timeout, unit);
    }

    /** Live: {@link #run()} has not returned (before it is called the job counts as starting, i.e. live). */
    public boolean isLive() {
        return finished.getCount() > 0 && !stopping;
    }

    /** Ready: {@link #run()} is consuming, with partitions assigned, and not stopping. */
    public boolean isReady() {
        return running && readyWritten && !stopping;
    }

    /** Rounds run so far in this process. */
    public int rounds() {
        return round;
    }

    /**
     * Consumes and runs rounds until {@link #stop()}.
     *
     * @throws IOException when the replay buffer cannot be written (the job cannot continue safely)
     */
    public void run() throws IOException {
        try {
            lastRoundAt = System.currentTimeMillis();
            running = true;
            consumer.subscribe(List.of(cfg.preferencesTopic(), cfg.rankedPreferencesTopic()), new Rebalance());
            LOG.info("retrain job started: model {} under {}, topics {} and {}, replay buffer {} ({} pairs)",
                    cfg.modelName(), cfg.modelRoot(), cfg.preferencesTopic(), cfg.rankedPreferencesTopic(),
                    cfg.replayDir(), buffer.size());
            while (!stopping) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(500));
                } catch (WakeupException e) {
                    break;
                }
                if (!readyWritten && !consumer.assignment().isEmpty()) {
                    writeReady();
                }
                if (!records.isEmpty()) {
                    ingest(records);
                }
                if (shouldStartRound()) {
                    runRound();
                }
            }
        } finally {
            running = false;
            LOG.info("retrain job stopping after {} rounds", round);
            finished.countDown();
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // nothing: offsets are only committed at the end of a round
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.copyOf(partitions));
            Map<String, Long> held = buffer.positions();
            ModelRelease latest;
            try {
                latest = releases.latest(cfg.modelName());
            } catch (RuntimeException e) {
                LOG.warn("cannot read the releases topic at assignment ({}); a round will re-check it", e.toString());
                latest = null;
            }
            Map<TopicPartition, OffsetAndMetadata> catchUp = new HashMap<>();
            for (TopicPartition tp : partitions) {
                String key = tp.topic() + ":" + tp.partition();
                OffsetAndMetadata c = committed.get(tp);
                if (c != null) {
                    trainedUpTo.put(key, c.offset());
                }
                // A crash between publishing a release and committing leaves the release ahead of the group:
                // the release's lineage says those pairs are trained, so commit them now instead of retraining.
                Double rel = latest == null || latest.getEvalMetrics() == null ? null
                        : latest.getEvalMetrics().get(offsetKey(key));
                if (rel != null && (c == null || rel.longValue() > c.offset())) {
                    trainedUpTo.put(key, rel.longValue());
                    catchUp.put(tp, new OffsetAndMetadata(rel.longValue()));
                    c = catchUp.get(tp);
                }
                // resume after whatever the buffer already holds (or the release covers), else at the commit
                long from = Math.max(held.getOrDefault(key, -1L), c == null ? -1L : c.offset());
                if (from >= 0) {
                    consumer.seek(tp, from);
                }
            }
            if (!catchUp.isEmpty()) {
                LOG.info("release {}:{} covers offsets beyond the committed ones (crash between publish and commit?); "
                        + "committing {}", latest.getModelName(), latest.getVersion(), catchUp);
                consumer.commitSync(catchUp);
            }
            newPairs = ReplayBuffer.partition(buffer.pairs(), trainedUpTo).fresh().size();
            LOG.info("assigned {}; committed (trained up to) {}; buffer holds up to {}; {} new pairs in the buffer",
                    partitions, trainedUpTo, held, newPairs);
        }
    }

    private void ingest(ConsumerRecords<byte[], byte[]> records) throws IOException {
        List<StoredPair> valid = new ArrayList<>();
        Map<String, Long> next = new HashMap<>();
        Map<String, Long> held = buffer.positions();
        int dead = 0;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            String pos = r.topic() + ":" + r.partition();
            next.merge(pos, r.offset() + 1, Math::max);
            Long h = held.get(pos);
            if (h != null && r.offset() < h) {
                continue;   // already in the buffer (re-delivered after a restart)
            }
            try {
                if (r.topic().equals(cfg.preferencesTopic())) {
                    PreferencePair p = decode(pairValues, r);
                    valid.add(PreferenceValidator.validate(p, r.topic(), r.partition(), r.offset()));
                } else {
                    RankedPreference p = decode(rankedValues, r);
                    valid.addAll(PreferenceValidator.validate(p, r.topic(), r.partition(), r.offset()));
                }
            } catch (InvalidPreferenceException e) {
                deadLetter(r, e.reason(), e.getMessage(), e);
                dead++;
            } catch (RuntimeException e) {
                deadLetter(r, DeadLetters.reasonOf(e, "DESERIALIZATION_FAILED"), e.getMessage(), e);
                dead++;
            }
        }
        if (dead > 0) {
            deadLetters.flush();   // durable before the buffer records that these offsets are handled
            deadLettered.increment(dead);
        }
        buffer.append(valid, next);
        validPairs.increment(valid.size());
        newPairs += valid.size();
        LOG.debug("ingested {} records: {} pairs, {} dead letters; {} new pairs", records.count(), valid.size(), dead,
                newPairs);
    }

    private static <T extends org.apache.avro.generic.IndexedRecord> T decode(AvroDeserializer<T> d,
                                                                               ConsumerRecord<byte[], byte[]> r) {
        T v = d.deserialize(r.topic(), r.value());
        if (v == null) {
            throw new InvalidPreferenceException("NULL_VALUE", "record has no value (tombstone)");
        }
        return v;
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, String detail, Throwable error) {
        LOG.warn("dead-lettering {}-{}@{}: {} {}", r.topic(), r.partition(), r.offset(), reason, detail);
        deadLetters.send(DeadLetters.deadLetter(cfg.deadLettersTopic(), r.topic(), r.partition(), r.offset(), r.key(),
                r.value(), r.headers(), reason, detail, error));
    }

    private boolean shouldStartRound() {
        long now = System.currentTimeMillis();
        if (newPairs == 0 || now < notBefore || stopping) {
            return false;
        }
        return newPairs >= cfg.minNewPairs() || now - lastRoundAt >= cfg.maxIntervalMs();
    }

    private void runRound() {
        int n = ++round;
        Path tmp = null;
        try {
            tmp = doRound(n);
        } catch (RoundTrainer.Interrupted e) {
            LOG.info("round {}: abandoned ({}); nothing committed", n, e.getMessage());
        } catch (WakeupException e) {
            LOG.info("round {}: abandoned on stop; nothing committed", n);
        } catch (Exception e) {
            LOG.error("round {}: failed, nothing committed; retrying in {} ms: {}", n, RETRY_BACKOFF_MS, e.toString(), e);
            notBefore = System.currentTimeMillis() + RETRY_BACKOFF_MS;
        } finally {
            if (tmp != null && Files.exists(tmp)) {
                try {
                    ReleaseWriter.deleteTree(tmp);
                } catch (IOException e) {
                    LOG.warn("cannot delete {}: {}", tmp, e.toString());
                }
            }
        }
    }

    /** Returns the temporary directory to delete if it still exists (null if none was made). */
    private Path doRound(int n) throws IOException {
        List<StoredPair> all = buffer.pairs();
        Map<String, Long> offsets = assignedPositions();
        LOG.info("round {}: starting ({} new pairs, {} in the buffer, offsets {})", n, newPairs, all.size(), offsets);

        AnnotatorAgreement ag = AnnotatorAgreement.of(all);
        if (ag.groups() > 0) {
            agreement.set(ag.overall());
            LOG.info("round {}: annotator agreement {} over {} multi-label groups; per annotator {}", n,
                    String.format("%.3f", ag.overall()), ag.groups(), ag.perAnnotator());
        }
        List<StoredPair> usable = all;
        if (cfg.annotatorMinAgreement() != null) {
            usable = ag.dropBelow(all, cfg.annotatorMinAgreement());
            LOG.info("round {}: dropped {} pairs whose label group agrees below {}", n, all.size() - usable.size(),
                    cfg.annotatorMinAgreement());
        }
        ModelRelease current = releases.latest(cfg.modelName());
        if (current != null && covers(current, offsets)) {
            LOG.info("round {}: release {}:{} already covers offsets {}; skipping a duplicate release", n,
                    current.getModelName(), current.getVersion(), offsets);
            commit(n, offsets);
            return null;
        }
        if (publishUnpublished(n, current)) {
            return null;
        }
        Path currentDir;
        if (current != null) {
            currentDir = cfg.modelRoot().resolve(current.getLocation()).normalize();
        } else if (cfg.baseModelDir() != null) {
            currentDir = cfg.baseModelDir();
        } else {
            throw new IllegalStateException("no release of " + cfg.modelName() + " on " + cfg.releasesTopic()
                    + " and no " + RetrainConfig.BASE_MODEL + " configured");
        }
        String tokenizer = io.rewardstream.scoring.ModelManifest.read(currentDir).tokenizer();
        ReplayBuffer.Partitioned part = ReplayBuffer.partition(usable, trainedUpTo);
        List<PreferenceExample> fresh = new ArrayList<>();
        List<PreferenceExample> old = new ArrayList<>();
        List<PreferenceExample> heldOut = new ArrayList<>();
        int noText = 0;
        for (int side = 0; side < 2; side++) {
            for (StoredPair p : side == 0 ? part.fresh() : part.old()) {
                PreferenceExample e = p.toExample(tokenizer);
                if (e == null) {
                    noText++;
                    continue;
                }
                if (Splits.heldOut(p.splitKey(), cfg.heldOutFraction())) {
                    heldOut.add(e);
                } else {
                    (side == 0 ? fresh : old).add(e);
                }
            }
        }
        if (noText > 0) {
            LOG.warn("round {}: {} pairs lack what the model's tokenizer '{}' needs (text for bytes, token ids for "
                    + "ids); they are not used", n, noText, tokenizer);
        }
        if (fresh.isEmpty() || heldOut.isEmpty()) {
            LOG.info("round {}: postponed: {} new training pairs, {} held-out pairs (need both)", n, fresh.size(),
                    heldOut.size());
            notBefore = System.currentTimeMillis() + Math.min(cfg.maxIntervalMs(), RETRY_BACKOFF_MS);
            return null;
        }


        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("round", n);
        summary.put("current_model", current == null ? "base " + currentDir : current.getModelName() + ":"
                + current.getVersion());
        ag.asMap().forEach(summary::put);
        offsets.forEach((k, v) -> summary.put("offset." + k, v));
        Path tmp = writer.newTempDir();
        LOG.info("round {}: training from {} ({} new, {} replayed, {} held-out pairs, {} steps)", n, currentDir,
                fresh.size(), old.size(), heldOut.size(), cfg.steps());
        RoundTrainer.Output out = trainer.train(new RoundTrainer.Input(currentDir, fresh, old, heldOut, cfg.steps(),
                cfg.batchSize(), cfg.replayMix(), cfg.learningRate(), cfg.seed() + n, summary), tmp, () -> stopping);

        Gate.Decision d = Gate.decide(out.current(), out.candidate(), cfg.gateTolerance());
        LOG.info("round {}: gate: {} -> {}", n, d.reason(), d.release() ? "release" : "refuse");
        Map<String, Double> metrics = new LinkedHashMap<>(out.candidate().asMap());
        metrics.put("score_gap", out.candidate().meanMargin());
        metrics.put("current_accuracy", out.current().accuracy());
        metrics.put("current_loss", out.current().loss());
        metrics.put("train_new_pairs", (double) fresh.size());
        metrics.put("train_replayed_pairs", (double) old.size());
        ag.asMap().forEach(metrics::put);
        offsets.forEach((k, v) -> metrics.put(offsetKey(k), v.doubleValue()));
        heldOutAccuracy.set(out.candidate().accuracy());

        if (d.release()) {
            long version = Math.max(current == null ? 0 : current.getVersion(), writer.highestVersionDir()) + 1;
            Long parent = current == null ? null : current.getVersion();
            Map<String, String> lineage = new LinkedHashMap<>();
            lineage.put("parent_version", parent == null ? "" : parent.toString());
            lineage.put("parent_location", current == null ? currentDir.toString() : current.getLocation());
            offsets.forEach((k, v) -> lineage.put("trained_up_to." + k, v.toString()));
            LOG.info("round {}: releasing {}:{} (parent {})", n, cfg.modelName(), version, parent);
            writer.stamp(tmp, version, parent, metrics, lineage);
            ModelRelease again = releases.latest(cfg.modelName());
            if (again != null && covers(again, offsets)) {
                LOG.info("round {}: release {}:{} already covers offsets {}; skipping a duplicate release", n,
                        again.getModelName(), again.getVersion(), offsets);
            } else {
                ModelManifest mf = ModelLoader.verifyFiles(tmp, true);
                Path installed = publisher.install(tmp, mf.name(), mf.version());
                LOG.info("round {}: installed {}:{} at {}; sending the release", n, mf.name(), mf.version(), installed);
                pauseBeforePublish(n);
                ModelRelease r = publisher.buildRelease(installed, mf, parent, metrics, false);
                publisher.send(r);
                released.increment();
                LOG.info("round {}: published {}:{} at {} with held-out accuracy {} (current {}), score gap {}, "
                                + "length correlation {}", n, r.getModelName(), r.getVersion(), r.getLocation(),
                        fmt(out.candidate().accuracy()), fmt(out.current().accuracy()),
                        fmt(out.candidate().meanMargin()), fmt(out.candidate().lengthCorrelation()));
            }
        } else {
            Path rej = writer.reject(tmp);
            refused.increment();
            LOG.warn("round {}: rejected candidate kept at {}: {}; candidate {} | current {}. Offsets are committed "
                    + "anyway: the pairs stay in the replay buffer and retraining on them alone would be refused "
                    + "again", n, rej, d.reason(), out.candidate(), out.current());
        }
        commit(n, offsets);
        return tmp;
    }

    /**
     * Closes the gap of a crash between the atomic move to {@code v<N>} and sending the release: a complete
     * {@code v<N>} above the newest release whose digests verify, whose manifest names this model and version and
     * whose parent is the newest release (the round being repeated) is published as it is, and the offsets its
     * lineage ({@code trained_up_to.*}) covers are committed; any other directory above the newest release
     * (parent mismatch, digests failing) is moved to {@code rejected/} (no scorer ever saw a release of it).
     *
     * @return whether a version was published (the round then ends after the commit)
     */
    private boolean publishUnpublished(int n, ModelRelease current) throws IOException {
        long newest = current == null ? 0 : current.getVersion();
        Long parent = current == null ? null : current.getVersion();
        ModelRelease published = null;
        Map<String, Long> covered = new TreeMap<>();
        for (Path dir : writer.versionDirsAbove(newest)) {
            String why = null;
            ModelManifest m = null;
            try {
                m = ModelLoader.verifyFiles(dir, true);
            } catch (RuntimeException e) {
                why = "does not verify: " + e.getMessage();
            }
            String expected = "v" + (m == null ? -1 : m.version());
            if (why == null && (!cfg.modelName().equals(m.name()) || !dir.getFileName().toString().equals(expected))) {
                why = "its manifest says " + m.name() + ":" + m.version();
            } else if (why == null && !java.util.Objects.equals(m.parentVersion(), parent)) {
                why = "its parent is " + m.parentVersion() + ", the newest release is " + parent;
            }
            if (why != null) {
                Path moved = writer.reject(dir);
                LOG.warn("round {}: unpublished {} {}; moved to {}", n, dir, why, moved);
                continue;
            }
            LOG.info("round {}: found complete but unpublished {}:{} at {} (crash between install and publish); "
                    + "publishing it instead of training again", n, m.name(), m.version(), dir);
            published = publisher.publish(dir, m.parentVersion(), m.metrics(), false);
            released.increment();
            LOG.info("round {}: published {}:{} at {} (recovered)", n, published.getModelName(),
                    published.getVersion(), published.getLocation());
            parent = m.version();
            m.lineage().forEach((k, v) -> {
                if (k.startsWith("trained_up_to.")) {
                    covered.put(k.substring("trained_up_to.".length()), Long.parseLong(v));
                }
            });
        }
        if (published == null) {
            return false;
        }
        Map<String, Long> assigned = new TreeMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            Long v = covered.get(tp.topic() + ":" + tp.partition());
            if (v != null) {
                assigned.put(tp.topic() + ":" + tp.partition(), v);
            }
        }
        commit(n, assigned);
        return true;
    }

    private void pauseBeforePublish(int n) {
        if (pauseBeforePublishMs <= 0) {
            return;
        }
        LOG.warn("round {}: pausing {} ms before publishing ({} is set: test/chaos only)", n, pauseBeforePublishMs,
                PAUSE_BEFORE_PUBLISH_PROPERTY);
        long until = System.currentTimeMillis() + pauseBeforePublishMs;
        try {
            while (System.currentTimeMillis() < until && !stopping) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void commit(int n, Map<String, Long> offsets) {
        if (offsets.isEmpty()) {
            LOG.info("round {}: nothing to commit", n);
            return;
        }
        LOG.info("round {}: committing {}", n, offsets);
        Map<TopicPartition, OffsetAndMetadata> c = new HashMap<>();
        offsets.forEach((k, v) -> {
            int i = k.lastIndexOf(':');
            c.put(new TopicPartition(k.substring(0, i), Integer.parseInt(k.substring(i + 1))), new OffsetAndMetadata(v));
        });
        consumer.commitSync(c);
        trainedUpTo.putAll(offsets);
        newPairs = ReplayBuffer.partition(buffer.pairs(), trainedUpTo).fresh().size();
        lastRoundAt = System.currentTimeMillis();
        LOG.info("round {}: committed; {} new pairs remain", n, newPairs);
    }

    /** Buffer positions of the partitions assigned now (the offsets a round trains up to). */
    private Map<String, Long> assignedPositions() {
        Map<String, Long> held = buffer.positions();
        Map<String, Long> out = new TreeMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            Long h = held.get(tp.topic() + ":" + tp.partition());
            if (h != null) {
                out.put(tp.topic() + ":" + tp.partition(), h);
            }
        }
        return out;
    }

    static String offsetKey(String position) {
        int i = position.lastIndexOf(':');
        return "offset." + position.substring(0, i) + "." + position.substring(i + 1);
    }

    /** True when {@code r}'s eval_metrics record offsets at or beyond every one of {@code offsets}. */
    static boolean covers(ModelRelease r, Map<String, Long> offsets) {
        if (offsets.isEmpty()) {
            return false;
        }
        Map<String, Double> m = r.getEvalMetrics();
        for (var e : offsets.entrySet()) {
            Double v = m == null ? null : m.get(offsetKey(e.getKey()));
            if (v == null || v < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static String fmt(double v) {
        return String.format("%.4f", v);
    }

    private void writeReady() {
        readyWritten = true;
        if (readyFile == null) {
            return;
        }
        try {
            ReplayBuffer.writeAtomically(readyFile.toAbsolutePath(),
                    ("ready " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8));
            LOG.info("ready: wrote {}", readyFile);
        } catch (IOException e) {
            LOG.warn("cannot write ready file {}: {}", readyFile, e.toString());
        }
    }

    @Override
    public void close() {
        stopping = true;
        try {
            consumer.close(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            LOG.warn("closing consumer: {}", e.toString());
        }
        deadLetters.close(Duration.ofSeconds(10));
        publisher.close();
        releases.close();
        pairValues.close();
        rankedValues.close();
    }
}
