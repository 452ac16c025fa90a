package io.rewardstream.training;

import static io.rewardstream.config.ConfigValues.doubleValue;
import static io.rewardstream.config.ConfigValues.intValue;
import static io.rewardstream.config.ConfigValues.longValue;
import static io.rewardstream.config.ConfigValues.path;
import static io.rewardstream.config.ConfigValues.requiredString;
import static io.rewardstream.config.ConfigValues.string;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

/**
 * Configuration of the continuous retraining job ({@link RetrainJob}); documented key by key in
 * {@code topology/retrain.properties}. Immutable; every validation error names the offending key.
 *
 * @param kafka                   extra Kafka client properties (keys under {@code kafka.}, prefix removed)
 * @param minNewPairs             a round starts once this many new valid pairs arrived
 * @param maxIntervalMs           ... or once this long passed since the last round with at least one new pair
 * @param replayMix               fraction of each training batch drawn from older (replayed) pairs
 * @param heldOutFraction         fraction of pairs (by SHA-256 of the pair id) never trained on
 * @param gateTolerance           candidate accuracy must be >= current accuracy - tolerance
 * @param annotatorMinAgreement   drop pairs whose group agreement is below this; null = keep all
 * @param metricsHost             {@code metrics.host}: address of the /metrics and /health HTTP server
 * @param metricsPort             {@code metrics.port}: its port; 0 = ephemeral, -1 = no HTTP server
 * @param bertTrainLayers         {@code retrain.bert.train.layers}: what a round trains on a BERT reward model:
 *                                {@code auto} (as the model was trained), {@code 0} (head only), {@code 1..12}, {@code all}
 * @param bertLearningRate        {@code retrain.bert.learning.rate}: peak AdamW rate of BERT backbone rounds
 */
