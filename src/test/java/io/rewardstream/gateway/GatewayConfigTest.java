package io.rewardstream.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GatewayConfigTest {
    private static final String TOKEN = "a-token-of-24-characters";

    private static Map<String, String> minimal() {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:9092");
        m.put("schema.registry.url", "http://127.0.0.1:8081/apis/ccompat/v7");
        m.put("gateway.auth.token", TOKEN);
        return m;
    }

    @Test
    void shouldBindLoopbackAndUseTheScorersTopicsByDefault() {
        GatewayConfig c = GatewayConfig.from(minimal());
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(8088);
        assertThat(c.tls()).isFalse();
        assertThat(c.rolloutsTopic()).isEqualTo("rollouts");
        assertThat(c.rewardsTopic()).isEqualTo("rewards");
        assertThat(c.deadLettersTopic()).isEqualTo("rewardstream-dead-letters");
        assertThat(c.requestTimeoutMs()).isEqualTo(60_000);
        assertThat(c.queryTokenAllowed()).as("tokens in URLs end up in logs: opt-in").isFalse();
    }

    @Test
    void shouldSplitKafkaAndRegistryPropertiesAndKeepGatewayKeysOut() {
        Map<String, String> m = minimal();
        m.put("security.protocol", "SASL_SSL");
        m.put("basic.auth.user.info", "u:p");
        GatewayConfig c = GatewayConfig.from(m);
        assertThat(c.kafka()).containsEntry("bootstrap.servers", "127.0.0.1:9092")
                .containsEntry("security.protocol", "SASL_SSL").doesNotContainKeys("gateway.auth.token",
                        "schema.registry.url", "topics.rollouts.name", "basic.auth.user.info");
        assertThat(c.serde()).containsEntry("schema.registry.url", "http://127.0.0.1:8081/apis/ccompat/v7")
                .containsEntry("basic.auth.user.info", "u:p");
    }

    @Test
    void shouldRequireATokenAndNameTheKey() {
        Map<String, String> m = minimal();
        m.remove("gateway.auth.token");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.auth.token is required");
        m.put("gateway.auth.token", "short");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.auth.token must have at least 16");
    }

    @Test
    void shouldReadTheTokenFromAFileOrTheEnvironmentAndNeverPrintIt(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, TOKEN + "\n");
        Map<String, String> m = minimal();
        m.put("gateway.auth.token", "${file:" + f + "}");
        GatewayConfig c = GatewayConfig.load(null, m);
        assertThat(c.token()).isEqualTo(TOKEN);
        assertThat(c.toString()).doesNotContain(TOKEN).contains("token=[hidden]");
        m.put("gateway.auth.token", "${env:REWARDSTREAM_TEST_SURELY_UNSET_VAR}");
        assertThatThrownBy(() -> GatewayConfig.load(null, m)).hasMessageContaining("gateway.auth.token");
    }

    @Test
    void shouldRejectBadValuesNamingTheKey(@TempDir Path dir) {
        Map<String, String> m = minimal();
        m.put("gateway.port", "70000");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.port");
        m.put("gateway.port", "x");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.port must be an integer");
        m.put("gateway.port", "0");
        m.put("gateway.auth.query.token.enabled", "yes");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.auth.query.token.enabled");
        m.remove("gateway.auth.query.token.enabled");
        m.put("gateway.metrics.port", "-2");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageStartingWith("gateway.metrics.port must be in [-1, 65535]");
        m.put("gateway.metrics.port", "-1");
        assertThat(GatewayConfig.from(m).metricsPort()).as("-1 = no metrics server").isEqualTo(-1);
        m.remove("gateway.metrics.port");
        m.put("gateway.tls.keystore.location", dir.resolve("missing.p12").toString());
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("gateway.tls.keystore.location");
        m.remove("gateway.tls.keystore.location");
        m.remove("bootstrap.servers");
        assertThatThrownBy(() -> GatewayConfig.from(m)).hasMessageContaining("bootstrap.servers is required");
    }
}
