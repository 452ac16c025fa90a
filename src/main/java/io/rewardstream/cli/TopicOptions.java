package io.rewardstream.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

import io.rewardstream.schema.KafkaReachability;
import io.rewardstream.topology.TopicProvisioner;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Options shared by the commands that read the topic spec ({@code --spec}, {@code --set}). */
final class TopicOptions {

    @Option(names = "--spec", paramLabel = "FILE",
            description = "Topic spec JSON (default: the built-in copy of topology/topics.json).")
    Path spec;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override, e.g. topics.rollouts.name=my-rollouts, topics.rollouts.partitions=12, "
                    + "topics.rollouts.replication-factor=3, topics.rollouts.config.retention.ms=86400000. Repeatable.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    /** The spec with overrides; a bad spec file or override is reported as a usage error (exit code 2). */
    TopicProvisioner provisioner() {
        try {
            return spec != null ? TopicProvisioner.fromFile(spec, overrides) : TopicProvisioner.fromClasspath(overrides);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new ParameterException(mixee.commandLine(), e.getMessage(), e);
        }
    }

    /** An Admin for the given bootstrap servers plus an optional client properties file (security etc.). */
    static Admin admin(String bootstrapServers, Path commandConfig) {
        Properties p = clientProperties(bootstrapServers, commandConfig);
        p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        return Admin.create(p);
    }

    /**
     * An Admin on a cluster that answered within {@code timeoutSeconds}; otherwise an error naming the address and
     * the time waited (a human waits for a CLI tool: it gives up instead of retrying forever).
     */
    static Admin connectedAdmin(String bootstrapServers, Path commandConfig, int timeoutSeconds) {
        if (timeoutSeconds <= 0) {
            throw new CliErrors.UsageException("--connect-timeout must be > 0, got " + timeoutSeconds);
        }
        Properties p = clientProperties(bootstrapServers, commandConfig);
        Map<String, Object> m = new LinkedHashMap<>();
        p.forEach((k, v) -> m.put(k.toString(), v));
        requireReachable(m, timeoutSeconds);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutSeconds * 1000));
        return Admin.create(p);
    }

    /** Fails with "cannot reach Kafka at ADDRESS ... (--timeout N s)" when the cluster does not answer in time. */
    static void requireReachable(Map<String, ?> clientProperties, int timeoutSeconds) {
        KafkaReachability.probe(clientProperties, java.time.Duration.ofSeconds(timeoutSeconds)).ifPresent(why -> {
            throw new IllegalStateException(why + "; gave up after --connect-timeout " + timeoutSeconds + " s");
        });
    }

    /** The properties of {@code --command-config} (if given) with {@code bootstrap.servers}. */
    static Properties clientProperties(String bootstrapServers, Path commandConfig) {
        Properties p = new Properties();
        if (commandConfig != null) {
            CliPaths.requireFile(commandConfig, "--command-config");
            try (InputStream in = Files.newInputStream(commandConfig)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read --command-config " + commandConfig + ": " + e.getMessage(), e);
            }
        }
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return p;
    }
}
