package io.rewardstream.testing;

import io.rewardstream.topology.TopicProvisioner;
import org.apache.kafka.clients.admin.Admin;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test helper: one set of the scorer's and the retraining job's topics with names unique to a test, created on a
 * broker, and the {@code topics.<logical>.name} / {@code .partitions} keys that point a config at them. Stateless.
 */
public final class TestTopics {
    /** The logical topics a scorer or retraining config names. */
    public static final List<String> LOGICAL = List.of("rollouts", "rewards", "group-advantages",
            "rewardstream-dead-letters", "preferences", "ranked-preferences", "model-releases");

    private TestTopics() {
    }

    /**
     * Creates every {@link #LOGICAL} topic as {@code prefix-<logical><suffix>} with {@code partitions} partitions
     * (the rest of each spec from {@code topology/topics.json}).
     *
     * @return the {@code topics.<logical>.name} and {@code topics.<logical>.partitions} keys, as strings
     * @throws Exception when the broker refuses or cannot be reached
     */
    public static Map<String, String> provision(String bootstrapServers, String prefix, String suffix, int partitions)
            throws Exception {
        Map<String, String> topics = new HashMap<>();
        for (String logical : LOGICAL) {
            topics.put("topics." + logical + ".name", prefix + "-" + logical + suffix);
            topics.put("topics." + logical + ".partitions", Integer.toString(partitions));
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers))) {
            TopicProvisioner.fromClasspath(topics).createAll(admin);
        }
        return topics;
    }
}
