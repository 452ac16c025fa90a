package io.rewardstream.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Connection options of the record tools ({@code produce}, {@code consume}): the addresses default to the
 * {@code KAFKA_BOOTSTRAP} / {@code SCHEMA_REGISTRY_URL} environment variables that {@code dev-stack} prints, so
 * {@code set -a; . ./dev.env; set +a} after {@code dev-stack --ready-file dev.env} is enough.
 */
final class ClientOptions {
    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", defaultValue = "${env:KAFKA_BOOTSTRAP}",
            description = "Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL", defaultValue = "${env:SCHEMA_REGISTRY_URL}",
            description = "Confluent-API schema registry URL (default: $SCHEMA_REGISTRY_URL).")
    String schemaRegistryUrl;

    @Option(names = "--command-config", paramLabel = "FILE",
            description = "Client properties (security settings, schema.registry.* keys, ...).")
    Path commandConfig;

    @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Give up when Kafka does not answer within this time (default: ${DEFAULT-VALUE}).")
    int connectTimeoutSeconds;

    /** Client properties (command config, addresses); fails with the option's name when an address is missing. */
    Map<String, Object> clientProperties() {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new CliErrors.UsageException("--bootstrap-servers is required (or set KAFKA_BOOTSTRAP, which "
                    + "dev-stack prints)");
        }
        if (schemaRegistryUrl == null || schemaRegistryUrl.isBlank()) {
            throw new CliErrors.UsageException("--schema-registry-url is required (or set SCHEMA_REGISTRY_URL, "
                    + "which dev-stack prints)");
        }
        Properties p = TopicOptions.clientProperties(bootstrapServers, commandConfig);
        Map<String, Object> m = new LinkedHashMap<>();
        p.forEach((k, v) -> m.put(k.toString(), v));
        m.put("schema.registry.url", schemaRegistryUrl);
        return m;
    }

    /** Fails naming the address when Kafka does not answer within {@code --connect-timeout}. */
    void requireReachable(Map<String, Object> props) {
        if (connectTimeoutSeconds <= 0) {
            throw new CliErrors.UsageException("--connect-timeout must be > 0, got " + connectTimeoutSeconds);
        }
        io.rewardstream.schema.KafkaReachability.probe(props, java.time.Duration.ofSeconds(connectTimeoutSeconds))
                .ifPresent(why -> {
                    throw new IllegalStateException(why + "; gave up after --connect-timeout "
                            + connectTimeoutSeconds + " s");
                });
    }

    /** Only the keys a Kafka client of {@code known} knows (avoids "supplied but not used" warnings). */
    static Map<String, Object> only(Map<String, Object> props, java.util.Set<String> known) {
        Map<String, Object> m = new LinkedHashMap<>();
        props.forEach((k, v) -> {
            if (known.contains(k)) {
                m.put(k, v);
            }
        });
        return m;
    }
}
