package io.rewardstream.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Test helper for scorer ITs on the real broker: produce Avro rollouts, read rewards read_committed. */
final class ScorerTopics {
    private ScorerTopics() {
    }

    /** Sends the rollouts to the scorer's rollouts topic (key = group_id) through the registry serde. */
    static void produce(LocalStack stack, ScorerConfig config, List<Rollout> rollouts) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        AvroSerializer<Rollout> ser = new AvroSerializer<>();
        ser.configure(config.serdeProperties(), false);
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(),
                new ByteArraySerializer())) {
            for (Rollout r : rollouts) {
                producer.send(new ProducerRecord<>(config.rolloutsTopic(), r.getGroupId(),
                        ser.serialize(config.rolloutsTopic(), r)));
            }
            producer.flush();
        }
    }

    /** Consumer properties of a fresh read_committed group reading from the start. */
    static Map<String, Object> consumerProps(LocalStack stack) {
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "it-reader-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return c;
    }

    /** Rewards by rollout_id, until {@code expected} arrived or 90 s passed; a second reward for an id fails. */
    static Map<String, Reward> consumeRewards(LocalStack stack, String topic, int expected) {
        AvroDeserializer<Reward> de = new AvroDeserializer<>(Reward.class);
        de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        Map<String, Reward> out = new HashMap<>();
        try (KafkaConsumer<String, Reward> consumer = new KafkaConsumer<>(consumerProps(stack),
                new StringDeserializer(), de)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Reward> r : consumer.poll(Duration.ofMillis(200))) {
                    Reward prev = out.put(r.value().getRolloutId(), r.value());
                    assertThat(prev).as("duplicate %s", r.value().getRolloutId()).isNull();
                }
            }
        }
        return out;
    }
}
