package io.rewardstream.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.rewardstream.topology.HangingTransactions;
import io.rewardstream.topology.TopicProvisioner;
import io.rewardstream.topology.TopicSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code topics create|list|hanging}: provisions the topics of {@code topology/topics.json} on a cluster, and finds
 * (optionally aborts) transactions a broker left open (see {@link HangingTransactions}, ops/HARDENING.md).
 */
@Command(name = "topics",
        mixinStandardHelpOptions = true,
        description = "Create or list the rewardstream topics declared in topology/topics.json; find hanging transactions.",
        subcommands = {TopicsCommand.Create.class, TopicsCommand.ListTopics.class, TopicsCommand.Hanging.class})
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

    @Command(name = "hanging", mixinStandardHelpOptions = true,
            description = {"List transactions left open on a partition after their coordinator moved on (the KIP-664 "
                    + "rule of kafka-transactions.sh find-hanging): they stall read_committed readers and the "
                    + "scorer's task initialisation (see ops/HARDENING.md). Exit 0 when none is left, 3 when some "
                    + "are listed and not aborted."})
    static final class Hanging implements Callable<Integer> {
        @Mixin
        Connection connection;

        @Option(names = "--min-age-ms", paramLabel = "MS", defaultValue = "60000",
                description = "Never report a transaction younger than this (default: ${DEFAULT-VALUE}).")
        long minAgeMs;

        @Option(names = "--abort", description = "Abort what is found (writes the marker the coordinator skipped).")
        boolean abort;

        @Override
        public Integer call() {
            try (Admin admin = connection.connect()) {
                List<HangingTransactions.Hanging> found = HangingTransactions.find(admin, minAgeMs);
                for (HangingTransactions.Hanging h : found) {
                    System.out.printf("hanging %s producer_id=%d epoch=%d since_offset=%d transactional_id=%s: %s%n",
                            h.open().partition(), h.open().producerId(), h.open().producerEpoch(),
                            h.open().firstOffset(), h.transactionalId(), h.reason());
                }
                if (found.isEmpty()) {
                    System.out.println("no hanging transactions");
                    return 0;
                }
                if (!abort) {
                    return 3;
                }
                int n = HangingTransactions.abort(admin, found, Duration.ofSeconds(connection.timeoutSeconds));
                System.out.println("aborted " + n);
                return 0;
            }
        }
    }
}
