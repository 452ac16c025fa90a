package io.rewardstream.cli.bench;

import io.rewardstream.avro.Reward;
import io.rewardstream.schema.AvroDeserializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Reads an output topic (read_committed) until n records arrived; records latencies of rewards. */
final class OutputReader implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroDeserializer<Reward> rewards;
    private final Thread thread;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong lastMs = new AtomicLong();
    private final List<Double> latencies = new ArrayList<>();
    private final int n;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private final AtomicBoolean assigned = new AtomicBoolean();

    OutputReader(Map<String, Object> client, String topic, int n, boolean parseRewards) {
        this.n = n;
        Map<String, Object> cp = new HashMap<>(client);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-reader-" + UUID.randomUUID());
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        if (parseRewards) {
            rewards = new AvroDeserializer<>(Reward.class);
            rewards.configure(client, false);
        } else {
            rewards = null;
        }
        thread = new Thread(() -> {
            try {
                while (running) {
                    ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(20));
                    if (!consumer.assignment().isEmpty()) {
                        assigned.set(true);
                    }
                    long now = System.currentTimeMillis();
                    for (ConsumerRecord<byte[], byte[]> r : recs) {
                        if (rewards != null) {
                            Reward w = rewards.deserialize(topic, r.value());
                            synchronized (latencies) {
                                latencies.add((double) (now - w.getRolloutCreatedAt().toEpochMilli()));
                            }
                        }
                    }
                    if (!recs.isEmpty()) {
                        lastMs.set(now);
                        count.addAndGet(recs.count());
                    }
                }
            } catch (org.apache.kafka.common.errors.WakeupException e) {
                // closing
            } catch (Throwable t) {
                failure = t;
            }
        }, "bench-reader-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    /** Waits for all n records; returns the wall-clock ms when the last one was read. */
    long await(Duration timeout) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeout.toMillis();
        while (count.get() < n) {
            if (failure != null) {
                throw new IllegalStateException("reader failed: " + failure, failure);
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("only " + count.get() + "/" + n + " records arrived in "
                        + timeout.toSeconds() + " s");
            }
            Thread.sleep(5);
        }
        return lastMs.get();
    }

    void awaitAssigned() throws InterruptedException {
        awaitTrue(assigned, "the output reader's partition assignment");
    }

    double[] latencies() {
        synchronized (latencies) {
            return latencies.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        consumer.wakeup();
        thread.join(10_000);
        consumer.close();
        if (rewards != null) {
            rewards.close();
        }
    }

    static void awaitTrue(AtomicBoolean flag, String what) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!flag.get()) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("no " + what + " after 60 s");
            }
            Thread.sleep(10);
        }
    }
}
