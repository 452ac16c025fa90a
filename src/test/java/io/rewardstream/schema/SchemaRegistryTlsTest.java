package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rewardstream.dev.DevCertificates;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The registry client over HTTPS with basic auth against {@link FakeSchemaRegistry} serving a keytool-made certificate
 * (SAN IP:127.0.0.1): trust comes only from {@code schema.registry.ssl.truststore.*}; without it, or with the wrong
 * password, the client refuses; the basic-auth header is sent over TLS; no secret appears in errors.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchemaRegistryTlsTest {
  private static final Schema V1 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").endRecord();

  private Path tmp;
  private DevCertificates certs;
  private FakeSchemaRegistry fake;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("registry-tls-");
    certs = DevCertificates.generate(tmp.resolve("tls"));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(certs.keystore())) {
      ks.load(in, certs.keystorePassword().toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, certs.keystorePassword().toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    fake = new FakeSchemaRegistry(ctx);
  }

  @AfterAll
  void stop() {
    if (fake != null) {
      fake.close();
    }
    try (var paths = Files.walk(tmp)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (java.io.IOException ignored) {
      // best effort
    }
  }

  private Map<String, Object> tls() {
    Map<String, Object> p = new HashMap<>();
    p.put("schema.registry.url", fake.url());
    p.put("schema.registry.request.timeout.ms", 5000);
    p.put("schema.registry.retry.backoff.ms", 1);
    p.put("schema.registry.ssl.truststore.location", certs.truststore().toString());
    p.put("schema.registry.ssl.truststore.password", certs.truststorePassword());
    p.put("schema.registry.ssl.truststore.type", "PKCS12");
    return p;
  }

  @Test
  void shouldRegisterOverHttpsWithBasicAuthAndTheConfiguredTruststore() {
    assertThat(fake.url()).startsWith("https://127.0.0.1:");
    String expected = "Basic " + Base64.getEncoder().encodeToString("scorer:s3cret-pw".getBytes(StandardCharsets.UTF_8));
    fake.requireAuthorization(expected);
    Map<String, Object> p = tls();
    p.put("basic.auth.credentials.source", "USER_INFO");
    p.put("basic.auth.user.info", "scorer:s3cret-pw");
    SchemaRegistryClient c = new SchemaRegistryClient(SchemaRegistryConfig.from(p));
    int id = c.register("tls-value", V1);
    assertThat(c.getById(id)).isEqualTo(V1);
    assertThat(fake.lastAuthorization()).isEqualTo(expected);
    assertThat(SchemaRegistryConfig.from(p).toString()).doesNotContain("s3cret-pw")
        .doesNotContain(certs.truststorePassword());
  }

  @Test
  void shouldRefuseAServerItDoesNotTrust() {
    Map<String, Object> p = tls();
    p.remove("schema.registry.ssl.truststore.location");
    p.remove("schema.registry.ssl.truststore.password");
    p.remove("schema.registry.ssl.truststore.type");
    SchemaRegistryClient c = new SchemaRegistryClient(SchemaRegistryConfig.from(p));
    // JDK default trust does not know the test CA: the handshake fails, typed as a registry error
    assertThatThrownBy(() -> c.getById(1)).isInstanceOf(SchemaRegistryException.class);
  }

  @Test
  void shouldNameTheStoreButNotThePasswordWhenTheTruststorePasswordIsWrong() {
    Map<String, Object> p = tls();
    p.put("schema.registry.ssl.truststore.password", "wrong-truststore-pw");
    assertThatThrownBy(() -> new SchemaRegistryClient(SchemaRegistryConfig.from(p)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("schema.registry.ssl.truststore.location")
        .hasMessageNotContaining("wrong-truststore-pw");
  }
}
