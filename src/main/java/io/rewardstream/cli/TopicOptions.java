package io.rewardstream.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

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
        Properties p = new Properties();
        if (commandConfig != null) {
            try (InputStream in = Files.newInputStream(commandConfig)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read --command-config " + commandConfig, e);
            }
        }
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
        return Admin.create(p);
    }
}
