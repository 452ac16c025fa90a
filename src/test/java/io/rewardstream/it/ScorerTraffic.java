package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Producer and consumer helpers for the scorer integration tests on the shared {@link LocalStack}: topic creation
 * through Admin, rollouts (Avro, key = group_id) and raw bytes to the rollouts topic, and {@link Reader}s that read a
 * topic from its beginning with {@code isolation.level=read_committed}. Owns its producers; close it.
 */
public final class ScorerTraffic implements AutoCloseable {
    private final LocalStack stack;
    private final KafkaProducer<String, Rollout> producer;
    private final KafkaProducer<byte[], byte[]> rawProducer;

    public ScorerTraffic(LocalStack stack) {
        this.stack = stack;
        Map<String, Object> p = clientProps(stack);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        AvroSerializer<Rollout> values = new AvroSerializer<>();
        values.configure(clientProps(stack), false);
        producer = new KafkaProducer<>(p, new StringSerializer(), values);
        rawProducer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** bootstrap.servers and schema.registry.url of the stack (a fresh mutable map). */
    public static Map<String, Object> clientProps(LocalStack stack) {
        Map<String, Object> m = new HashMap<>();
        m.put("bootstrap.servers", stack.bootstrapServers());
        m.put("schema.registry.url", stack.schemaRegistryUrl());
        return m;
    }

    /** Creates the topics (replication 1) and waits for them. */
    public static void createTopics(LocalStack stack, int partitions, String... names)
            throws ExecutionException, InterruptedException {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            List<NewTopic> topics = new ArrayList<>();
            for (String n : names) {
                topics.add(new NewTopic(n, partitions, (short) 1));
            }
            admin.createTopics(topics).all().get();
        }
    }

    /** Sends the rollouts (key = group_id) and waits for every acknowledgement. */
    public void produce(String topic, List<Rollout> rollouts) {
        for (Rollout r : rollouts) {
            producer.send(new ProducerRecord<>(topic, r.getGroupId(), r));
        }
        producer.flush();
    }

    /** Sends one record of raw bytes (key as UTF-8) and waits for its acknowledgement. */
    public void produceRaw(String topic, String key, byte[] value) {
        try {
            rawProducer.send(new ProducerRecord<>(topic, key == null ? null : key.getBytes(StandardCharsets.UTF_8),
                    value)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("send failed: " + e.getCause(), e.getCause());
        }
    }

    /** Serializes a rollout exactly as {@link #produce} does (Confluent framing, registered schema id). */
    public byte[] serialize(String topic, Rollout r) {
        try (AvroSerializer<Rollout> s = new AvroSerializer<>()) {
            s.configure(clientProps(stack), false);
            return s.serialize(topic, r);
        }
    }

    /** A read_committed reader of rewards (Avro) from the beginning of {@code topic}. */
    public Reader<Reward> rewards(String topic) {
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(clientProps(stack), false);
        return new Reader<>(stack, topic, r -> d.deserialize(r.topic(), r.value()), r -> r.getRolloutId());
    }

    /**
     * A reader of rewards on any broker ({@code bootstrap}) with the given isolation level: {@code read_uncommitted}
     * also shows records of open (and later aborted) transactions.
     */
    public Reader<Reward> rewards(String bootstrap, String isolation, String topic) {
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(clientProps(stack), false);
        return new Reader<>(bootstrap, isolation, topic, r -> d.deserialize(r.topic(), r.value()),
                r -> r.getRolloutId());
    }

    /** A reward with where it was read from. */
    public record Positioned<V>(int partition, long offset, V value) {
    }

    /** Like {@link #rewards} but keeping each reward's partition and offset. */
    public Reader<Positioned<Reward>> positionedRewards(String topic) {
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(clientProps(stack), false);
        return new Reader<>(stack, topic, r -> new Positioned<>(r.partition(), r.offset(),
                d.deserialize(r.topic(), r.value())), p -> p.value().getRolloutId());
    }

    /** A read_committed reader of raw records from the beginning of {@code topic}, identified by {@code id}. */
    public Reader<ConsumerRecord<byte[], byte[]>> raw(String topic,
                                                     Function<ConsumerRecord<byte[], byte[]>, String> id) {
        return new Reader<>(stack, topic, r -> r, id);
    }

    /** Committed offsets of {@code groupId} summed over the topic's partitions, and the topic's end offsets summed. */
    public static long[] committedAndEnd(LocalStack stack, String groupId, String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                    .partitionsToOffsetAndMetadata().get();
            int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            long end = admin.listOffsets(latest).all().get().values().stream().mapToLong(i -> i.offset()).sum();
            long done = committed.entrySet().stream().filter(e -> e.getKey().topic().equals(topic)
                    && e.getValue() != null).mapToLong(e -> e.getValue().offset()).sum();
            return new long[]{done, end};
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(10));
        rawProducer.close(Duration.ofSeconds(10));
    }

    /**
     * Reads a topic from its beginning with read_committed, keeping every value and counting occurrences per id
     * (duplicates show up as a count above 1). Not thread-safe; close it.
     */
    public static final class Reader<V> implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Function<ConsumerRecord<byte[], byte[]>, V> decode;
        private final Function<V, String> id;
        private final List<V> all = new ArrayList<>();
        private final Map<String, Integer> counts = new LinkedHashMap<>();

        Reader(LocalStack stack, String topic, Function<ConsumerRecord<byte[], byte[]>, V> decode,
               Function<V, String> id) {
            this(stack.bootstrapServers(), "read_committed", topic, decode, id);
        }

        Reader(String bootstrap, String isolation, String topic, Function<ConsumerRecord<byte[], byte[]>, V> decode,
               Function<V, String> id) {
            Map<String, Object> p = new HashMap<>();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            this.decode = decode;
            this.id = id;
        }

        /** One poll; returns the values it read. */
        public List<V> poll(Duration timeout) {
            List<V> got = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
                V v = decode.apply(r);
                got.add(v);
                all.add(v);
                counts.merge(id.apply(v), 1, Integer::sum);
            }
            return got;
        }

        /**
         * Polls until every id in {@code expected} has been seen or {@code timeout} passes.
         *
         * @return whether all were seen
         */
        public boolean awaitIds(Collection<String> expected, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!counts.keySet().containsAll(expected)) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                poll(Duration.ofMillis(200));
            }
            return true;
        }

        /** Polls until {@code n} distinct ids have been seen or {@code timeout} passes. */
        public boolean awaitDistinct(int n, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (counts.size() < n) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                poll(Duration.ofMillis(200));
            }
            return true;
        }

        /** Keeps polling for {@code d} (late duplicates would show up here). */
        public void drain(Duration d) {
            long deadline = System.nanoTime() + d.toNanos();
            while (System.nanoTime() < deadline) {
                poll(Duration.ofMillis(200));
            }
        }

        public List<V> all() {
            return all;
        }

        public Set<String> ids() {
            return counts.keySet();
        }

        /** Ids seen more than once, with their counts. */
        public Map<String, Integer> duplicates() {
            return counts.entrySet().stream().filter(e -> e.getValue() > 1)
                    .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, TreeMap::new));
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(5));
        }
    }
}
