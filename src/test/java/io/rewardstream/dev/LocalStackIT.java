package io.rewardstream.dev;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SharedLocalStack.class)
class LocalStackIT {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void report(LocalStack stack) {
        System.out.printf("LocalStack startup: %d ms (kafka %s, registry %s)%n",
                stack.startupMillis(), stack.bootstrapServers(), stack.schemaRegistryUrl());
    }

    @Test
    void shouldBindBothEndpointsToLoopback(LocalStack stack) {
        assertThat(stack.bootstrapServers()).matches("127\\.0\\.0\\.1:\\d+");
        assertThat(stack.schemaRegistryUrl()).matches("http://127\\.0\\.0\\.1:\\d+/apis/ccompat/v7");
        assertThat(SharedLocalStack.get()).isSameAs(stack);
    }

    @Test
    void shouldProduceAndConsumeARecord(LocalStack stack) throws Exception {
        String topic = "it-" + UUID.randomUUID();
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", "hello")).get();
        }
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "it-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> consumer =
                     new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            ConsumerRecord<String, String> got = null;
            while (got == null && System.nanoTime() < deadline) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (!records.isEmpty()) {
                    got = records.iterator().next();
                }
            }
            assertThat(got).isNotNull();
            assertThat(got.key()).isEqualTo("k");
            assertThat(got.value()).isEqualTo("hello");
        }
    }

    @Test
    void shouldServeTheConfluentApiWithBackwardCompatibility(LocalStack stack) throws Exception {
        HttpResponse<String> subjects = HTTP.send(
                HttpRequest.newBuilder(URI.create(stack.schemaRegistryUrl() + "/subjects")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(subjects.statusCode()).isEqualTo(200);
        assertThat(subjects.body().trim()).startsWith("[");

        HttpResponse<String> config = HTTP.send(
                HttpRequest.newBuilder(URI.create(stack.schemaRegistryUrl() + "/config")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(config.statusCode()).isEqualTo(200);
        assertThat(config.body()).contains("BACKWARD");
    }

    @Test
    void shouldRegisterASchemaIdempotently(LocalStack stack) throws Exception {
        String subject = "it-" + UUID.randomUUID() + "-value";
        String body = "{\"schema\":\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"R\\\",\\\"fields\\\":"
                + "[{\\\"name\\\":\\\"a\\\",\\\"type\\\":\\\"int\\\"}]}\"}";
        HttpRequest register = HttpRequest.newBuilder(URI.create(stack.schemaRegistryUrl() + "/subjects/" + subject
                        + "/versions"))
                .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> first = HTTP.send(register, HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> second = HTTP.send(register, HttpResponse.BodyHandlers.ofString());
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).matches("\\{\"id\":\\d+}");
        assertThat(second.body()).isEqualTo(first.body());
    }
}
