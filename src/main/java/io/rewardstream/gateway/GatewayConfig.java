package io.rewardstream.gateway;

import io.rewardstream.config.ConfigFiles;
import io.rewardstream.schema.ConfigSecrets;
import io.rewardstream.schema.SchemaRegistryConfig;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.rewardstream.config.ConfigValues.bool;
import static io.rewardstream.config.ConfigValues.path;
import static io.rewardstream.config.ConfigValues.requiredInt;
import static io.rewardstream.config.ConfigValues.requiredLong;

/**
 * Configuration of the reward gateway ({@code rewardstream gateway}): the defaults of {@value #DEFAULTS_RESOURCE}
 * overlaid with a deployment file and flags. Immutable; the compact constructor validates every value and names the
 * key in its message.
 *
 * @param host              address to bind ({@value #HOST})
 * @param port              TCP port, 0 for an ephemeral one ({@value #PORT})
 * @param token             the bearer token clients must send ({@value #TOKEN}); never printed
 * @param queryTokenAllowed whether {@code ?access_token=} is accepted too ({@value #QUERY_TOKEN_ENABLED})
 * @param threads           HTTP worker threads ({@value #THREADS})
 * @param maxBodyBytes      largest request body ({@value #MAX_BODY_BYTES})
 * @param maxQueries        most queries per request ({@value #MAX_QUERIES})
 * @param requestTimeoutMs  wait for a request's rewards before answering 504 ({@value #REQUEST_TIMEOUT_MS})
 * @param policyVersion     policy_version of the gateway's rollouts ({@value #POLICY_VERSION})
 * @param metricsHost       address of the metrics server ({@value #METRICS_HOST})
 * @param metricsPort       its port ({@value #METRICS_PORT}): 0 = ephemeral, -1 = no metrics server
 * @param keystore          TLS key store, or null for plain HTTP ({@value #TLS_KEYSTORE_LOCATION})
 * @param keystorePassword  its password (may be empty)
 * @param keystoreType      PKCS12 or JKS
 * @param rolloutsTopic     where requests become rollouts
 * @param rewardsTopic      where rewards are read back (read_committed)
 * @param deadLettersTopic  where rejected rollouts are read back
 * @param kafka             properties for the Kafka producer and consumer (bootstrap.servers, security, ...)
 * @param serde             properties for the Avro serdes (schema.registry.url, basic.auth.*, ...)
 */
