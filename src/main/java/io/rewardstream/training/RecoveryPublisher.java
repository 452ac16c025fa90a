package io.rewardstream.training;

import io.rewardstream.release.ReleaseWriter;
import io.rewardstream.release.ReleasePublisher;
import io.rewardstream.release.ReleaseLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * The retraining job's release side and its crash recovery: installs and publishes a round's candidate as a signed
 * release, and closes the gaps a crash can leave.
 * <ul>
 *   <li>half-written {@code .tmp-*} release directories are deleted at start;</li>
 *   <li>a release whose {@code eval_metrics} ({@code offset.<topic>.<partition>}) already cover a round's offsets is not
 *   published again ({@link #covers});</li>
 *   <li>a complete {@code v<N>} above the newest release (a crash between the atomic move and the send) is published as
 *   it is when it verifies and descends from the newest release, else moved to {@code rejected/}
 *   ({@link #publishUnpublished}).</li>
 * </ul>
 *
 * <p>Not thread-safe (the job's loop thread). Owns the release publisher and the releases-topic reader.
 */
final class RecoveryPublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RecoveryPublisher.class);

    private final RetrainConfig cfg;
    private final ReleaseWriter writer;
    private final ReleasePublisher publisher;
    private final ReleaseLog releases;
    private final Counter released;
    private final long pauseBeforePublishMs;

    /**
     * Deletes half-written release directories and connects the publisher and the releases-topic reader.
     *
     * @throws IOException when the model root or the signing key cannot be read
     */
    RecoveryPublisher(RetrainConfig cfg, Map<String, Object> clientProps, MeterRegistry meters,
                      long pauseBeforePublishMs) throws IOException {
        this.cfg = cfg;
        this.pauseBeforePublishMs = pauseBeforePublishMs;
        java.nio.file.Files.createDirectories(cfg.modelRoot());
        writer = new ReleaseWriter(cfg.modelRoot(), cfg.modelName());
        int cleaned = writer.cleanUp();
        if (cleaned > 0) {
            LOG.warn("deleted {} half-written release directories under {}", cleaned, writer.modelDir());
        }
        ReleasePublisher pub = ReleasePublisher.create(cfg.modelRoot(), cfg.signingKey(), cfg.signingKeyId(),
                clientProps, cfg.releasesTopic());
        try {
            releases = new ReleaseLog(clientProps, cfg.releasesTopic(), Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            pub.close();
            throw e;
        }
        publisher = pub;
        released = Counter.builder("rewardstream.retrain.rounds").tag("outcome", "released")
                .description("Retraining rounds by outcome").register(meters);
    }

    /** The newest release of the configured model on the releases topic, or null. */
    ModelRelease latest() {
        return releases.latest(cfg.modelName());
    }

    /** The offsets the newest release covers, for the consumer's assignment; none when the topic cannot be read. */
    PreferenceIngest.ReleaseCoverage coverage() {
        ModelRelease latest;
        try {
            latest = latest();
        } catch (RuntimeException e) {
            LOG.warn("cannot read the releases topic at assignment ({}); a round will re-check it", e.toString());
            return PreferenceIngest.ReleaseCoverage.NONE;
        }
        if (latest == null || latest.getEvalMetrics() == null) {
            return PreferenceIngest.ReleaseCoverage.NONE;
        }
        return new PreferenceIngest.ReleaseCoverage(latest.getModelName() + ":" + latest.getVersion(),
                new java.util.HashMap<>(latest.getEvalMetrics()));
    }

    /** A new temporary release directory under the model root. */
    Path newTempDir() throws IOException {
        return writer.newTempDir();
    }

    /** The version a new release of a round on top of {@code current} gets (above any directory left over). */
    long nextVersion(ModelRelease current) throws IOException {
        return Math.max(current == null ? 0 : current.getVersion(), writer.highestVersionDir()) + 1;
    }

    /** Moves a refused candidate to {@code rejected/}; returns where it went. */
    Path reject(Path tmp) throws IOException {
        return writer.reject(tmp);
    }

    /**
     * Stamps the candidate in {@code tmp} as {@code version}, verifies it, installs it atomically and sends its
     * {@code ModelRelease} — unless a release published meanwhile already covers {@code offsets}.
     *
     * @return the release sent, or null when it was skipped as a duplicate
     */
    ModelRelease release(int n, Path tmp, long version, Long parent, Map<String, Double> metrics,
                         Map<String, String> lineage, Map<String, Long> offsets, BooleanSupplier stopping)
            throws IOException {
        writer.stamp(tmp, version, parent, metrics, lineage);
        ModelRelease again = latest();
        if (again != null && covers(again, offsets)) {
            LOG.info("round {}: release {}:{} already covers offsets {}; skipping a duplicate release", n,
                    again.getModelName(), again.getVersion(), offsets);
            return null;
        }
        ModelManifest mf = ModelLoader.verifyFiles(tmp, true);
        Path installed = publisher.install(tmp, mf.name(), mf.version());
        LOG.info("round {}: installed {}:{} at {}; sending the release", n, mf.name(), mf.version(), installed);
        pauseBeforePublish(n, stopping);
        ModelRelease r = publisher.buildRelease(installed, mf, parent, metrics, false);
        publisher.send(r);
        released.increment();
        return r;
    }

    /**
     * Closes the gap of a crash between the atomic move to {@code v<N>} and sending the release: a complete
     * {@code v<N>} above the newest release whose digests verify, whose manifest names this model and version and
     * whose parent is the newest release (the round being repeated) is published as it is; any other directory above
     * the newest release (parent mismatch, digests failing) is moved to {@code rejected/} (no scorer ever saw a
     * release of it).
     *
     * @return the offsets the published versions' lineage ({@code trained_up_to.*}) covers, by topic:partition, or
     * null when nothing was published
     */
    Map<String, Long> publishUnpublished(int n, ModelRelease current) throws IOException {
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
            } else if (why == null && !Objects.equals(m.parentVersion(), parent)) {
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
        return published == null ? null : covered;
    }

    private void pauseBeforePublish(int n, BooleanSupplier stopping) {
        if (pauseBeforePublishMs <= 0) {
            return;
        }
        LOG.warn("round {}: pausing {} ms before publishing ({} is set: test/chaos only)", n, pauseBeforePublishMs,
                RetrainJob.PAUSE_BEFORE_PUBLISH_PROPERTY);
        long until = System.currentTimeMillis() + pauseBeforePublishMs;
        try {
            while (System.currentTimeMillis() < until && !stopping.getAsBoolean()) {
                Thread.sleep(50);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

    @Override
    public void close() {
        publisher.close();
        releases.close();
    }
}
