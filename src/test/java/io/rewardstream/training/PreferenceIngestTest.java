package io.rewardstream.training;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.testing.HttpClientThreads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class PreferenceIngestTest {

    @Test
    void shouldShareOneRegistryClientBetweenThePairAndRankingDeserializers(@TempDir Path dir) throws Exception {
        Map<String, String> m = RetrainConfigTest.minimal();
        m.put("retrain.replay.dir", dir.resolve("replay").toString());
        m.put("retrain.model.root", dir.resolve("models").toString());
        m.put("bootstrap.servers", "127.0.0.1:9");   // nothing is sent: the ingest never subscribes or polls
        m.put("schema.registry.url", "http://127.0.0.1:9/apis/ccompat/v7");
        RetrainConfig cfg = RetrainConfig.from(m);
        Map<String, Object> client = new HashMap<>(m);
        Set<Long> before = HttpClientThreads.selectorThreads();

        ReplayBuffer buffer = ReplayBuffer.open(cfg.replayDir(), cfg.replayMaxPairs());
        try (PreferenceIngest ingest = new PreferenceIngest(cfg, client, buffer,
                () -> PreferenceIngest.ReleaseCoverage.NONE, new SimpleMeterRegistry())) {
            Set<Long> created = HttpClientThreads.selectorThreads();
            created.removeAll(before);
            assertThat(created).as("one java.net.http client (one selector thread) for the PreferencePair and "
                    + "RankedPreference deserializers").hasSize(1);
        }
    }

}
