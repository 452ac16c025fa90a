package io.rewardstream.training;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.files.FileTrees;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The continuous retraining job: a loop that polls the preference topics ({@link PreferenceIngest}: validation,
 * dead letters, the {@link ReplayBuffer}) and starts a round ({@link RoundRunner}: fine-tune the current release,
 * gate the candidate, publish it through the {@link RecoveryPublisher}) once enough new pairs arrived or the
 * maximum interval passed.
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
 * Owns its consumers and producers; {@link #close()} releases them. {@link RetrainApp} wires it as a service.
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
    private final Path readyFile;
    private final ReplayBuffer buffer;
    private final RecoveryPublisher releases;
    private final PreferenceIngest ingest;
    private final RoundRunner rounds;

    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean stopping;
    private volatile boolean running;
    private volatile boolean readyWritten;
    private long lastRoundAt;
    private long notBefore;
    private volatile int round;

    /**
     * Connects (no I/O on the topics yet), opens the replay buffer and deletes half-written release directories.
     *
     * @param readyFile written once partitions are assigned (for scripts and tests), or null
     * @throws IOException when the replay buffer, the model root or the signing key cannot be read
     */
    public RetrainJob(RetrainConfig cfg, RoundTrainer trainer, MeterRegistry meters, Path readyFile) throws IOException {
        this.cfg = cfg;
        this.readyFile = readyFile;
        Map<String, Object> clientProps = new HashMap<>(cfg.kafka());
        clientProps.put("bootstrap.servers", cfg.bootstrapServers());
        clientProps.put("schema.registry.url", cfg.schemaRegistryUrl());

        RecoveryPublisher pub = new RecoveryPublisher(cfg, clientProps, meters,
                Long.getLong(PAUSE_BEFORE_PUBLISH_PROPERTY, 0L));
        try {
            buffer = ReplayBuffer.open(cfg.replayDir(), cfg.replayMaxPairs());
            ingest = new PreferenceIngest(cfg, clientProps, buffer, pub::coverage, meters);
        } catch (IOException | RuntimeException e) {
            pub.close();
            throw e;
        }
        releases = pub;
        rounds = new RoundRunner(cfg, trainer, buffer, ingest, releases, meters);
    }

    /** Asks {@link #run()} to return; safe from any thread. Abandons a round in progress (nothing committed). */
    public void stop() {
        stopping = true;
        ingest.wakeup();
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
            ingest.subscribe();
            LOG.info("retrain job started: model {} under {}, topics {} and {}, replay buffer {} ({} pairs)",
                    cfg.modelName(), cfg.modelRoot(), cfg.preferencesTopic(), cfg.rankedPreferencesTopic(),
                    cfg.replayDir(), buffer.size());
            while (!stopping) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = ingest.poll(Duration.ofMillis(500));
                } catch (WakeupException e) {
                    break;
                }
                if (!readyWritten && ingest.hasAssignment()) {
                    writeReady();
                }
                if (!records.isEmpty()) {
                    ingest.ingest(records);
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

    private boolean shouldStartRound() {
        long now = System.currentTimeMillis();
        if (ingest.newPairs() == 0 || now < notBefore || stopping) {
            return false;
        }
        return ingest.newPairs() >= cfg.minNewPairs() || now - lastRoundAt >= cfg.maxIntervalMs();
    }

    private void runRound() {
        int n = ++round;
        Path tmp = null;
        try {
            RoundRunner.Result r = rounds.run(n, () -> stopping);
            tmp = r.tmp();
            if (r.outcome() == RoundRunner.Outcome.POSTPONED) {
                notBefore = System.currentTimeMillis() + Math.min(cfg.maxIntervalMs(), RETRY_BACKOFF_MS);
            } else {
                lastRoundAt = System.currentTimeMillis();
            }
        } catch (RoundTrainer.Interrupted e) {
            LOG.info("round {}: abandoned ({}); nothing committed", n, e.getMessage());
        } catch (WakeupException e) {
            LOG.info("round {}: abandoned on stop; nothing committed", n);
        } catch (Exception e) {
            LOG.error("round {}: failed, nothing committed; retrying in {} ms: {}", n, RETRY_BACKOFF_MS, e.toString(), e);
            notBefore = System.currentTimeMillis() + RETRY_BACKOFF_MS;
        } finally {
            try {
                FileTrees.deleteTree(tmp);   // no-op for null or a directory never made
            } catch (IOException e) {
                LOG.warn("cannot delete {}: {}", tmp, e.toString());
            }
        }
    }

    static String offsetKey(String position) {
        return RecoveryPublisher.offsetKey(position);
    }

    /** True when {@code r}'s eval_metrics record offsets at or beyond every one of {@code offsets}. */
    static boolean covers(ModelRelease r, Map<String, Long> offsets) {
        return RecoveryPublisher.covers(r, offsets);
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
        ingest.close();
        releases.close();
    }
}
