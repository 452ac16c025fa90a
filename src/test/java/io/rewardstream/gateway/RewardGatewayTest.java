package io.rewardstream.gateway;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class RewardGatewayTest {

    @Test
    void shouldShareOneRegistryClientBetweenTheProducerAndTheListener() throws Exception {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9");   // nothing is sent: the gateway is never started
        m.put("schema.registry.url", "http://127.0.0.1:9/apis/ccompat/v7");
        m.put("gateway.auth.token", "0123456789abcdef0123");
        Set<Long> before = httpSelectorThreads();

        RewardGateway gateway = new RewardGateway(GatewayConfig.from(m));
        try {
            Set<Long> created = httpSelectorThreads();
            created.removeAll(before);
            assertThat(created).as("one java.net.http client (one selector thread) for the rollout serializer and "
                    + "the listener's reward and rollout deserializers").hasSize(1);
        } finally {
            gateway.close();
        }
    }

    /** Every java.net.http client runs one selector thread from its construction. */
    private static Set<Long> httpSelectorThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("HttpClient-") && t.getName().endsWith("-SelectorManager"))
                .map(Thread::getId).collect(Collectors.toCollection(HashSet::new));
    }
}