public record GatewayConfig(String host, int port, String token, boolean queryTokenAllowed, int threads, long maxBodyBytes, int maxQueries,
                            long requestTimeoutMs, String policyVersion, String metricsHost, int metricsPort,
                            Path keystore, String keystorePassword,
                            String keystoreType, String rolloutsTopic, String rewardsTopic, String deadLettersTopic,
                            Map<String, Object> kafka, Map<String, Object> serde) {

    public static final String DEFAULTS_RESOURCE = "topology/gateway.properties";
    public static final String HOST = "gateway.host";
    public static final String PORT = "gateway.port";
    public static final String TOKEN = "gateway.auth.token";
    public static final String QUERY_TOKEN_ENABLED = "gateway.auth.query.token.enabled";
    public static final String THREADS = "gateway.threads";
    public static final String MAX_BODY_BYTES = "gateway.max.body.bytes";
    public static final String MAX_QUERIES = "gateway.max.queries";
    public static final String REQUEST_TIMEOUT_MS = "gateway.request.timeout.ms";
    public static final String POLICY_VERSION = "gateway.policy.version";
    public static final String METRICS_HOST = "gateway.metrics.host";
    public static final String METRICS_PORT = "gateway.metrics.port";
    public static final String TLS_KEYSTORE_LOCATION = "gateway.tls.keystore.location";
    public static final String TLS_KEYSTORE_PASSWORD = "gateway.tls.keystore.password";
    public static final String TLS_KEYSTORE_TYPE = "gateway.tls.keystore.type";
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
    public static final String TOPIC_ROLLOUTS = "topics.rollouts.name";
    public static final String TOPIC_REWARDS = "topics.rewards.name";
    public static final String TOPIC_DEAD_LETTERS = "topics.rewardstream-dead-letters.name";

    /** Shortest token accepted: a guessable token is no authentication. */
    public static final int MIN_TOKEN_CHARS = 16;

    public GatewayConfig {
        require(host != null && !host.isBlank(), HOST, "must not be blank");
        require(port >= 0 && port <= 65535, PORT, "must be in [0, 65535], got " + port);
        require(token != null && !token.isBlank(), TOKEN,
                "is required: the bearer token clients send (use ${file:PATH} or ${env:NAME} to keep it out of the file)");
        require(token.strip().length() >= MIN_TOKEN_CHARS, TOKEN, "must have at least " + MIN_TOKEN_CHARS
                + " characters, got " + token.strip().length());
        token = token.strip();
        require(threads >= 1 && threads <= 4096, THREADS, "must be in [1, 4096], got " + threads);
        require(maxBodyBytes >= 1024, MAX_BODY_BYTES, "must be >= 1024, got " + maxBodyBytes);
        require(maxQueries >= 1, MAX_QUERIES, "must be >= 1, got " + maxQueries);
        require(requestTimeoutMs >= 1, REQUEST_TIMEOUT_MS, "must be >= 1, got " + requestTimeoutMs);
        require(policyVersion != null && !policyVersion.isBlank(), POLICY_VERSION, "must not be blank");
        require(metricsHost != null && !metricsHost.isBlank(), METRICS_HOST, "must not be blank");
        require(metricsPort >= -1 && metricsPort <= 65535, METRICS_PORT,
                "must be in [-1, 65535] (0 = ephemeral, -1 = off), got " + metricsPort);
        require(keystoreType != null && List.of("PKCS12", "JKS").contains(keystoreType), TLS_KEYSTORE_TYPE,
                "must be PKCS12 or JKS, got '" + keystoreType + "'");
        require(keystore == null || Files.isReadable(keystore), TLS_KEYSTORE_LOCATION,
                "is not a readable file: " + keystore);
        require(kafka.get(BOOTSTRAP_SERVERS) != null && !kafka.get(BOOTSTRAP_SERVERS).toString().isBlank(),
                BOOTSTRAP_SERVERS, "is required (gateway --bootstrap-servers)");
        require(serde.get(SCHEMA_REGISTRY_URL) != null && !serde.get(SCHEMA_REGISTRY_URL).toString().isBlank(),
                SCHEMA_REGISTRY_URL, "is required (gateway --schema-registry-url)");
        for (String[] t : new String[][]{{TOPIC_ROLLOUTS, rolloutsTopic}, {TOPIC_REWARDS, rewardsTopic},
                {TOPIC_DEAD_LETTERS, deadLettersTopic}}) {
            require(t[1] != null && !t[1].isBlank(), t[0], "must not be blank");
        }
        kafka = Map.copyOf(kafka);
        serde = Map.copyOf(serde);
    }

    /**
     * The defaults overlaid with {@code props} (values already resolved: see {@link #load}).
     *
     * @throws IllegalArgumentException naming the key when a value is missing, malformed or out of range
     */
    public static GatewayConfig from(Map<String, ?> props) {
        Map<String, String> m = ConfigFiles.overlay(defaults(), props);
        Map<String, Object> serde = ConfigFiles.select(m, SchemaRegistryConfig::isSerdeKey);
        Map<String, Object> kafka = ConfigFiles.select(m, k -> !SchemaRegistryConfig.isSerdeKey(k)
                && !k.startsWith("gateway.") && !k.startsWith("topics."));
        return new GatewayConfig(m.get(HOST), requiredInt(m, PORT), m.get(TOKEN), bool(m, QUERY_TOKEN_ENABLED, false),
                requiredInt(m, THREADS), requiredLong(m, MAX_BODY_BYTES), requiredInt(m, MAX_QUERIES),
                requiredLong(m, REQUEST_TIMEOUT_MS), m.get(POLICY_VERSION), m.get(METRICS_HOST),
                requiredInt(m, METRICS_PORT), path(m, TLS_KEYSTORE_LOCATION),
                m.getOrDefault(TLS_KEYSTORE_PASSWORD, ""), m.get(TLS_KEYSTORE_TYPE),
                m.get(TOPIC_ROLLOUTS), m.get(TOPIC_REWARDS), m.get(TOPIC_DEAD_LETTERS), kafka, serde);
    }

    /**
     * Reads a properties file (may be null) over the defaults, applies {@code overrides}, then resolves
     * {@code ${file:PATH}} / {@code ${env:NAME}} placeholders ({@link ConfigSecrets}).
     *
     * @throws UncheckedIOException     when the file cannot be read
     * @throws IllegalArgumentException naming the key when a value is invalid or a placeholder cannot be resolved
     */
    public static GatewayConfig load(Path file, Map<String, String> overrides) {
        Map<String, String> m = file == null ? new LinkedHashMap<>() : ConfigFiles.read(file, "gateway config");
        m.putAll(overrides);
        return from(ConfigSecrets.resolve(m));
    }

    /** The defaults from the classpath ({@value #DEFAULTS_RESOURCE}). */
    public static Map<String, String> defaults() {
        return ConfigFiles.classpathDefaults(DEFAULTS_RESOURCE);
    }

    /** Whether the gateway serves HTTPS. */
    public boolean tls() {
        return keystore != null;
    }

    /** Secrets (the token, passwords, JAAS lines) as {@code [hidden]}. */
    @Override
    public String toString() {
        return "GatewayConfig[host=" + host + ", port=" + port + ", token=[hidden], queryToken="
                + queryTokenAllowed + ", threads=" + threads
                + ", maxBodyBytes=" + maxBodyBytes + ", maxQueries=" + maxQueries + ", requestTimeoutMs="
                + requestTimeoutMs + ", policyVersion=" + policyVersion + ", metrics=" + metricsHost + ":" + metricsPort
                + ", tls=" + tls() + ", rollouts="
                + rolloutsTopic + ", rewards=" + rewardsTopic + ", deadLetters=" + deadLettersTopic
                + ", kafka=" + ConfigSecrets.redacted(stringMap(kafka)) + ", serde="
                + ConfigSecrets.redacted(stringMap(serde)) + "]";
    }

    private static Map<String, String> stringMap(Map<String, Object> m) {
        Map<String, String> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }

    private static void require(boolean ok, String key, String message) {
        if (!ok) {
            throw new IllegalArgumentException(key + " " + message);
        }
    }
}
