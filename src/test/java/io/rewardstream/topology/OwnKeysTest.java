package io.rewardstream.topology;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OwnKeysTest {

    private static Map<String, Object> base() {
        Map<String, Object> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9092");
        m.put("schema.registry.url", "http://127.0.0.1:8081");
        return m;
    }

    @Test
    void shouldRefuseAMisspelledOwnKeyNamingTheNearestKnownKey() {
        Map<String, Object> m = base();
        m.put("scoring.kl.coeff", "0.1");
        assertThatThrownBy(() -> ScorerConfig.from(m)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown key scoring.kl.coeff").hasMessageContaining("did you mean scoring.kl.coef?");
    }

    @Test
    void shouldRefuseUnknownKeysUnderEveryOwnPrefix() {
        for (String key : new String[]{"model.dirr", "release.allow.unsignd", "batch.max.sise", "validation.max.tokens",
                "rewards.emit.kl", "scoring.verifier.format.regexp"}) {
            Map<String, Object> m = base();
            m.put(key, "1");
            assertThatThrownBy(() -> ScorerConfig.from(m)).as(key).hasMessageContaining("unknown key " + key);
        }
    }

    @Test
    void shouldAcceptDocumentedKeysRoutesAndKafkasOwnBatchKeys() {
        Map<String, Object> m = base();
        m.put("batch.size", "32768");          // the producer's, passed through to KafkaStreams
        m.put("model.root", "");                // documented
        m.put("scoring.routes.math.weights", "exact_answer=1");
        m.put("metrics.recording.level", "INFO");
        ScorerConfig c = ScorerConfig.from(m);
        assertThat(c.streamsProperties()).containsEntry("batch.size", "32768");
        assertThat(c.routing().routeOf(Map.of("task", "math")).uses("exact_answer")).isTrue();
    }

    @Test
    void shouldRefuseAnInvalidRouteAtStartUpNamingItsKey() {
        Map<String, Object> m = base();
        m.put("scoring.routes.math.weights", "exact=1");
        assertThatThrownBy(() -> ScorerConfig.from(m)).hasMessageStartingWith("scoring.routes.math.weights");
    }
}
