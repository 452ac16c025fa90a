package io.rewardstream.gateway;

import io.rewardstream.testing.HttpClientThreads;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class RewardGatewayTest {

    @Test
    void shouldShareOneRegistryClientBetweenTheProducerAndTheListener() throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9");   // nothing is sent: the gateway is never started
        m.put("schema.registry.url", "http://127.0.0.1:9/apis/ccompat/v7");
        m.put("gateway.auth.token", "0123456789abcdef0123");
        Set<Long> before = HttpClientThreads.selectorThreads();

        RewardGateway gateway = new RewardGateway(GatewayConfig.from(m));
        try {
            Set<Long> created = HttpClientThreads.selectorThreads();
            created.removeAll(before);
            assertThat(created).as("one java.net.http client (one selector thread) for the rollout serializer and "
                    + "the listener's reward and rollout deserializers").hasSize(1);
        } finally {
            gateway.close();
        }
    }

}
