package io.rewardstream.topology;

import io.rewardstream.config.ConfigFiles;
import io.rewardstream.config.ConfigValues;
import io.rewardstream.schema.SchemaRegistryConfig;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.RolloutValidator;
import io.rewardstream.scoring.RouteConfig;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.ShapingConfig;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Configuration of the streaming scorer. Immutable; thread-safe. Built with {@link #from(Map)} over dotted keys,
 * on top of the documented defaults in {@value #DEFAULTS_RESOURCE} (classpath copy of {@code topology/scorer.properties}).
 *
 * <p>Kafka Streams and client properties pass through under their own names ({@link #streamsProperties()}: every
 * key that is not one of the scorer's own prefixes below). The scorer's own keys:
 * <ul>
 *   <li>{@code schema.registry.url} (required) and the other Confluent serde keys, handed to the Avro serdes;</li>
 *   <li>{@code topics.rollouts.name}, {@code topics.rewards.name}, {@code topics.group-advantages.name},
 *       {@code topics.rewardstream-dead-letters.name};</li>
 *   <li>{@code group.timeout.ms}, {@code metrics.host}, {@code metrics.port} (0 = ephemeral),
 *       {@code shutdown.timeout.ms}, {@code rewards.emit.kl.per.token}, {@code dedupe.window.ms}, {@code chaos.*} ({@link DeliveryConfig});</li>
 *   <li>{@code validation.max.prompt.tokens}, {@code validation.max.response.tokens}, {@code validation.max.group.size};</li>
 *   <li>{@code scoring.*} ({@link ShapingConfig}; routing and verifiers {@link RouteConfig}), {@code batch.*}
 *       ({@link BatchingConfig}), {@code model.*} ({@link RuntimeConfig}).</li>
 * </ul>
 * An unknown key under {@code scoring.}, {@code model.}, {@code release.}, {@code batch.} (except Kafka's own names),
 * {@code validation.}, {@code rewards.} or {@code shutdown.timeout.} fails {@link #from} with the key's name and the
 * nearest known key ({@link OwnKeys}).
 *
 * @param raw                  every key after merging defaults (for other components, e.g. the release watcher)
 * @param streamsProperties    properties for {@code KafkaStreams} (incl. application.id, bootstrap.servers, ...)
 * @param serdeProperties      properties for the Avro serdes (schema.registry.url and friends)
 * @param applicationId        {@code application.id}
 * @param bootstrapServers     {@code bootstrap.servers}
 * @param schemaRegistryUrl    {@code schema.registry.url}
 * @param rolloutsTopic        {@code topics.rollouts.name}
 * @param rewardsTopic         {@code topics.rewards.name}
 * @param groupAdvantagesTopic {@code topics.group-advantages.name}
 * @param deadLettersTopic     {@code topics.rewardstream-dead-letters.name}
 * @param groupTimeoutMs       {@code group.timeout.ms}: a group is emitted (INCOMPLETE_GROUP) this long after its first member
 * @param metricsHost          {@code metrics.host}
 * @param metricsPort          {@code metrics.port}; 0 = ephemeral, -1 = no HTTP server
 * @param shutdownTimeoutMs    {@code shutdown.timeout.ms}: bound on KafkaStreams.close
 * @param emitKlPerToken       {@code rewards.emit.kl.per.token}: fill Reward.kl_per_token
 * @param maxPromptTokens      {@code validation.max.prompt.tokens}
 * @param maxResponseTokens    {@code validation.max.response.tokens}
 * @param maxGroupSize         {@code validation.max.group.size}
 */
public record ScorerConfig(
        Map<String, String> raw,
        Map<String, Object> streamsProperties,
        Map<String, Object> serdeProperties,
        String applicationId,
        String bootstrapServers,
        String schemaRegistryUrl,
        String rolloutsTopic,
        String rewardsTopic,
        String groupAdvantagesTopic,
        String deadLettersTopic,
        long groupTimeoutMs,
        String metricsHost,
        int metricsPort,
        long shutdownTimeoutMs,
        boolean emitKlPerToken,
        int maxPromptTokens,
        int maxResponseTokens,
        int maxGroupSize,
        ShapingConfig shaping,
        BatchingConfig batching,
        RuntimeConfig runtime) {

    /** Classpath resource holding the defaults (a copy of {@code topology/scorer.properties}). */
    public static final String DEFAULTS_RESOURCE = "topology/scorer.properties";

    public static final String APPLICATION_ID = "application.id";
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String PROCESSING_GUARANTEE = "processing.guarantee";
    public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
    public static final String TOPIC_ROLLOUTS = "topics.rollouts.name";
    public static final String TOPIC_REWARDS = "topics.rewards.name";
    public static final String TOPIC_GROUP_ADVANTAGES = "topics.group-advantages.name";
    public static final String TOPIC_DEAD_LETTERS = "topics.rewardstream-dead-letters.name";
    public static final String GROUP_TIMEOUT_MS = "group.timeout.ms";
    public static final String METRICS_HOST = "metrics.host";
    public static final String METRICS_PORT = "metrics.port";
    public static final String SHUTDOWN_TIMEOUT_MS = "shutdown.timeout.ms";
    public static final String EMIT_KL_PER_TOKEN = "rewards.emit.kl.per.token";
    public static final String MAX_PROMPT_TOKENS = "validation.max.prompt.tokens";
    public static final String MAX_RESPONSE_TOKENS = "validation.max.response.tokens";
    public static final String MAX_GROUP_SIZE = "validation.max.group.size";

    /** Prefixes of the scorer's own keys: never handed to KafkaStreams. */
    private static final List<String> OWN_PREFIXES = List.of("topics.", "shutdown.timeout.", "rewards.",
            "validation.", "scoring.", "model.", "release.", "dedupe.", "chaos.");
    /** Own keys whose prefixes Kafka also uses (metrics.recording.level, batch.size, ...): matched exactly. */
    private static final java.util.Set<String> OWN_KEYS = java.util.Set.of(GROUP_TIMEOUT_MS, METRICS_HOST, METRICS_PORT,
            BatchingConfig.MAX_SIZE, BatchingConfig.MAX_TOKENS, BatchingConfig.PAD_MULTIPLE, BatchingConfig.MAX_DELAY_MS,
            BatchingConfig.CALL_OVERHEAD_TOKENS, BatchingConfig.IDLE_FLUSH_MS, DeliveryConfig.FLUSH_OVERLAP);

    public ScorerConfig {
        raw = Collections.unmodifiableMap(new TreeMap<>(Objects.requireNonNull(raw, "raw")));
        streamsProperties = Collections.unmodifiableMap(new LinkedHashMap<>(streamsProperties));
        serdeProperties = Collections.unmodifiableMap(new LinkedHashMap<>(serdeProperties));
        requireText(APPLICATION_ID, applicationId);
        requireText(BOOTSTRAP_SERVERS, bootstrapServers);
        requireText(SCHEMA_REGISTRY_URL, schemaRegistryUrl);
        requireText(TOPIC_ROLLOUTS, rolloutsTopic);
        requireText(TOPIC_REWARDS, rewardsTopic);
        requireText(TOPIC_GROUP_ADVANTAGES, groupAdvantagesTopic);
        requireText(TOPIC_DEAD_LETTERS, deadLettersTopic);
        if (List.of(rewardsTopic, groupAdvantagesTopic, deadLettersTopic).contains(rolloutsTopic)) {
            throw new IllegalArgumentException(TOPIC_ROLLOUTS + " (" + rolloutsTopic
                    + ") must differ from the output topics");
        }
        if (groupTimeoutMs < 1) {
            throw new IllegalArgumentException(GROUP_TIMEOUT_MS + " must be >= 1, got " + groupTimeoutMs);
        }
        requireText(METRICS_HOST, metricsHost);
        if (metricsPort < -1 || metricsPort > 65535) {
            throw new IllegalArgumentException(METRICS_PORT + " must be in [-1, 65535] (0 = ephemeral, -1 = off), got "
                    + metricsPort);
        }
        if (shutdownTimeoutMs < 0) {
            throw new IllegalArgumentException(SHUTDOWN_TIMEOUT_MS + " must be >= 0, got " + shutdownTimeoutMs);
        }
        if (maxPromptTokens < 1) {
            throw new IllegalArgumentException(MAX_PROMPT_TOKENS + " must be >= 1, got " + maxPromptTokens);
        }
        if (maxResponseTokens < 1) {
            throw new IllegalArgumentException(MAX_RESPONSE_TOKENS + " must be >= 1, got " + maxResponseTokens);
        }
        if (maxGroupSize < 1) {
            throw new IllegalArgumentException(MAX_GROUP_SIZE + " must be >= 1, got " + maxGroupSize);
        }
        Objects.requireNonNull(shaping, "shaping");
        Objects.requireNonNull(batching, "batching");
        Objects.requireNonNull(runtime, "runtime");
        DeliveryConfig.from(raw);   // fail fast, naming the key
    }

    /** {@code batch.flush.overlap}, {@code dedupe.*} and {@code chaos.*} keys ({@link DeliveryConfig}). */
    public DeliveryConfig delivery() {
        return DeliveryConfig.from(raw);
    }

    /**
     * The documented defaults of {@value #DEFAULTS_RESOURCE} overlaid with {@code props}.
     *
     * @throws IllegalArgumentException naming the key when a value is missing, malformed or out of range
     */
    public static ScorerConfig from(Map<String, ?> props) {
        Map<String, String> merged = ConfigFiles.overlay(defaults(), props);
        Map<String, Object> serde = ConfigFiles.select(merged, SchemaRegistryConfig::isSerdeKey);
        Map<String, Object> streams = ConfigFiles.select(merged, k -> !SchemaRegistryConfig.isSerdeKey(k)
                && !OWN_KEYS.contains(k) && OWN_PREFIXES.stream().noneMatch(k::startsWith));
        // unknown own keys (typos, keys this version lacks) and bad routes stop start-up, naming the key
        OwnKeys.check(merged);
        RouteConfig.from(merged);
        String guarantee = merged.getOrDefault(PROCESSING_GUARANTEE, "exactly_once_v2");
        if (!List.of("exactly_once_v2", "at_least_once").contains(guarantee)) {
            throw new IllegalArgumentException(PROCESSING_GUARANTEE + " must be exactly_once_v2 or at_least_once, got '"
                    + guarantee + "'");
        }
        streams.put(PROCESSING_GUARANTEE, guarantee);
        return new ScorerConfig(
                merged, streams, serde,
                merged.get(APPLICATION_ID),
                merged.get(BOOTSTRAP_SERVERS),
                merged.get(SCHEMA_REGISTRY_URL),
                merged.getOrDefault(TOPIC_ROLLOUTS, "rollouts"),
                merged.getOrDefault(TOPIC_REWARDS, "rewards"),
                merged.getOrDefault(TOPIC_GROUP_ADVANTAGES, "group-advantages"),
                merged.getOrDefault(TOPIC_DEAD_LETTERS, "rewardstream-dead-letters"),
                ConfigValues.longValue(merged, GROUP_TIMEOUT_MS, 60_000),
                merged.getOrDefault(METRICS_HOST, "127.0.0.1"),
                ConfigValues.intValue(merged, METRICS_PORT, 9464),
                ConfigValues.longValue(merged, SHUTDOWN_TIMEOUT_MS, 30_000),
                ConfigValues.bool(merged, EMIT_KL_PER_TOKEN, false),
                ConfigValues.intValue(merged, MAX_PROMPT_TOKENS, RolloutValidator.Limits.DEFAULT_MAX_TOKENS),
                ConfigValues.intValue(merged, MAX_RESPONSE_TOKENS, RolloutValidator.Limits.DEFAULT_MAX_TOKENS),
                ConfigValues.intValue(merged, MAX_GROUP_SIZE, RolloutValidator.Limits.DEFAULT_MAX_GROUP_SIZE),
                ShapingConfig.from(merged),
                BatchingConfig.from(merged),
                RuntimeConfig.from(merged));
    }

    /**
     * Reads a properties file over the defaults, then applies {@code overrides} (command-line flags), then resolves
     * {@code ${file:PATH}} and {@code ${env:NAME}} secret placeholders ({@link io.rewardstream.schema.ConfigSecrets}).
     *
     * @throws UncheckedIOException when the file cannot be read
     * @throws IllegalArgumentException naming the key when a value is invalid
     */
    public static ScorerConfig load(Path file, Map<String, String> overrides) {
        Map<String, String> m = file == null ? new LinkedHashMap<>() : ConfigFiles.read(file, "scorer config");
        m.putAll(overrides);
        // ${file:PATH} / ${env:NAME} secrets (SASL JAAS line, store passwords, registry user info) resolved here
        return from(io.rewardstream.schema.ConfigSecrets.resolve(m));
    }

    /** The defaults from the classpath ({@value #DEFAULTS_RESOURCE}). */
    public static Map<String, String> defaults() {
        return ConfigFiles.classpathDefaults(DEFAULTS_RESOURCE);
    }

    /** A copy with some keys replaced (tests, CLI). */
    public ScorerConfig with(Map<String, ?> overrides) {
        Map<String, Object> m = new LinkedHashMap<>(raw);
        m.putAll(overrides);
        return from(m);
    }

    /** Every key and value, secrets (passwords, JAAS lines, registry user info) as {@code [hidden]}. */
    @Override
    public String toString() {
        return "ScorerConfig" + io.rewardstream.schema.ConfigSecrets.redacted(raw);
    }

        /** Whether the processing guarantee is exactly_once_v2. */
    public boolean exactlyOnce() {
        return "exactly_once_v2".equals(streamsProperties.get(PROCESSING_GUARANTEE));
    }

    /** Score sources by task ({@code scoring.route.key}, {@code scoring.routes.*}, {@code scoring.verifier.*}). */
    public RouteConfig routing() {
        return RouteConfig.from(raw);
    }

    /** Validator limits with the given vocabulary size. */
    public RolloutValidator.Limits limits(int vocabSize) {
        return new RolloutValidator.Limits(vocabSize, maxPromptTokens, maxResponseTokens, maxGroupSize,
                RolloutValidator.Limits.DEFAULT_MAX_METADATA_ENTRIES, RolloutValidator.Limits.DEFAULT_MAX_METADATA_BYTES,
                RolloutValidator.Limits.DEFAULT_MAX_TEXT_BYTES);
    }

    private static void requireText(String key, String v) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(key + " is required");
        }
    }
}
