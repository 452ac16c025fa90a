package io.rewardstream.topology;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.NewTopic;

/**
 * One topic of the rewardstream topology, as declared in {@code topology/topics.json}.
 *
 * @param logicalName       stable name the code refers to (e.g. {@code rollouts}); key of the overrides
 *                          {@code topics.<logicalName>.*}
 * @param name              actual Kafka topic name
 * @param description       human-readable purpose (may be empty)
 * @param partitions        partition count, or -1 for the broker's {@code num.partitions}
 * @param replicationFactor replication factor, or -1 for the broker's {@code default.replication.factor}
 * @param configs           topic-level Kafka configs (unmodifiable, insertion-ordered)
 */
public record TopicSpec(String logicalName, String name, String description, int partitions,
                        short replicationFactor, Map<String, String> configs) {

    /** Kafka's legal topic name characters (and at most 249 of them). */
    private static final Pattern LEGAL_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public TopicSpec {
        if (logicalName == null || logicalName.isBlank()) {
            throw new IllegalArgumentException("topic logical name must not be blank");
        }
        if (name == null || !LEGAL_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("topics." + logicalName + ".name: illegal Kafka topic name '" + name
                    + "' (1-249 of [a-zA-Z0-9._-])");
        }
        if (partitions == 0 || partitions < -1) {
            throw new IllegalArgumentException("topics." + logicalName + ".partitions: must be > 0 or -1 (broker "
                    + "default), got " + partitions);
        }
        if (replicationFactor == 0 || replicationFactor < -1) {
            throw new IllegalArgumentException("topics." + logicalName + ".replication-factor: must be > 0 or -1 "
                    + "(broker default), got " + replicationFactor);
        }
        description = description == null ? "" : description;
        Map<String, String> copy = new LinkedHashMap<>();
        if (configs != null) {
            configs.forEach((k, v) -> {
                if (k == null || k.isBlank() || v == null) {
                    throw new IllegalArgumentException("topics." + logicalName + ".config: null or blank entry "
                            + k + "=" + v);
                }
                copy.put(k, v);
            });
        }
        configs = Collections.unmodifiableMap(copy);
    }

    /** Whether {@code cleanup.policy} includes {@code compact}. */
    public boolean compacted() {
        return configs.getOrDefault("cleanup.policy", "delete").contains("compact");
    }

    /** The Admin request creating this topic (broker defaults where partitions/replication are -1). */
    public NewTopic toNewTopic() {
        Optional<Integer> p = partitions == -1 ? Optional.empty() : Optional.of(partitions);
        Optional<Short> rf = replicationFactor == -1 ? Optional.empty() : Optional.of(replicationFactor);
        return new NewTopic(name, p, rf).configs(configs);
    }

    TopicSpec withName(String newName) {
        return new TopicSpec(logicalName, newName, description, partitions, replicationFactor, configs);
    }

    TopicSpec withPartitions(int newPartitions) {
        return new TopicSpec(logicalName, name, description, newPartitions, replicationFactor, configs);
    }

    TopicSpec withReplicationFactor(short newReplicationFactor) {
        return new TopicSpec(logicalName, name, description, partitions, newReplicationFactor, configs);
    }

    TopicSpec withConfig(String key, String value) {
        Map<String, String> c = new LinkedHashMap<>(configs);
        c.put(key, value);
        return new TopicSpec(logicalName, name, description, partitions, replicationFactor, c);
    }
}
