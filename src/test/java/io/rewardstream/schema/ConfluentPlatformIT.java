package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.rewardstream.avro.Rollout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.ConfluentKafkaContainer;

/**
 * Our serde against Confluent's own broker and Schema Registry images: the compatibility claim of
 * the Confluent wire format and REST API. Needs a Docker engine AND Confluent's images in it (no
 * image registry is reachable where CI runs: {@code docker load} them to run this); skipped (not
 * failed) otherwise, with the reason.
 */
@EnabledIf(
    value = "confluentImagesPresent",
    disabledReason =
        "needs a Docker engine holding confluentinc/cp-kafka and confluentinc/cp-schema-registry "
            + ConfluentPlatformIT.CP_VERSION
            + ": Confluent's images are not reachable here (no image registry); docker load them"
            + " to run this IT")
@Testcontainers(disabledWithoutDocker = true)
class ConfluentPlatformIT {
  static final String CP_VERSION = "7.8.0";
  private static final Network NETWORK = Network.newNetwork();

  @Container
  private static final ConfluentKafkaContainer KAFKA =
      new ConfluentKafkaContainer("confluentinc/cp-kafka:" + CP_VERSION)
          .withNetwork(NETWORK)
          .withListener("kafka:19092");

  @Container
  private static final GenericContainer<?> REGISTRY =
      new GenericContainer<>("confluentinc/cp-schema-registry:" + CP_VERSION)
          .withNetwork(NETWORK)
          .dependsOn(KAFKA)
          .withExposedPorts(8081)
          .withEnv("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
          .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
          .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
          .waitingFor(Wait.forHttp("/subjects").forStatusCode(200).withStartupTimeout(Duration.ofMinutes(2)));

  static boolean confluentImagesPresent() {
    if (!DockerClientFactory.instance().isDockerAvailable()) {
      return false;
    }
    for (String image :
        List.of(
            "confluentinc/cp-kafka:" + CP_VERSION, "confluentinc/cp-schema-registry:" + CP_VERSION)) {
      try {
        DockerClientFactory.instance().client().inspectImageCmd(image).exec();
      } catch (RuntimeException e) {
        return false;
      }
    }
    return true;
  }

  @Test
  void shouldRoundTripARolloutThroughConfluentsRegistry() throws Exception {
    String url = "http://" + REGISTRY.getHost() + ":" + REGISTRY.getMappedPort(8081);
    String topic = "rollouts";
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.getBootstrapServers()))) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
    }
    Map<String, Object> serdeProps = Map.of("schema.registry.url", url, "schema.registry.request.timeout.ms", "10000");
    Rollout rollout = TestRecords.rollout("confluent-1");
    AvroSerde<Rollout> serde = new AvroSerde<>(Rollout.class);
    serde.configure(serdeProps, false);
    try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(
        Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers()),
        new StringSerializer(), serde.serializer())) {
      producer.send(new ProducerRecord<>(topic, rollout.getGroupId(), rollout)).get();
    }
    List<ConsumerRecord<String, Rollout>> got = new ArrayList<>();
    try (KafkaConsumer<String, Rollout> consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.getBootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "confluent-it",
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), serde.deserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (got.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(got::add);
      }
    }
    assertThat(got).singleElement().satisfies(r -> assertThat(r.value()).isEqualTo(rollout));
    SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(url));
    RegisteredSchema latest = client.latest(TopicNameStrategy.valueSubject(topic));
    assertThat(latest.schema()).isEqualTo(AvroSchemas.withoutJavaProperties(Rollout.getClassSchema()));
  }
}
