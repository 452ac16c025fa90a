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

/**
 * Reads an output topic (read_committed) until n records arrived. With {@code keepRewards} it keeps each reward's
 * bytes and read time and decodes them only after the run ({@link #latencies}), so the timed window holds the same
 * reader work (counting records) for every stage.
 */
final class OutputReader implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroDeserializer<Reward> rewards;
    private final Thread thread;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong lastMs = new AtomicLong();
    private final List<byte[]> kept = new ArrayList<>();
    private final List<Long> keptAtMs = new ArrayList<>();
    private final String topic;
    private final int n;
    private volatile boolean running = true;
    private volatile Throwable failure;
    private final AtomicBoolean assigned = new AtomicBoolean();

    OutputReader(Map<String, Object> client, String topic, int n, boolean keepRewards) {
        this.n = n;
        this.topic = topic;
        Map<String, Object> cp = new HashMap<>(client);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-reader-" + UUID.randomUUID());
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        if (keepRewards) {
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
                    if (rewards != null) {
                        synchronized (kept) {
                            for (ConsumerRecord<byte[], byte[]> r : recs) {
                                kept.add(r.value());
                                keptAtMs.add(now);
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

    /**
     * Milliseconds from each reward's rollout being sent to the reward being read, decoded now (after the run).
     *
     * @param sentAtMs when each rollout id was handed to the producer
     */
    double[] latencies(Map<String, Long> sentAtMs) {
        synchronized (kept) {
            double[] out = new double[kept.size()];
            int k = 0;
            for (int i = 0; i < kept.size(); i++) {
                Long sent = sentAtMs.get(rewards.deserialize(topic, kept.get(i)).getRolloutId());
                if (sent != null) {
                    out[k++] = keptAtMs.get(i) - sent;
                }
            }
            return java.util.Arrays.copyOf(out, k);
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
