package io.rewardstream.topology;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ScorerConfigTest {

    private static Map<String, Object> minimal() {
        Map<String, Object> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9092");
        m.put("schema.registry.url", "http://127.0.0.1:8081");
        return m;
    }

    @Test
    void shouldLoadTheDocumentedDefaultsFromTheClasspath() {
        ScorerConfig c = ScorerConfig.from(minimal());
        assertThat(c.applicationId()).isEqualTo("rewardstream-scorer");
        assertThat(c.exactlyOnce()).isTrue();
        assertThat(c.rolloutsTopic()).isEqualTo("rollouts");
        assertThat(c.rewardsTopic()).isEqualTo("rewards");
        assertThat(c.groupAdvantagesTopic()).isEqualTo("group-advantages");
        assertThat(c.deadLettersTopic()).isEqualTo("rewardstream-dead-letters");
        assertThat(c.batching().maxSize()).isEqualTo(64);
        assertThat(c.batching().maxDelayMs()).isEqualTo(200);
        assertThat(c.metricsHost()).isEqualTo("127.0.0.1");
        assertThat(c.runtime().modelDir()).isNull();
        assertThat(c.streamsProperties()).containsEntry("transaction.timeout.ms", "60000")
                .containsEntry("max.poll.records", "256").containsEntry("num.stream.threads", "2")
                .containsEntry("statestore.cache.max.bytes", "10485760");
        assertThat(c.delivery()).isEqualTo(DeliveryConfig.DEFAULTS);
        assertThat(c.streamsProperties()).doesNotContainKeys(DeliveryConfig.DEDUPE_WINDOW_MS,
                DeliveryConfig.CHAOS_PAUSE_MS);
    }

    @Test
    void shouldRefuseABadDeliveryKeyNamingIt() {
        java.util.Map<String, Object> m = new java.util.HashMap<>(minimal());
        m.put(DeliveryConfig.DEDUPE_WINDOW_MS, "-5");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ScorerConfig.from(m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dedupe.window.ms");
        m.put(DeliveryConfig.DEDUPE_WINDOW_MS, "0");
        m.put(DeliveryConfig.CHAOS_PAUSE_MS, "soon");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ScorerConfig.from(m))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chaos.flush.pause.before.commit.ms");
    }

    @Test
    void shouldKeepTheTransactionWellAboveTheWorstCaseBatchTime() {
        ScorerConfig c = ScorerConfig.from(minimal());
        long txMs = Long.parseLong((String) c.streamsProperties().get("transaction.timeout.ms"));
        long pollRecords = Long.parseLong((String) c.streamsProperties().get("max.poll.records"));
        // worst case documented in scorer.properties: 1.5 s per full flush of 64 on a 3.2M-parameter CPU model
        long flushes = (pollRecords + c.batching().maxSize() - 1) / c.batching().maxSize() + 1;
        assertThat(flushes * 1500).isLessThan(txMs / 5);
    }

    @Test
    void shouldPassKafkaKeysThroughAndKeepItsOwnKeysOut() {
        Map<String, Object> m = minimal();
        m.put("batch.size", "32768");           // producer key that shares the batch. prefix
        m.put("metrics.recording.level", "DEBUG"); // streams key that shares the metrics. prefix
        m.put("topics.rollouts.name", "in");
        ScorerConfig c = ScorerConfig.from(m);
        assertThat(c.streamsProperties()).containsEntry("batch.size", "32768")
                .containsEntry("metrics.recording.level", "DEBUG")
                .containsEntry("bootstrap.servers", "127.0.0.1:9092")
                .doesNotContainKeys("batch.max.size", "metrics.port", "topics.rollouts.name", "scoring.kl.coef",
                        "schema.registry.url", "group.timeout.ms", "model.dir");
        assertThat(c.serdeProperties()).containsEntry("schema.registry.url", "http://127.0.0.1:8081");
        assertThat(c.rolloutsTopic()).isEqualTo("in");
    }

    @Test
    void shouldFailFastNamingTheKey() {
        Map<String, Object> noBootstrap = minimal();
        noBootstrap.remove("bootstrap.servers");
        assertThatThrownBy(() -> ScorerConfig.from(noBootstrap)).hasMessageContaining("bootstrap.servers");
        Map<String, Object> noRegistry = minimal();
        noRegistry.remove("schema.registry.url");
        assertThatThrownBy(() -> ScorerConfig.from(noRegistry)).hasMessageContaining("schema.registry.url");
        for (Map.Entry<String, String> bad : Map.of("group.timeout.ms", "0", "metrics.port", "70000",
                "batch.max.size", "zero", "scoring.kl.coef", "-1", "processing.guarantee", "exactly_once",
                "topics.rewards.name", "rollouts", "model.gpu.memory.fraction", "2").entrySet()) {
            Map<String, Object> m = minimal();
            m.put(bad.getKey(), bad.getValue());
            String expectedKey = bad.getKey().equals("topics.rewards.name") ? "topics.rollouts.name" : bad.getKey();
            assertThatThrownBy(() -> ScorerConfig.from(m)).as(bad.getKey())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(expectedKey);
        }
    }

    @Test
    void shouldLayerFileOverDefaultsAndOverridesOverFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("scorer.properties");
        Files.writeString(file, "bootstrap.servers=file:9092\nschema.registry.url=http://file\nbatch.max.size=8\n"
                + "group.timeout.ms=5000\n");
        ScorerConfig c = ScorerConfig.load(file, Map.of("bootstrap.servers", "flag:9092"));
        assertThat(c.bootstrapServers()).isEqualTo("flag:9092");
        assertThat(c.batching().maxSize()).isEqualTo(8);
        assertThat(c.groupTimeoutMs()).isEqualTo(5000);
        assertThat(c.batching().maxTokens()).isEqualTo(16384);
        assertThat(c.raw()).containsEntry("batch.max.size", "8");
    }
}
