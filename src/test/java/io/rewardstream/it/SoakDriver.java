package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.ApicurioRegistry;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.scoring.ReleaseTestModels;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Helper processes for {@code ops/soak.sh} (NOT a CI test): a registry, a model, topics, a rate-limited rollout
 * producer and the final exact-count check. Run with the test and runtime class path:
 * <pre>
 *   java -cp target/test-classes:target/classes:$(cat target/classpath.txt) io.rewardstream.it.SoakDriver CMD ...
 * </pre>
 * Commands: {@code registry URL_FILE} (Apicurio until killed), {@code model DIR}, {@code topics BOOTSTRAP PREFIX
 * PARTITIONS}, {@code produce BOOTSTRAP REGISTRY TOPIC COUNT RATE PREFIX}, {@code verify BOOTSTRAP REGISTRY PREFIX
 * EXPECTED TIMEOUT_S} (exit 0 iff exactly EXPECTED distinct rewards, no duplicate, no dead letter).
 */
public final class SoakDriver {
    private SoakDriver() {
    }

    public static void main(String[] a) throws Exception {
        switch (a[0]) {
            case "registry" -> registry(Path.of(a[1]));
            case "model" -> System.out.println(ReleaseTestModels.tinySavedModel(Path.of(a[1]), "soak", 1, 5));
            case "topics" -> topics(a[1], a[2], Integer.parseInt(a[3]));
            case "produce" -> produce(a[1], a[2], a[3], Long.parseLong(a[4]), Integer.parseInt(a[5]), a[6]);
            case "verify" -> System.exit(verify(a[1], a[2], a[3], Long.parseLong(a[4]), Integer.parseInt(a[5])));
            default -> throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    private static void registry(Path urlFile) throws Exception {
        ApicurioRegistry r = ApicurioRegistry.start();
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            r.close();
            stop.countDown();
        }));
        Files.writeString(urlFile, r.confluentApiUrl());
        System.out.println("registry " + r.confluentApiUrl());
        stop.await();
    }

    private static void topics(String bootstrap, String prefix, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            List<NewTopic> t = new ArrayList<>();
            for (String s : List.of("rollouts", "rewards", "group-advantages", "dlq")) {
                t.add(new NewTopic(prefix + "-" + s, partitions, (short) 1));
            }
            try {
                admin.createTopics(t).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
        }
    }

    private static void produce(String bootstrap, String registry, String topic, long count, int rate, String prefix)
            throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000); // rides out a broker restart
        AvroSerializer<Rollout> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", registry), false);
        RolloutGenerator gen = new RolloutGenerator(42, prefix, 260, 128);
        AtomicLong failed = new AtomicLong();
        long t0 = System.nanoTime();
        long sent = 0;
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            while (sent < count) {
                for (Rollout r : gen.group(2)) {
                    if (sent >= count) {
                        break;
                    }
                    producer.send(new ProducerRecord<>(topic, r.getGroupId(), r), (md, e) -> {
                        if (e != null) {
                            failed.incrementAndGet();
                            System.err.println("send failed: " + e);
                        }
                    });
                    sent++;
                }
                long due = t0 + sent * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                if (sent % (rate * 10L) < 2) {
                    System.out.printf("produced %d/%d%n", sent, count);
                }
            }
            producer.flush();
        }
        System.out.printf("produced %d rollouts (%d failed sends) in %d s%n", sent, failed.get(),
                (System.nanoTime() - t0) / 1_000_000_000L);
        if (failed.get() > 0) {
            System.exit(2);
        }
    }

    private static int verify(String bootstrap, String registry, String prefix, long expected, int timeoutS) {
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(Map.of("schema.registry.url", registry), false);
        Map<String, Integer> counts = new HashMap<>();
        long total = 0;
        long dead = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutS).toNanos();
        try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap);
             KafkaConsumer<byte[], byte[]> dlq = consumer(bootstrap)) {
            c.subscribe(List.of(prefix + "-rewards"));
            dlq.subscribe(List.of(prefix + "-dlq"));
            long quietSince = System.nanoTime();
            while (System.nanoTime() < deadline) {
                int got = 0;
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    counts.merge(d.deserialize(r.topic(), r.value()).getRolloutId(), 1, Integer::sum);
                    total++;
                    got++;
                }
                for (ConsumerRecord<byte[], byte[]> r : dlq.poll(Duration.ofMillis(50))) {
                    dead++;
                    got++;
                    System.err.println("dead letter: " + (r.key() == null ? null
                            : new String(r.key(), StandardCharsets.UTF_8)));
                }
                if (got > 0) {
                    quietSince = System.nanoTime();
                }
                // all in, and 5 s without anything new (late duplicates would show up here)
                if (counts.size() >= expected && System.nanoTime() - quietSince > 5_000_000_000L) {
                    break;
                }
            }
        }
        long dups = counts.values().stream().filter(n -> n > 1).count();
        boolean ok = counts.size() == expected && dups == 0 && dead == 0 && total == expected;
        System.out.printf("verify: expected %d, rewards %d, distinct %d, duplicated ids %d, dead letters %d -> %s%n",
                expected, total, counts.size(), dups, dead, ok ? "EXACT" : "MISMATCH");
        return ok ? 0 : 1;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
        Map<String, Object> p = new HashMap<>();
        p.put("bootstrap.servers", bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "soak-verify-" + UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }
}
