package io.rewardstream.cli.bench;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Kafka helpers the bench stages share: topics, the simulated trainer's producer, the Avro bytes and serde cost. */
final class BenchKafka {
    private BenchKafka() {
    }

    static List<byte[]> serialize(Map<String, Object> client, List<Rollout> rollouts) {
        return serialize(client, rollouts, "bench-bytes");
    }

    /** The rollouts as a trainer would write them to {@code topic} (its subject, its schema id). */
    static List<byte[]> serialize(Map<String, Object> client, List<Rollout> rollouts, String topic) {
        try (AvroSerializer<Rollout> ser = new AvroSerializer<>()) {
            ser.configure(client, false);
            List<byte[]> out = new ArrayList<>(rollouts.size());
            for (Rollout r : rollouts) {
                out.add(ser.serialize(topic, r));
            }
            return out;
        }
    }

    /** Microseconds per record for serialize + deserialize of a rollout and of a reward (schema ids cached). */
    static double serdeCost(Map<String, Object> client, List<Rollout> rollouts) {
        try (AvroSerializer<Rollout> rs = new AvroSerializer<>(); AvroDeserializer<Rollout> rd = new AvroDeserializer<>(
                Rollout.class); AvroSerializer<Reward> ws = new AvroSerializer<>();
             AvroDeserializer<Reward> wd = new AvroDeserializer<>(Reward.class)) {
            rs.configure(client, false);
            rd.configure(client, false);
            ws.configure(client, false);
            wd.configure(client, false);
            Reward proto = reward(rollouts.get(0));
            for (int i = 0; i < 2000; i++) {   // warm-up, registers the schemas
                rd.deserialize("bench-serde", rs.serialize("bench-serde", rollouts.get(i % rollouts.size())));
                wd.deserialize("bench-serde-r", ws.serialize("bench-serde-r", proto));
            }
            long t0 = System.nanoTime();
            for (Rollout r : rollouts) {
                rd.deserialize("bench-serde", rs.serialize("bench-serde", r));
                wd.deserialize("bench-serde-r", ws.serialize("bench-serde-r", proto));
            }
            return (System.nanoTime() - t0) / 1e3 / rollouts.size();
        }
    }

    static Reward reward(Rollout r) {
        List<Float> tr = new ArrayList<>();
        for (int i = 0; i < r.getResponseTokenIds().size(); i++) {
            tr.add(-0.001f);
        }
        return Reward.newBuilder().setRolloutId(r.getRolloutId()).setGroupId(r.getGroupId())
                .setPolicyVersion(r.getPolicyVersion()).setModelVersion("m:1").setScore(1).setShapedScore(1)
                .setKl(0.1).setKlCoef(0.05).setTokenRewards(tr).setReward(0.99).setRolloutCreatedAt(r.getCreatedAt())
                .setScoredAt(r.getCreatedAt()).build();
    }

    /**
     * Deletes a finished stage's topics: its own ({@code prefix-...}) and its Streams app's internal ones
     * ({@code bench-prefix-...}), so every stage starts on a broker holding the same topics. Without it, stages run
     * later were measured up to 2x slower than the same stage run first (the broker's work grew with the topics and
     * partitions earlier stages had left).
     */
    static void deleteStageTopics(Map<String, Object> client, String prefix) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                client.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)))) {
            List<String> doomed = admin.listTopics().names().get().stream()
                    .filter(t -> t.startsWith(prefix + "-") || t.startsWith("bench-" + prefix + "-")).toList();
            if (!doomed.isEmpty()) {
                admin.deleteTopics(doomed).all().get();
            }
        }
    }

    static void createTopics(Map<String, Object> client, String... topicsAndPartitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                client.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG)))) {
            List<NewTopic> ts = new ArrayList<>();
            for (int i = 0; i < topicsAndPartitions.length; i += 2) {
                ts.add(new NewTopic(topicsAndPartitions[i], Integer.parseInt(topicsAndPartitions[i + 1]), (short) 1));
            }
            admin.createTopics(ts).all().get();
        }
    }

    /**
     * The simulated trainer's producer: acks=1 without idempotence. (With the idempotent default this 2-core machine
     * once showed the broker refusing a producer's re-sent batches with OutOfOrderSequenceException for minutes.)
     */
    static Map<String, Object> inputProducer(Map<String, Object> client) {
        Map<String, Object> pp = new HashMap<>(client);
        pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
        pp.put(ProducerConfig.ACKS_CONFIG, "1");
        return pp;
    }

    /** A timed input burst (wall clock, ms): the first send, and the flush after the last (every record acked). */
    record Sent(long startMs, long doneMs) {
    }

    static Sent produceBytes(Map<String, Object> client, String topic, List<byte[]> bytes)
            throws InterruptedException {
        Map<String, Object> pp = inputProducer(client);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(pp, new StringSerializer(),
                new ByteArraySerializer())) {
            JitQuiet.await();
            long t0 = System.currentTimeMillis();
            int i = 0;
            for (byte[] b : bytes) {
                p.send(new ProducerRecord<>(topic, "g" + (i++ / 4), b));
            }
            p.flush();
            return new Sent(t0, System.currentTimeMillis());
        }
    }
}
