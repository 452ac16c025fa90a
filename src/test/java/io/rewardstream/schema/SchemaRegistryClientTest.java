package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SchemaRegistryClientTest {
  private static final Schema V1 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").endRecord();
  private static final Schema V2 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").name("n").type().intType().intDefault(7).endRecord();

  private FakeSchemaRegistry fake;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeSchemaRegistry();
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  private SchemaRegistryClient client(Map<String, Object> extra) {
    Map<String, Object> p = new HashMap<>();
    p.put("schema.registry.url", fake.url());
    p.put("schema.registry.request.timeout.ms", 2000);
    p.put("schema.registry.retry.backoff.ms", 1);
    p.putAll(extra);
    return new SchemaRegistryClient(SchemaRegistryConfig.from(p));
  }

  private SchemaRegistryClient client() {
    return client(Map.of());
  }

  @Test
  void shouldRegisterOnceAndServeRepeatedCallsFromCache() {
    SchemaRegistryClient c = client();
    int id = c.register("t-value", V1);
    assertThat(c.register("t-value", V1)).isEqualTo(id);
    assertThat(c.getById(id)).isEqualTo(V1);
    assertThat(fake.requests()).containsExactly("POST /subjects/t-value/versions");
    assertThat(fake.lastContentType()).isEqualTo("application/vnd.schemaregistry.v1+json");
    assertThat(fake.lastBody()).contains("\"schema\"").contains(V1.toString().replace("\"", "\\\""));
  }

  @Test
  void shouldFetchSchemaByIdOnceAndLookUpOnce() {
    int id = fake.preRegister("t-value", V1);
    SchemaRegistryClient c = client();
    assertThat(c.getById(id)).isEqualTo(V1);
    assertThat(c.getById(id)).isEqualTo(V1);
    RegisteredSchema found = c.lookup("t-value", V1);
    assertThat(c.lookup("t-value", V1)).isEqualTo(found);
    assertThat(found.id()).isEqualTo(id);
    assertThat(found.version()).isEqualTo(1);
    assertThat(fake.requests()).containsExactly("GET /schemas/ids/" + id, "POST /subjects/t-value");
    assertThat(c.requestCount()).isEqualTo(2);
  }

  @Test
  void shouldAnswerLatestFromTheRegistryEveryTime() {
    fake.preRegister("t-value", V1);
    int id2 = fake.preRegister("t-value", V2);
    SchemaRegistryClient c = client();
    RegisteredSchema latest = c.latest("t-value");
    assertThat(latest).isEqualTo(new RegisteredSchema("t-value", id2, 2, V2));
    c.latest("t-value");
    assertThat(fake.count("GET /subjects/t-value/versions/latest")).isEqualTo(2);
  }

  @Test
  void shouldRetry5xxThenSucceed() {
    fake.failNext(2, 503);
    int id = client().register("t-value", V1);
    assertThat(id).isPositive();
    assertThat(fake.count("POST /subjects/t-value/versions")).isEqualTo(3);
  }

  @Test
  void shouldGiveUpAfterConfiguredRetriesWithTheLastStatus() {
    fake.failNext(100, 503);
    SchemaRegistryClient c = client(Map.of("schema.registry.retries", 2));
    assertThatThrownBy(() -> c.register("t-value", V1))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(503);
          assertThat(e.errorCode()).isEqualTo(50003);
        });
    assertThat(fake.count("POST")).isEqualTo(3);
  }

  @Test
  void shouldNotRetryClientErrors() {
    fake.failNext(1, 422);
    SchemaRegistryClient c = client();
    assertThatThrownBy(() -> c.register("t-value", V1)).isInstanceOf(SchemaRegistryException.class);
    assertThat(fake.requests()).hasSize(1);
  }

  @Test
  void shouldFailOverToTheNextUrlWhenOneDoesNotAnswer() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      deadPort = s.getLocalPort();
    }
    SchemaRegistryClient c = client(Map.of("schema.registry.url", "http://127.0.0.1:" + deadPort + "," + fake.url()));
    assertThat(c.register("t-value", V1)).isPositive();
    assertThat(c.requestCount()).isEqualTo(2);
    assertThat(fake.requests()).hasSize(1);
  }

  @Test
  void shouldReportNoResponseWhenNoUrlAnswers() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      deadPort = s.getLocalPort();
    }
    SchemaRegistryClient c = client(Map.of("schema.registry.url", "http://127.0.0.1:" + deadPort, "schema.registry.retries", 1));
    assertThatThrownBy(() -> c.getById(1))
        .isInstanceOfSatisfying(SchemaRegistryException.class,
            e -> assertThat(e.httpStatus()).isEqualTo(SchemaRegistryException.NO_RESPONSE))
        .hasMessageContaining("127.0.0.1:" + deadPort);
    assertThat(c.requestCount()).isEqualTo(2);
  }

  @Test
  void shouldSendBasicAuthFromUserInfo() {
    String expected = "Basic " + Base64.getEncoder().encodeToString("alice:pw:with:colons".getBytes(StandardCharsets.UTF_8));
    fake.requireAuthorization(expected);
    SchemaRegistryClient c = client(Map.of("basic.auth.credentials.source", "USER_INFO",
        "basic.auth.user.info", "alice:pw:with:colons"));
    assertThat(c.register("t-value", V1)).isPositive();
    assertThat(fake.lastAuthorization()).isEqualTo(expected);
  }

  @Test
  void shouldSendBasicAuthFromTheUrlAndKeepItOutOfMessages() {
    String expected = "Basic " + Base64.getEncoder().encodeToString("bob:hunter2".getBytes(StandardCharsets.UTF_8));
    fake.requireAuthorization(expected);
    String url = fake.url().replace("http://", "http://bob:hunter2@");
    SchemaRegistryClient c = client(Map.of("schema.registry.url", url));
    assertThat(c.register("t-value", V1)).isPositive();
    assertThat(fake.lastAuthorization()).isEqualTo(expected);
    assertThatThrownBy(() -> c.getById(999))
        .hasMessageNotContaining("hunter2").hasMessageContaining("127.0.0.1");
  }

  @Test
  void shouldRefuseWithoutCredentialsAs401() {
    fake.requireAuthorization("Basic x");
    assertThatThrownBy(() -> client().getById(1))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(401);
          assertThat(e.errorCode()).isEqualTo(40101);
        });
  }

  @Test
  void shouldMapErrorsToTypedExceptionNamingUrlAndSubject() {
    SchemaRegistryClient c = client();
    assertThatThrownBy(() -> c.getById(42))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(404);
          assertThat(e.errorCode()).isEqualTo(40403);
          assertThat(e.isNotFound()).isTrue();
        })
        .hasMessageContaining(fake.url() + "/schemas/ids/42");
    assertThatThrownBy(() -> c.latest("missing topic-value"))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
          assertThat(e.errorCode()).isEqualTo(40401);
          assertThat(e.subject()).isEqualTo("missing topic-value");
        })
        .hasMessageContaining("subject missing topic-value")
        .hasMessageContaining("/subjects/missing%20topic-value/versions/latest");
    fake.refuseRegistrations(true);
    assertThatThrownBy(() -> c.register("t-value", V1))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> assertThat(e.isIncompatible()).isTrue())
        .hasMessageContaining("409");
  }

  @Test
  void shouldRegisterAgainOnceWhenTheRegistryAnswers409ToAConcurrentFirstRegistration() {
    SchemaRegistryClient c = client();
    fake.failNext(1, 409);   // Apicurio's answer to the loser of two concurrent first registrations
    assertThat(c.register("race-value", V1)).isPositive();
    assertThat(fake.count("POST /subjects/race-value/versions")).isEqualTo(2);
    fake.refuseRegistrations(true);   // a real incompatibility: 409 again, thrown after one more try
    assertThatThrownBy(() -> c.register("race-value", V2))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> assertThat(e.isIncompatible()).isTrue());
  }

  @Test
  void shouldReportCompatibilityWithConfluentMessages() {
    fake.preRegister("t-value", V2);
    SchemaRegistryClient c = client();
    assertThat(c.testCompatibility("t-value", V2).compatible()).isTrue();
    Schema needsN = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
        .fields().requiredString("id").requiredLong("m").endRecord();
    CompatibilityResult r = c.testCompatibility("t-value", needsN);
    assertThat(r.compatible()).isFalse();
    assertThat(r.messages()).isNotEmpty();
  }

  @Test
  void shouldReadApicurioReasonAndTreatAMissingSubjectAsCompatible() {
    fake.apicurioStyle(true);
    SchemaRegistryClient c = client();
    CompatibilityResult none = c.testCompatibility("new-value", V1);
    assertThat(none.compatible()).isTrue();
    assertThat(none.messages()).singleElement().asString().contains("no registered versions");
    fake.preRegister("t-value", V2);
    Schema needsM = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
        .fields().requiredString("id").requiredLong("m").endRecord();
    CompatibilityResult r = c.testCompatibility("t-value", needsM);
    assertThat(r.compatible()).isFalse();
    assertThat(r.messages()).singleElement().asString().isNotBlank();
  }

  @Test
  void shouldSetGlobalAndSubjectCompatibility() {
    SchemaRegistryClient c = client();
    c.setCompatibility(CompatibilityLevel.BACKWARD);
    c.setCompatibility("t-value", CompatibilityLevel.FULL_TRANSITIVE);
    assertThat(fake.compatibilityOf("")).isEqualTo("BACKWARD");
    assertThat(fake.compatibilityOf("t-value")).isEqualTo("FULL_TRANSITIVE");
    assertThat(fake.requests()).containsExactly("PUT /config", "PUT /config/t-value");
  }
}
