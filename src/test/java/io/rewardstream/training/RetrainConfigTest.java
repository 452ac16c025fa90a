package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RetrainConfigTest {

    static Map<String, String> minimal() {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9092");
        m.put("schema.registry.url", "http://127.0.0.1:8081");
        m.put("retrain.replay.dir", "/tmp/replay");
        m.put("retrain.model.root", "/tmp/models");
        m.put("retrain.model.name", "builtin-tiny");
        return m;
    }

    @Test
    void shouldApplyDefaults() {
        RetrainConfig c = RetrainConfig.from(minimal());
        assertThat(c.minNewPairs()).isEqualTo(256);
        assertThat(c.groupId()).isEqualTo("rewardstream-retrain");
        assertThat(c.preferencesTopic()).isEqualTo("preferences");
        assertThat(c.rankedPreferencesTopic()).isEqualTo("ranked-preferences");
        assertThat(c.releasesTopic()).isEqualTo("model-releases");
        assertThat(c.deadLettersTopic()).isEqualTo("rewardstream-dead-letters");
        assertThat(c.annotatorMinAgreement()).isNull();
        assertThat(c.signingKey()).isNull();
        assertThat(c.modelDir()).isEqualTo(Path.of("/tmp/models/builtin-tiny"));
        assertThat(c.metricsHost()).isEqualTo("127.0.0.1");
        assertThat(c.metricsPort()).isEqualTo(9465);
    }

    @Test
    void shouldReadMetricsKeysAndRefuseABadPort() {
        Map<String, String> m = minimal();
        m.put("metrics.host", "127.0.0.2");
        m.put("metrics.port", "-1");
        RetrainConfig c = RetrainConfig.from(m);
        assertThat(c.metricsHost()).isEqualTo("127.0.0.2");
        assertThat(c.metricsPort()).isEqualTo(-1);
        m.put("metrics.port", "0");
        assertThat(RetrainConfig.from(m).metricsPort()).isZero();
        m.put("metrics.port", "-2");
        assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining("metrics.port");
        m.put("metrics.port", "70000");
        assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining("metrics.port");
    }

    @Test
    void shouldReadEveryKeyAndKafkaPassThrough() {
        Map<String, String> m = minimal();
        m.put("retrain.group.id", "g");
        m.put("topics.preferences.name", "p");
        m.put("topics.ranked-preferences.name", "rp");
        m.put("topics.model-releases.name", "rel");
        m.put("topics.rewardstream-dead-letters.name", "dlq");
        m.put("retrain.min.new.pairs", "10");
        m.put("retrain.max.interval.ms", "5000");
        m.put("retrain.steps", "7");
        m.put("retrain.batch.size", "4");
        m.put("retrain.learning.rate", "0.001");
        m.put("retrain.replay.max.pairs", "99");
        m.put("retrain.replay.mix", "0.25");
        m.put("retrain.heldout.fraction", "0.2");
        m.put("retrain.gate.tolerance", "0.05");
        m.put("retrain.base.model.dir", "/tmp/base");
        m.put("retrain.signing.key", "/tmp/k.pem");
        m.put("retrain.signing.key.id", "k");
        m.put("retrain.annotator.min.agreement", "0.6");
        m.put("kafka.security.protocol", "SSL");
        RetrainConfig c = RetrainConfig.from(m);
        assertThat(c.groupId()).isEqualTo("g");
        assertThat(c.preferencesTopic()).isEqualTo("p");
        assertThat(c.rankedPreferencesTopic()).isEqualTo("rp");
        assertThat(c.releasesTopic()).isEqualTo("rel");
        assertThat(c.deadLettersTopic()).isEqualTo("dlq");
        assertThat(c.minNewPairs()).isEqualTo(10);
        assertThat(c.maxIntervalMs()).isEqualTo(5000);
        assertThat(c.steps()).isEqualTo(7);
        assertThat(c.batchSize()).isEqualTo(4);
        assertThat(c.learningRate()).isEqualTo(0.001);
        assertThat(c.replayMaxPairs()).isEqualTo(99);
        assertThat(c.replayMix()).isEqualTo(0.25);
        assertThat(c.heldOutFraction()).isEqualTo(0.2);
        assertThat(c.gateTolerance()).isEqualTo(0.05);
        assertThat(c.baseModelDir()).isEqualTo(Path.of("/tmp/base"));
        assertThat(c.signingKey()).isEqualTo(Path.of("/tmp/k.pem"));
        assertThat(c.signingKeyId()).isEqualTo("k");
        assertThat(c.annotatorMinAgreement()).isEqualTo(0.6);
        assertThat(c.kafka()).containsEntry("security.protocol", "SSL");
    }

    @Test
    void shouldNameTheMissingKey() {
        for (String k : new String[]{"bootstrap.servers", "schema.registry.url", "retrain.replay.dir",
                "retrain.model.root", "retrain.model.name"}) {
            Map<String, String> m = minimal();
            m.remove(k);
            assertThatThrownBy(() -> RetrainConfig.from(m)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(k);
        }
    }

    @Test
    void shouldNameTheKeyOfABadValue() {
        String[][] bad = {
                {"retrain.min.new.pairs", "0"}, {"retrain.min.new.pairs", "x"}, {"retrain.max.interval.ms", "0"},
                {"retrain.steps", "0"}, {"retrain.batch.size", "-1"}, {"retrain.learning.rate", "0"},
                {"retrain.learning.rate", "NaN"}, {"retrain.replay.max.pairs", "0"}, {"retrain.replay.mix", "1"},
                {"retrain.heldout.fraction", "0"}, {"retrain.heldout.fraction", "1"}, {"retrain.gate.tolerance", "-0.1"},
                {"retrain.annotator.min.agreement", "1.5"}, {"retrain.model.name", "../evil"},
        };
        for (String[] kv : bad) {
            Map<String, String> m = minimal();
            m.put(kv[0], kv[1]);
            assertThatThrownBy(() -> RetrainConfig.from(m)).as(kv[0] + "=" + kv[1])
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(kv[0]);
        }
    }

    @Test
    void shouldRequireSigningKeyAndIdTogether() {
        Map<String, String> m = minimal();
        m.put("retrain.signing.key", "/tmp/k.pem");
        assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining("retrain.signing.key.id");
        Map<String, String> m2 = minimal();
        m2.put("retrain.signing.key.id", "k");
        assertThatThrownBy(() -> RetrainConfig.from(m2)).hasMessageContaining("retrain.signing.key ");
    }

    @Test
    void shouldReadTheBertRoundKeys() {
        RetrainConfig d = RetrainConfig.from(minimal());
        assertThat(d.bertTrainLayers()).isEqualTo("auto");
        assertThat(d.bertLearningRate()).isEqualTo(5e-5);
        Map<String, String> m = minimal();
        m.put(RetrainConfig.BERT_TRAIN_LAYERS, "all");
        m.put(RetrainConfig.BERT_LEARNING_RATE, "2e-5");
        RetrainConfig c = RetrainConfig.from(m);
        assertThat(c.bertTrainLayers()).isEqualTo("all");
        assertThat(c.bertLearningRate()).isEqualTo(2e-5);
        for (String bad : List.of("13", "-2", "top", "")) {
            m.put(RetrainConfig.BERT_TRAIN_LAYERS, bad);
            if (bad.isEmpty()) {
                assertThat(RetrainConfig.from(m).bertTrainLayers()).isEqualTo("auto");   // blank = default
                continue;
            }
            assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining(RetrainConfig.BERT_TRAIN_LAYERS);
        }
        m.put(RetrainConfig.BERT_TRAIN_LAYERS, "4");
        m.put(RetrainConfig.BERT_LEARNING_RATE, "0");
        assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining(RetrainConfig.BERT_LEARNING_RATE);
    }

    @Test
    void shouldRefuseUnknownRetrainKeys() {
        Map<String, String> m = minimal();
        m.put("retrain.min.new.pair", "3");
        assertThatThrownBy(() -> RetrainConfig.from(m)).hasMessageContaining("retrain.min.new.pair");
    }

    @Test
    void shouldLoadTheDocumentedDefaultFileWithOverrides() throws Exception {
        RetrainConfig c = RetrainConfig.load(Path.of("topology/retrain.properties"),
                Map.of("retrain.min.new.pairs", "5"));
        assertThat(c.minNewPairs()).isEqualTo(5);
        assertThat(c.maxIntervalMs()).isEqualTo(3_600_000L);
        assertThat(c.replayMix()).isEqualTo(0.5);
        assertThat(c.signingKey()).isNull();
        assertThat(c.metricsPort()).isEqualTo(9465);
        assertThat(c.withMinNewPairs(9).metricsHost()).isEqualTo("127.0.0.1");
    }
}
