package io.rewardstream.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.rewardstream.topology.TopicProvisioner;
import io.rewardstream.topology.TopicSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code topics create|list}: provisions the topics of {@code topology/topics.json} on a cluster. */
@Command(name = "topics",
        mixinStandardHelpOptions = true,
        description = "Create or list the rewardstream topics declared in topology/topics.json.",
        subcommands = {TopicsCommand.Create.class, TopicsCommand.ListTopics.class})
public final class TopicsCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Connection options of both subcommands. */
    static final class Connection {
        @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT",
                description = "Kafka bootstrap servers.")
        String bootstrapServers;

        @Option(names = "--command-config", paramLabel = "FILE",
                description = "Admin client properties (security settings etc.).")
        Path commandConfig;

        @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "30",
                description = "Give up when the brokers do not answer within this time (default: ${DEFAULT-VALUE}).")
        int timeoutSeconds;

        /** An Admin on a cluster that answered within the timeout; else an error naming the address. */
        Admin connect() {
            return TopicOptions.connectedAdmin(bootstrapServers, commandConfig, timeoutSeconds);
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create the declared topics that do not exist yet (existing ones are left unchanged).")
    static final class Create implements Callable<Integer> {
        @Mixin
        Connection connection;
        @Mixin
        TopicOptions topics;

        @Override
        public Integer call() throws Exception {
            TopicProvisioner provisioner = topics.provisioner();
            try (Admin admin = connection.connect()) {
                TopicProvisioner.Report report = provisioner.createAll(admin);
                report.created().forEach(t -> System.out.println("created  " + t));
                report.existing().forEach(t -> System.out.println("existing " + t));
                report.warnings().forEach(w -> System.out.println("WARNING  " + w));
            }
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = "List the declared topics with their state on the cluster, then any other topics.")
    static final class ListTopics implements Callable<Integer> {
        @Mixin
        Connection connection;
        @Mixin
        TopicOptions topics;

        @Override
        public Integer call() throws Exception {
            TopicProvisioner provisioner = topics.provisioner();
            try (Admin admin = connection.connect()) {
                Set<String> present = new TreeSet<>(admin.listTopics().names().get(connection.timeoutSeconds, TimeUnit.SECONDS));
                Map<String, TopicDescription> described = present.isEmpty() ? Map.of()
                        : admin.describeTopics(present).allTopicNames().get(connection.timeoutSeconds, TimeUnit.SECONDS);
                System.out.printf("%-28s %-32s %-10s %s%n", "LOGICAL", "TOPIC", "PARTITIONS", "STATE");
                for (TopicSpec s : provisioner.specs().values()) {
                    TopicDescription d = described.get(s.name());
                    System.out.printf("%-28s %-32s %-10s %s%n", s.logicalName(), s.name(),
                            d == null ? (s.partitions() == -1 ? "default" : s.partitions()) : d.partitions().size(),
                            d == null ? "MISSING" : "present");
                    present.remove(s.name());
                }
                for (String other : present) {
                    System.out.printf("%-28s %-32s %-10s %s%n", "-", other, described.get(other).partitions().size(),
                            "not in spec");
                }
            }
            return 0;
        }
    }
}
