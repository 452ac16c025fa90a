package io.rewardstream.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicProvisionerTest {

    @Test
    void shouldDeclareTheDefaultTopicsOnTheClasspath() {
        TopicProvisioner p = TopicProvisioner.fromClasspath(Map.of());

        assertThat(p.specs().keySet()).containsExactly("rollouts", "rewards", "group-advantages", "preferences",
                "ranked-preferences", "model-releases", "kl-observations", "kl-coefficients",
                "rewardstream-dead-letters");
        assertThat(p.spec(TopicProvisioner.ROLLOUTS).partitions()).isEqualTo(6);
        // the shared KL controller: one partition in, one compacted partition out
        assertThat(p.spec(TopicProvisioner.KL_OBSERVATIONS).partitions()).isEqualTo(1);
        assertThat(p.spec(TopicProvisioner.KL_COEFFICIENTS).partitions()).isEqualTo(1);
        assertThat(p.spec(TopicProvisioner.KL_COEFFICIENTS).compacted()).isTrue();
        assertThat(p.spec(TopicProvisioner.MODEL_RELEASES).partitions()).isEqualTo(1);
        assertThat(p.spec(TopicProvisioner.MODEL_RELEASES).compacted()).isTrue();
        assertThat(p.spec(TopicProvisioner.ROLLOUTS).compacted()).isFalse();
        assertThat(p.spec(TopicProvisioner.PREFERENCES).partitions()).isEqualTo(3);
        assertThat(p.topicName(TopicProvisioner.DEAD_LETTERS)).isEqualTo("rewardstream-dead-letters");
    }

    @Test
    void shouldMatchTheClasspathCopyWithTheSourceFile() throws Exception {
        Path source = Path.of("topology", "topics.json");
        TopicProvisioner fromFile = TopicProvisioner.fromFile(source, Map.of());

        assertThat(fromFile.specs()).isEqualTo(TopicProvisioner.fromClasspath(Map.of()).specs());
    }

    @Test
    void shouldApplyOverridesAndIgnoreUnrelatedKeys() {
        TopicProvisioner p = TopicProvisioner.fromClasspath(Map.of(
                "topics.rollouts.name", "exp1-rollouts",
                "topics.rewards.partitions", 12,
                "topics.rewardstream-dead-letters.replication-factor", "3",
                "topics.model-releases.config.retention.ms", "-1",
                "scoring.kl.estimator", "k3"));

        assertThat(p.topicName("rollouts")).isEqualTo("exp1-rollouts");
        assertThat(p.spec("rewards").partitions()).isEqualTo(12);
        assertThat(p.spec("rewardstream-dead-letters").replicationFactor()).isEqualTo((short) 3);
        assertThat(p.spec("model-releases").configs()).containsEntry("retention.ms", "-1")
                .containsEntry("cleanup.policy", "compact");
    }

    @Test
    void shouldRejectUnknownTopicOrAttributeNamingTheKey() {
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rolouts.name", "x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.rolouts.name");
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rollouts.partiton", "3")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.rollouts.partiton");
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rollouts.partitions", "many")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.rollouts.partitions");
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rollouts.partitions", "0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.rollouts.partitions");
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rollouts.name", "bad name!")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.rollouts.name");
    }

    @Test
    void shouldRejectTwoLogicalTopicsOnOneKafkaTopic() {
        assertThatThrownBy(() -> TopicProvisioner.fromClasspath(Map.of("topics.rewards.name", "rollouts")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both map to Kafka topic 'rollouts'");
    }

    @Test
    void shouldReportBadSpecFiles(@TempDir Path dir) throws Exception {
        Path noTopics = Files.writeString(dir.resolve("a.json"), "{\"x\":1}");
        Path badPartitions = Files.writeString(dir.resolve("b.json"),
                "{\"topics\":{\"t\":{\"partitions\":\"six\"}}}");
        Path notJson = Files.writeString(dir.resolve("c.json"), "{topics");

        assertThatThrownBy(() -> TopicProvisioner.fromFile(noTopics, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\"topics\"");
        assertThatThrownBy(() -> TopicProvisioner.fromFile(badPartitions, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topics.t.partitions");
        assertThatThrownBy(() -> TopicProvisioner.fromFile(notJson, Map.of()))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("c.json");
        assertThatThrownBy(() -> TopicProvisioner.fromFile(dir.resolve("missing.json"), Map.of()))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("missing.json");
    }

    @Test
    void shouldUseBrokerDefaultsForMinusOne(@TempDir Path dir) throws Exception {
        Path spec = Files.writeString(dir.resolve("s.json"),
                "{\"topics\":{\"t\":{\"name\":\"tt\",\"partitions\":-1,\"configs\":{\"retention.ms\":1000}}}}");

        TopicSpec t = TopicProvisioner.fromFile(spec, Map.of()).spec("t");
        NewTopic nt = t.toNewTopic();

        assertThat(nt.name()).isEqualTo("tt");
        assertThat(nt.numPartitions()).isEqualTo(-1);
        assertThat(nt.replicationFactor()).isEqualTo((short) -1);
        assertThat(nt.configs()).containsEntry("retention.ms", "1000");
        assertThat(t.replicationFactor()).isEqualTo((short) -1);
        assertThat(Optional.of(t.description())).contains("");
    }
}
