package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.types.Password;
import org.junit.jupiter.api.Test;

class SchemaRegistryConfigTest {

  @Test
  void shouldApplyConfluentDefaults() {
    SchemaRegistryConfig c = SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://127.0.0.1:8081"));
    assertThat(c.urls()).containsExactly(URI.create("http://127.0.0.1:8081"));
    assertThat(c.credentialsSource()).isEqualTo(SchemaRegistryConfig.CredentialsSource.URL);
    assertThat(c.autoRegisterSchemas()).isTrue();
    assertThat(c.useLatestVersion()).isFalse();
    assertThat(c.latestCompatibilityStrict()).isTrue();
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.retries()).isEqualTo(3);
    assertThat(c.cacheCapacity()).isEqualTo(1000);
    assertThat(c.truststoreType()).isEqualTo("JKS");
  }

  @Test
  void shouldSplitCommaSeparatedUrlsInOrderAndParseTypedValues() {
    Map<String, Object> p = new HashMap<>();
    p.put("schema.registry.url", " http://a:1/x/ , https://b:2 ");
    p.put("auto.register.schemas", "false");
    p.put("use.latest.version", true);
    p.put("latest.compatibility.strict", "FALSE");
    p.put("schema.registry.request.timeout.ms", 250);
    p.put("schema.registry.retries", "0");
    p.put("schema.registry.cache.capacity", 7L);
    SchemaRegistryConfig c = SchemaRegistryConfig.from(p);
    assertThat(c.urls()).containsExactly(URI.create("http://a:1/x"), URI.create("https://b:2"));
    assertThat(c.autoRegisterSchemas()).isFalse();
    assertThat(c.useLatestVersion()).isTrue();
    assertThat(c.latestCompatibilityStrict()).isFalse();
    assertThat(c.requestTimeout()).isEqualTo(Duration.ofMillis(250));
    assertThat(c.retries()).isZero();
    assertThat(c.cacheCapacity()).isEqualTo(7);
    assertThat(SchemaRegistryConfig.from(Map.of("schema.registry.url", List.of("http://a:1", "http://b:2"))).urls())
        .hasSize(2);
  }

  @Test
  void shouldNameTheKeyInValidationErrors() {
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of()))
        .hasMessageContaining("schema.registry.url");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "ftp://x")))
        .hasMessageContaining("schema.registry.url");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "auto.register.schemas", "yes")))
        .hasMessageContaining("auto.register.schemas");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "basic.auth.credentials.source", "SASL_INHERIT")))
        .hasMessageContaining("basic.auth.credentials.source");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "basic.auth.credentials.source", "USER_INFO")))
        .hasMessageContaining("basic.auth.user.info");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "schema.registry.retries", "-1")))
        .hasMessageContaining("schema.registry.retries");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "schema.registry.request.timeout.ms", "soon")))
        .hasMessageContaining("schema.registry.request.timeout.ms");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "schema.registry.cache.capacity", "0")))
        .hasMessageContaining("schema.registry.cache.capacity");
    assertThatThrownBy(() -> SchemaRegistryConfig.from(Map.of("schema.registry.url", "http://x", "schema.registry.ssl.truststore.password", "pw")))
        .hasMessageContaining("schema.registry.ssl.truststore.location");
  }

  @Test
  void shouldNeverShowSecretsInToStringOrErrors() {
    SchemaRegistryConfig c = SchemaRegistryConfig.from(Map.of(
        "schema.registry.url", "https://urluser:urlsecret@reg:8081,https://reg2:8081",
        "basic.auth.credentials.source", "USER_INFO",
        "basic.auth.user.info", new Password("alice:s3cret-pw"),
        "schema.registry.ssl.truststore.location", "/tmp/trust.jks",
        "schema.registry.ssl.truststore.password", "trust-pw",
        "schema.registry.ssl.keystore.location", "/tmp/keys.p12",
        "schema.registry.ssl.keystore.password", "key-pw",
        "schema.registry.ssl.keystore.type", "PKCS12"));
    assertThat(c.userInfo()).isEqualTo("alice:s3cret-pw");
    String shown = c.toString();
    assertThat(shown).contains("alice", "reg:8081", "PKCS12")
        .doesNotContain("s3cret-pw", "urlsecret", "urluser", "trust-pw", "key-pw");
    assertThatThrownBy(() -> new SchemaRegistryClient(c))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("schema.registry.ssl.truststore.location")
        .message().doesNotContain("trust-pw");
  }
}
