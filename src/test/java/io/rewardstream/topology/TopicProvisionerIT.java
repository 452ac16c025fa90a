package io.rewardstream.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SharedLocalStack.class)
class TopicProvisionerIT {

    /** Unique names per run so the shared broker's other tests never see these topics. */
    private static Map<String, String> uniqueNames(TopicProvisioner base) {
        String suffix = "-" + UUID.randomUUID().toString().substring(0, 8);
        return base.specs().keySet().stream()
                .collect(Collectors.toMap(l -> "topics." + l + ".name", l -> "tp-it-" + l + suffix));
    }

    @Test
    void shouldCreateMissingTopicsOnceAndBeIdempotent(LocalStack stack) throws Exception {
        TopicProvisioner p = TopicProvisioner.fromClasspath(uniqueNames(TopicProvisioner.fromClasspath(Map.of())));
        List<String> names = p.specs().values().stream().map(TopicSpec::name).toList();

        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            TopicProvisioner.Report first = p.createAll(admin);
            TopicProvisioner.Report second = p.createAll(admin);

            assertThat(first.created()).containsExactlyElementsOf(names);
            assertThat(first.existing()).isEmpty();
            assertThat(second.created()).isEmpty();
            assertThat(second.existing()).containsExactlyElementsOf(names);
            assertThat(second.warnings()).isEmpty();

            Map<String, TopicDescription> d = admin.describeTopics(names).allTopicNames().get();
            assertThat(d.get(p.topicName("rollouts")).partitions()).hasSize(6);
            assertThat(d.get(p.topicName("model-releases")).partitions()).hasSize(1);
            assertThat(d.get(p.topicName("preferences")).partitions()).hasSize(3);
            assertThat(d.get(p.topicName("rewards")).partitions().get(0).replicas()).hasSize(1);

            ConfigResource releases = new ConfigResource(ConfigResource.Type.TOPIC, p.topicName("model-releases"));
            ConfigResource rollouts = new ConfigResource(ConfigResource.Type.TOPIC, p.topicName("rollouts"));
            Map<ConfigResource, Config> configs = admin.describeConfigs(List.of(releases, rollouts)).all().get();
            assertThat(configs.get(releases).get("cleanup.policy").value()).isEqualTo("compact");
            assertThat(configs.get(rollouts).get("cleanup.policy").value()).isEqualTo("delete");
            assertThat(configs.get(rollouts).get("max.message.bytes").value()).isEqualTo("8388608");
        }
    }

    @Test
    void shouldLeaveADifferingExistingTopicAloneAndWarn(LocalStack stack) throws Exception {
        TopicProvisioner p = TopicProvisioner.fromClasspath(uniqueNames(TopicProvisioner.fromClasspath(Map.of())));
        String rollouts = p.topicName("rollouts");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(rollouts, 2, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();

            TopicProvisioner.Report report = p.createAll(admin);

            assertThat(report.existing()).containsExactly(rollouts);
            assertThat(report.created()).hasSize(p.specs().size() - 1);
            assertThat(report.warnings()).anySatisfy(w -> assertThat(w).contains(rollouts).contains("2 partitions"))
                    .anySatisfy(w -> assertThat(w).contains("cleanup.policy=compact"));
            assertThat(admin.describeTopics(Set.of(rollouts)).allTopicNames().get().get(rollouts).partitions())
                    .hasSize(2);
        }
    }
}
