package io.rewardstream.gateway;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Reads the rewards topic and the dead-letter topic ({@code isolation.level=read_committed}, every partition, from
 * their ends at start-up) on one thread and completes the future of each rollout a caller {@link #expect}s. Records of
 * groups nobody waits for are skipped without decoding (the key is the group id). Partitions added after start-up
 * are not read.
 *
 * <p>Thread-safe: {@link #expect} and {@link #forget} may be called from any thread. Owns its consumer; {@link #close()}
 * stops the thread and fails the futures still open.
 */
public final class RewardListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RewardListener.class);
    /** Back-off after a failed poll: doubles from this ... */
    static final long POLL_RETRY_MIN_MS = 100;
    /** ... up to this. */
    static final long POLL_RETRY_MAX_MS = 30_000;
    /** Back-off while the registry cannot decode a record: doubles from this ... */
    static final long DECODE_RETRY_MIN_MS = 50;
    /** ... up to this. */
    static final long DECODE_RETRY_MAX_MS = 5_000;

    private final GatewayConfig config;
    private final Map<String, CompletableFuture<RewardOutcome>> pending = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> pendingGroups = new ConcurrentHashMap<>();
    private final CountDownLatch positioned = new CountDownLatch(1);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroDeserializer<Reward> rewards;
    private final AvroDeserializer<Rollout> rollouts;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Exception failure;

    /**
     * Creates the consumer; {@link #start} assigns and positions it.
     *
     * @param schemas the registry client both deserializers use (shared with the caller; thread-safe)
     */
    public RewardListener(GatewayConfig config, SchemaRegistryClient schemas) {
        this.config = config;
        this.rewards = new AvroDeserializer<>(Reward.class, schemas);
        this.rollouts = new AvroDeserializer<>(Rollout.class, schemas);
        Map<String, Object> p = new HashMap<>(config.kafka());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);          // manual assignment: no group, no offsets
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "rewardstream-gateway-listener");
        p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 50);   // latency over batching: a request waits on it
        rewards.configure(config.serde(), false);
        rollouts.configure(config.serde(), false);
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        thread = new Thread(this::run, "gateway-reward-listener");
        thread.setDaemon(true);
    }

    /**
     * Assigns every partition of the rewards and dead-letter topics at their ends and waits until the positions are
     * resolved, so no reward of a rollout published afterwards can be missed.
     *
     * @throws IllegalStateException when the topics do not exist or the consumer fails within {@code timeout}
     */
    public void start(Duration timeout) throws InterruptedException {
        thread.start();
        if (!positioned.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            close();
            throw new IllegalStateException("reward listener not positioned on " + config.rewardsTopic() + " and "
                    + config.deadLettersTopic() + " within " + timeout);
        }
        if (failure != null) {
            throw new IllegalStateException("reward listener failed: " + failure.getMessage(), failure);
        }
    }

    /**
     * Registers rollouts of one group before they are published.
     *
     * @return one future per id, in order; completed with the reward or the dead letter, failed on {@link #close()}
     */
    public List<CompletableFuture<RewardOutcome>> expect(String groupId, List<String> rolloutIds) {
        pendingGroups.computeIfAbsent(groupId, g -> new AtomicInteger()).addAndGet(rolloutIds.size());
        List<CompletableFuture<RewardOutcome>> out = new ArrayList<>(rolloutIds.size());
        for (String id : rolloutIds) {
            CompletableFuture<RewardOutcome> f = new CompletableFuture<>();
            if (pending.putIfAbsent(id, f) != null) {
                throw new IllegalArgumentException("rollout " + id + " is already expected");
            }
            out.add(f);
        }
        if (!running) {
            forget(groupId, rolloutIds);
            throw new IllegalStateException("reward listener is closed");
        }
        return out;
    }

    /** Stops waiting for these rollouts (answered, timed out or failed). */
    public void forget(String groupId, List<String> rolloutIds) {
        rolloutIds.forEach(pending::remove);
        pendingGroups.computeIfPresent(groupId, (g, n) -> n.addAndGet(-rolloutIds.size()) <= 0 ? null : n);
    }

    /** Rollouts currently waited for (for tests and metrics). */
    public int pendingCount() {
        return pending.size();
    }

    private void run() {
        try {
            List<TopicPartition> parts = new ArrayList<>();
            for (String topic : List.of(config.rewardsTopic(), config.deadLettersTopic())) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " does not exist");
                }
                infos.forEach(i -> parts.add(new TopicPartition(i.topic(), i.partition())));
            }
            consumer.assign(parts);
            consumer.seekToEnd(parts);
            parts.forEach(tp -> consumer.position(tp, Duration.ofSeconds(30)));   // resolve now, not at first poll
            LOG.info("reward listener on {} partitions of {} and {}", parts.size(), config.rewardsTopic(),
                    config.deadLettersTopic());
        } catch (Exception e) {
            failure = e;
            running = false;
            positioned.countDown();
            consumer.close();
            return;
        }
        positioned.countDown();
        try {
            long backoffMs = POLL_RETRY_MIN_MS;
            while (running) {
                try {
                    pollOnce();
                    backoffMs = POLL_RETRY_MIN_MS;
                } catch (WakeupException | InterruptedException e) {
                    throw e;   // close()
                } catch (Exception e) {
                    // e.g. an ACL change or a broker error: keep listening (requests wait and time out with 504)
                    // instead of dying while the gateway keeps answering 500 for every request until a restart
                    LOG.error("reward listener: poll failed ({}); retrying in {} ms", e.toString(), backoffMs);
                    Thread.sleep(backoffMs);
                    backoffMs = Math.min(POLL_RETRY_MAX_MS, backoffMs * 2);
                }
            }
        } catch (WakeupException e) {
            // close()
        } catch (Exception e) {
            LOG.error("reward listener failed; open requests fail", e);
            failure = e;
        } finally {
            running = false;
            consumer.close(Duration.ofSeconds(5));
            IllegalStateException closed = new IllegalStateException("reward listener stopped"
                    + (failure == null ? "" : ": " + failure.getMessage()));
            pending.values().forEach(f -> f.completeExceptionally(closed));
        }
    }

    private void pollOnce() throws InterruptedException {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.key() == null || pendingGroups.isEmpty()) {
                continue;
            }
            String group = new String(r.key(), StandardCharsets.UTF_8);
            if (!pendingGroups.containsKey(group)) {
                continue;
            }
            if (r.topic().equals(config.rewardsTopic())) {
                onReward(r);
            } else {
                onDeadLetter(r);
            }
        }
    }

    /**
     * Decodes with {@code decode}, waiting out a schema-registry outage (retried with a doubling back-off up to 5 s
     * while {@code running}) instead of giving up: a reward dropped for an outage answered its request 504, and the
     * trainer's retry had the rollout scored twice. Matching waits meanwhile; nothing could be decoded anyway.
     *
     * @throws RuntimeException what {@code decode} throws for the record itself (e.g. a wire-format error)
     * @throws InterruptedException when interrupted while waiting
     */
    static <T> T decodeWaitingOutRegistry(Supplier<T> decode, BooleanSupplier running) throws InterruptedException {
        long backoffMs = DECODE_RETRY_MIN_MS;
        while (true) {
            try {
                return decode.get();
            } catch (SchemaRegistryException e) {
                if (!running.getAsBoolean()) {
                    throw e;
                }
                LOG.warn("schema registry unavailable while decoding ({}); retrying in {} ms", e.getMessage(),
                        backoffMs);
                Thread.sleep(backoffMs);
                backoffMs = Math.min(DECODE_RETRY_MAX_MS, backoffMs * 2);
            }
        }
    }

    private void onReward(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
        Reward reward;
        try {
            reward = decodeWaitingOutRegistry(() -> rewards.deserialize(r.topic(), r.value()), () -> running);
        } catch (RuntimeException e) {
            LOG.warn("skipping undecodable reward at {}-{}@{}: {}", r.topic(), r.partition(), r.offset(), e.getMessage());
            return;
        }
        CompletableFuture<RewardOutcome> f = pending.get(reward.getRolloutId());
        if (f != null) {
            f.complete(RewardOutcome.rewarded(reward));
        }
    }

    private void onDeadLetter(ConsumerRecord<byte[], byte[]> r) throws InterruptedException {
        String id;
        try {
            id = decodeWaitingOutRegistry(() -> rollouts.deserialize(config.rolloutsTopic(), r.value()),
                    () -> running).getRolloutId();
        } catch (RuntimeException e) {
            return;   // not a rollout of ours (the key matched by chance) or not decodable at all
        }
        CompletableFuture<RewardOutcome> f = pending.get(id);
        if (f != null) {
            f.complete(RewardOutcome.deadLettered(id, DeadLetters.header(r.headers(), DeadLetters.REASON),
                    DeadLetters.header(r.headers(), DeadLetters.DETAIL)));
        }
    }

    /** Stops the thread (waits up to 10 s) and fails every open future. Idempotent. */
    @Override
    public void close() throws InterruptedException {
        running = false;
        if (thread.getState() == Thread.State.NEW) {
            consumer.close(Duration.ZERO);
        } else {
            consumer.wakeup();
            thread.join(10_000);
        }
        rewards.close();
        rollouts.close();
    }
}