public record RetrainConfig(String bootstrapServers, String schemaRegistryUrl, String groupId,
                            String preferencesTopic, String rankedPreferencesTopic, String releasesTopic,
                            String deadLettersTopic, int minNewPairs, long maxIntervalMs, int steps, int batchSize,
                            double learningRate, Path replayDir, int replayMaxPairs, double replayMix,
                            double heldOutFraction, double gateTolerance, Path modelRoot, String modelName,
                            Path baseModelDir, Path signingKey, String signingKeyId, Double annotatorMinAgreement,
                            long seed, Map<String, String> kafka, String metricsHost, int metricsPort,
                            String bertTrainLayers, double bertLearningRate) {

    public static final String BOOTSTRAP = "bootstrap.servers";
    public static final String REGISTRY = "schema.registry.url";
    public static final String GROUP_ID = "retrain.group.id";
    public static final String PREFERENCES = "topics.preferences.name";
    public static final String RANKED = "topics.ranked-preferences.name";
    public static final String RELEASES = "topics.model-releases.name";
    public static final String DEAD_LETTERS = "topics.rewardstream-dead-letters.name";
    public static final String MIN_NEW_PAIRS = "retrain.min.new.pairs";
    public static final String MAX_INTERVAL = "retrain.max.interval.ms";
    public static final String STEPS = "retrain.steps";
    public static final String BATCH_SIZE = "retrain.batch.size";
    public static final String LEARNING_RATE = "retrain.learning.rate";
    public static final String REPLAY_DIR = "retrain.replay.dir";
    public static final String REPLAY_MAX = "retrain.replay.max.pairs";
    public static final String REPLAY_MIX = "retrain.replay.mix";
    public static final String HELDOUT = "retrain.heldout.fraction";
    public static final String TOLERANCE = "retrain.gate.tolerance";
    public static final String MODEL_ROOT = "retrain.model.root";
    public static final String MODEL_NAME = "retrain.model.name";
    public static final String BASE_MODEL = "retrain.base.model.dir";
    public static final String SIGNING_KEY = "retrain.signing.key";
    public static final String SIGNING_KEY_ID = "retrain.signing.key.id";
    public static final String MIN_AGREEMENT = "retrain.annotator.min.agreement";
    public static final String SEED = "retrain.seed";
    public static final String BERT_TRAIN_LAYERS = "retrain.bert.train.layers";
    public static final String BERT_LEARNING_RATE = "retrain.bert.learning.rate";
    public static final String KAFKA_PREFIX = "kafka.";
    public static final String METRICS_HOST = "metrics.host";
    public static final String METRICS_PORT = "metrics.port";
    public static final String DEFAULT_METRICS_HOST = "127.0.0.1";
    public static final int DEFAULT_METRICS_PORT = 9465;

    public RetrainConfig {
        require(BOOTSTRAP, bootstrapServers);
        require(REGISTRY, schemaRegistryUrl);
        require(GROUP_ID, groupId);
        require(PREFERENCES, preferencesTopic);
        require(RANKED, rankedPreferencesTopic);
        require(RELEASES, releasesTopic);
        require(DEAD_LETTERS, deadLettersTopic);
        require(MODEL_NAME, modelName);
        Objects.requireNonNull(replayDir, REPLAY_DIR + " is required");
        Objects.requireNonNull(modelRoot, MODEL_ROOT + " is required");
        if (!modelName.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException(MODEL_NAME + " must be a plain directory name ([A-Za-z0-9._-]), got '"
                    + modelName + "'");
        }
        if (minNewPairs < 1) {
            throw new IllegalArgumentException(MIN_NEW_PAIRS + " must be >= 1, got " + minNewPairs);
        }
        if (maxIntervalMs < 1) {
            throw new IllegalArgumentException(MAX_INTERVAL + " must be >= 1, got " + maxIntervalMs);
        }
        if (steps < 1) {
            throw new IllegalArgumentException(STEPS + " must be >= 1, got " + steps);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException(BATCH_SIZE + " must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException(LEARNING_RATE + " must be a finite number > 0, got " + learningRate);
        }
        if (replayMaxPairs < 1) {
            throw new IllegalArgumentException(REPLAY_MAX + " must be >= 1, got " + replayMaxPairs);
        }
        if (!(replayMix >= 0 && replayMix < 1)) {
            throw new IllegalArgumentException(REPLAY_MIX + " must be in [0,1), got " + replayMix);
        }
        if (!(heldOutFraction > 0 && heldOutFraction < 1)) {
            throw new IllegalArgumentException(HELDOUT + " must be in (0,1), got " + heldOutFraction);
        }
        if (!(gateTolerance >= 0 && gateTolerance <= 1)) {
            throw new IllegalArgumentException(TOLERANCE + " must be in [0,1], got " + gateTolerance);
        }
        if (annotatorMinAgreement != null && !(annotatorMinAgreement >= 0 && annotatorMinAgreement <= 1)) {
            throw new IllegalArgumentException(MIN_AGREEMENT + " must be in [0,1], got " + annotatorMinAgreement);
        }
        if ((signingKey == null) != (signingKeyId == null)) {
            throw new IllegalArgumentException(signingKey == null
                    ? SIGNING_KEY + " is required when " + SIGNING_KEY_ID + " is set"
                    : SIGNING_KEY_ID + " is required when " + SIGNING_KEY + " is set");
        }
        require(METRICS_HOST, metricsHost);
        if (metricsPort < -1 || metricsPort > 65535) {
            throw new IllegalArgumentException(METRICS_PORT + " must be in [-1, 65535] (0 = ephemeral, -1 = off), got "
                    + metricsPort);
        }
        kafka = kafka == null ? Map.of() : Map.copyOf(kafka);
        bertTrainLayers = bertTrainLayers == null ? BertRoundTrainer.AUTO : bertTrainLayers.trim();
        try {
            BertRoundTrainer.parseLayers(bertTrainLayers);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(BERT_TRAIN_LAYERS + " must be auto, 0 (head only), 1..12 or all, got '"
                    + bertTrainLayers + "'");
        }
        if (!(bertLearningRate > 0) || !Double.isFinite(bertLearningRate)) {
            throw new IllegalArgumentException(BERT_LEARNING_RATE + " must be a finite number > 0, got " + bertLearningRate);
        }
    }

    /** The round trainer these settings ask for: BERT reward models per {@code retrain.bert.*}, others {@code other}. */
    public RoundTrainer roundTrainer(RoundTrainer other) {
        return new BertRoundTrainer(bertTrainLayers, bertLearningRate).orElseTo(other);
    }

    /** Reads the dotted keys; unknown {@code retrain.*} keys are refused (a typo must not pass silently). */
    public static RetrainConfig from(Map<String, ?> p) {
        for (String k : p.keySet()) {
            if (k.startsWith("retrain.") && !KNOWN_RETRAIN_KEYS.contains(k)) {
                throw new IllegalArgumentException("unknown key " + k + " (known: " + KNOWN_RETRAIN_KEYS + ")");
            }
        }
        Map<String, String> kafka = new LinkedHashMap<>();
        p.forEach((k, v) -> {
            if (k.startsWith(KAFKA_PREFIX) && v != null) {
                kafka.put(k.substring(KAFKA_PREFIX.length()), v.toString().trim());
            }
        });
        String minAg = string(p, MIN_AGREEMENT, null);
        return new RetrainConfig(
                string(p, BOOTSTRAP, null), string(p, REGISTRY, null), string(p, GROUP_ID, "rewardstream-retrain"),
                string(p, PREFERENCES, "preferences"), string(p, RANKED, "ranked-preferences"),
                string(p, RELEASES, "model-releases"), string(p, DEAD_LETTERS, "rewardstream-dead-letters"),
                intValue(p, MIN_NEW_PAIRS, 256), longValue(p, MAX_INTERVAL, 3_600_000L), intValue(p, STEPS, 200),
                intValue(p, BATCH_SIZE, 32), doubleValue(p, LEARNING_RATE, 3e-4), Path.of(requiredString(p, REPLAY_DIR)),
                intValue(p, REPLAY_MAX, 100_000), doubleValue(p, REPLAY_MIX, 0.5), doubleValue(p, HELDOUT, 0.1),
                doubleValue(p, TOLERANCE, 0.01), Path.of(requiredString(p, MODEL_ROOT)), string(p, MODEL_NAME, null),
                path(p, BASE_MODEL), path(p, SIGNING_KEY), string(p, SIGNING_KEY_ID, null),
                minAg == null ? null : doubleValue(p, MIN_AGREEMENT, 0), longValue(p, SEED, 1L), kafka,
                string(p, METRICS_HOST, DEFAULT_METRICS_HOST), intValue(p, METRICS_PORT, DEFAULT_METRICS_PORT),
                string(p, BERT_TRAIN_LAYERS, BertRoundTrainer.AUTO), doubleValue(p, BERT_LEARNING_RATE, 5e-5));
    }

    /** The record's fields, with secret {@code kafka.*} values (passwords, JAAS lines) as {@code [hidden]}. */
    @Override
    public String toString() {
        return "RetrainConfig[bootstrapServers=" + bootstrapServers + ", schemaRegistryUrl=" + schemaRegistryUrl
                + ", groupId=" + groupId + ", releasesTopic=" + releasesTopic + ", modelRoot=" + modelRoot
                + ", signingKey=" + signingKey + ", kafka=" + io.rewardstream.schema.ConfigSecrets.redacted(kafka) + "]";
    }

        /** Reads a properties file, then applies {@code overrides} (e.g. from {@code --set k=v}). */
    public static RetrainConfig load(Path file, Map<String, String> overrides) throws IOException {
        Map<String, String> m = readProperties(file);
        m.putAll(overrides);
        // ${file:PATH} / ${env:NAME} secrets (SASL JAAS line, store passwords, registry user info) resolved here
        return from(io.rewardstream.schema.ConfigSecrets.resolve(m));
    }

    /** A properties file as an ordered map. @throws IOException naming the file */
    public static Map<String, String> readProperties(Path file) throws IOException {
        Properties props = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            props.load(r);
        } catch (IOException e) {
            throw new IOException("cannot read retrain config " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String k : props.stringPropertyNames()) {
            m.put(k, props.getProperty(k));
        }
        return m;
    }

    /** A copy with another {@code retrain.min.new.pairs}. */
    public RetrainConfig withMinNewPairs(int n) {
        return new RetrainConfig(bootstrapServers, schemaRegistryUrl, groupId, preferencesTopic, rankedPreferencesTopic,
                releasesTopic, deadLettersTopic, n, maxIntervalMs, steps, batchSize, learningRate, replayDir,
                replayMaxPairs, replayMix, heldOutFraction, gateTolerance, modelRoot, modelName, baseModelDir, signingKey,
                signingKeyId, annotatorMinAgreement, seed, kafka, metricsHost, metricsPort, bertTrainLayers,
                bertLearningRate);
    }

    /** Location of model {@code modelName}'s releases: {@code <model.root>/<model.name>}. */
    public Path modelDir() {
        return modelRoot.resolve(modelName);
    }

    private static final java.util.Set<String> KNOWN_RETRAIN_KEYS = java.util.Set.of(GROUP_ID, MIN_NEW_PAIRS,
            MAX_INTERVAL, STEPS, BATCH_SIZE, LEARNING_RATE, REPLAY_DIR, REPLAY_MAX, REPLAY_MIX, HELDOUT, TOLERANCE,
            MODEL_ROOT, MODEL_NAME, BASE_MODEL, SIGNING_KEY, SIGNING_KEY_ID, MIN_AGREEMENT, SEED, BERT_TRAIN_LAYERS,
            BERT_LEARNING_RATE, "retrain.allow.unsigned");

    /**
     * {@code retrain.allow.unsigned}: without a signing key the {@code retrain} command refuses to start unless this
     * is true (default false): default scorers refuse unsigned releases. Read by the command's start-up checks.
     */
    public static final String ALLOW_UNSIGNED = "retrain.allow.unsigned";

    private static void require(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(key + " is required");
        }
    }
}
