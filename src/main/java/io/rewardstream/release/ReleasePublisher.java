package io.rewardstream.release;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.schema.AvroSerializer;

import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Publishes a reward model that has been exported (SavedModel + manifest with digests) as a signed release:
 * <ol>
 *   <li>checks the manifest's digests against the files ({@link ModelLoader#verifyFiles});</li>
 *   <li>moves the directory atomically ({@link StandardCopyOption#ATOMIC_MOVE}) to
 *       {@code <model.root>/<name>/v<version>} (name and version from the manifest), so scorers never see a
 *       half-written model; a directory already at that place is used as is (re-publishing, rollbacks) and a
 *       different existing one is never overwritten;</li>
 *   <li>builds the {@link ModelRelease} (digests of every file, the manifest included) and signs it
 *       ({@link ReleaseSigning});</li>
 *   <li>sends it keyed by model name and waits for the acknowledgement of an idempotent, {@code acks=all}
 *       producer.</li>
 * </ol>
 * Owns its producer. Not thread-safe: one publishing job at a time.
 */
public final class ReleasePublisher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReleasePublisher.class);
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    public static final String DEFAULT_TOPIC = "model-releases";

    private final Path modelRoot;
    private final PrivateKey key;
    private final String keyId;
    private final Producer<String, ModelRelease> producer;
    private final String topic;
    private final long sendTimeoutMs;

    /**
     * @param modelRoot existing model root shared with the scorers
     * @param key       Ed25519 private key; null publishes UNSIGNED releases (local development only)
     * @param keyId     id of the matching public key on the scorers (required with a key)
     * @param producer  producer of release records (owned from now on); should be idempotent with acks=all
     * @param topic     release topic
     */
    public ReleasePublisher(Path modelRoot, PrivateKey key, String keyId, Producer<String, ModelRelease> producer,
                            String topic) {
        this.modelRoot = Objects.requireNonNull(modelRoot, "modelRoot");
        if (!Files.isDirectory(modelRoot)) {
            throw new IllegalArgumentException("model root " + modelRoot + " does not exist or is not a directory");
        }
        if (key != null && (keyId == null || keyId.isBlank())) {
            throw new IllegalArgumentException("a signing key needs its key id");
        }
        this.key = key;
        this.keyId = key == null ? null : keyId;
        this.producer = Objects.requireNonNull(producer, "producer");
        this.topic = Objects.requireNonNull(topic, "topic");
        this.sendTimeoutMs = 120_000;
    }

    /**
     * A publisher with its own idempotent {@code acks=all} producer.
     *
     * @param privateKeyFile PKCS#8 Ed25519 key (PEM or DER); null for unsigned development releases
     * @param keyId          key id, or null for the key file's name without extension
     * @param clientProps    Kafka producer and schema registry properties ({@code bootstrap.servers},
     *                       {@code schema.registry.url}, security); serializers, acks and idempotence are set here
     * @throws IOException when the key cannot be read
     */
    public static ReleasePublisher create(Path modelRoot, Path privateKeyFile, String keyId,
                                          Map<String, ?> clientProps, String topic) throws IOException {
        PrivateKey key = null;
        String id = keyId;
        if (privateKeyFile != null) {
            key = KeyFiles.readPrivate(privateKeyFile);
            if (id == null || id.isBlank()) {
                String f = privateKeyFile.getFileName().toString();
                id = f.contains(".") ? f.substring(0, f.lastIndexOf('.')) : f;
            }
        }
        Map<String, Object> props = new HashMap<>(clientProps);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "rewardstream-release-publisher");
        AvroSerializer<ModelRelease> values = new AvroSerializer<>();
        values.configure(clientProps, false);
        Producer<String, ModelRelease> producer = new KafkaProducer<>(props, new StringSerializer(), values);
        return new ReleasePublisher(modelRoot, key, id, producer, topic);
    }

    /**
     * Installs, signs and publishes {@code exportedDir} (see the class comment).
     *
     * @param parentVersion version it was fine-tuned from, or null to take the manifest's
     * @param evalMetrics   held-out metrics, or null to take the manifest's
     * @param rollback      mark it as an explicit rollback (scorers then accept a lower version if allowed)
     * @return the published release
     * @throws io.rewardstream.scoring.ModelLoadException when the manifest is missing or disagrees with the files
     * @throws IllegalStateException                      when the move or the send fails (nothing was published)
     */
    public ModelRelease publish(Path exportedDir, Long parentVersion, Map<String, Double> evalMetrics,
                                boolean rollback) {
        ModelManifest manifest = ModelLoader.verifyFiles(exportedDir, true);
        Path dir = install(exportedDir, manifest.name(), manifest.version());
        ModelRelease release = buildRelease(dir, manifest, parentVersion == null ? manifest.parentVersion()
                : parentVersion, evalMetrics == null ? manifest.metrics() : evalMetrics, rollback);
        send(release);
        return release;
    }

    /**
     * Moves {@code exportedDir} to {@code <model.root>/<name>/v<version>} atomically, unless it already is there.
     *
     * @return the installed directory
     * @throws IllegalStateException when the target exists (as another directory) or the move cannot be atomic
     */
    public Path install(Path exportedDir, String name, long version) {
        if (!SAFE_NAME.matcher(name).matches() || name.equals("..")) {
            throw new IllegalArgumentException("model name '" + name + "' is not a safe directory name "
                    + SAFE_NAME.pattern());
        }
        Path target = modelRoot.resolve(name).resolve("v" + version);
        try {
            if (Files.exists(target)) {
                if (Files.isSameFile(target, exportedDir)) {
                    LOG.info("model {}:{} is already installed at {}", name, version, target);
                    return target;
                }
                throw new IllegalStateException("release directory " + target + " already exists; a released "
                        + "version is never overwritten (bump the version)");
            }
            // durable before the release record (sent after this, acks=all) can point at it
            FileSync.fsyncTree(exportedDir);
            Files.createDirectories(target.getParent());
            Files.move(exportedDir, target, StandardCopyOption.ATOMIC_MOVE);
            FileSync.fsyncDir(target.getParent());
            FileSync.fsyncDir(modelRoot);
            LOG.info("model {}:{} moved {} -> {}", name, version, exportedDir, target);
            return target;
        } catch (AtomicMoveNotSupportedException e) {
            throw new IllegalStateException("cannot move " + exportedDir + " atomically to " + target + ": export "
                    + "to a temporary directory on the same file system as the model root (e.g. " + modelRoot
                    .resolve(".staging") + ")", e);
        } catch (IOException e) {
            throw new IllegalStateException("cannot install " + exportedDir + " at " + target + ": " + e, e);
        }
    }

    /** The (signed, when a key is configured) release of an installed model directory. */
    public ModelRelease buildRelease(Path installedDir, ModelManifest manifest, Long parentVersion,
                                     Map<String, Double> evalMetrics, boolean rollback) {
        String location = modelRoot.relativize(installedDir).toString().replace('\\', '/');
        ModelRelease release = ModelRelease.newBuilder()
                .setModelName(manifest.name())
                .setVersion(manifest.version())
                .setLocation(location)
                .setDigests(ReleaseSigning.releaseDigests(installedDir))
                .setEvalMetrics(evalMetrics == null ? Map.of() : Map.copyOf(evalMetrics))
                .setParentVersion(parentVersion)
                .setRollback(rollback)
                .setCreatedAt(Instant.now())
                .build();
        if (key == null) {
            LOG.warn("release {}:{} is UNSIGNED (no private key configured): only scorers with "
                    + "release.allow.unsigned=true accept it", manifest.name(), manifest.version());
            return release;
        }
        return ReleaseSigning.signed(release, key, keyId);
    }

    /** Sends a release and waits for its acknowledgement. */
    public RecordMetadata send(ModelRelease release) {
        try {
            RecordMetadata md = producer.send(new ProducerRecord<>(topic, release.getModelName(), release))
                    .get(sendTimeoutMs, TimeUnit.MILLISECONDS);
            LOG.info("published release {}:{} ({}) to {}-{}@{}", release.getModelName(), release.getVersion(),
                    release.getSignature() == null ? "unsigned" : "signed by " + release.getSigningKeyId(),
                    md.topic(), md.partition(), md.offset());
            return md;
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("release " + release.getModelName() + ":" + release.getVersion()
                    + " was not published to " + topic + ": " + (e.getCause() == null ? e : e.getCause()), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing a release", e);
        } catch (UncheckedIOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
