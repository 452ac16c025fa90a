package io.rewardstream.release;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.schema.AvroDeserializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the compacted releases topic from the beginning (no consumer group, read_committed) and returns the
 * newest release of one model: the last record whose key and {@code model_name} match. Undecodable records
 * are logged and skipped. Owns a consumer: close it. Not thread-safe.
 */
public final class ReleaseLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseLog.class);
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroDeserializer<ModelRelease> values;
    private final String topic;
    private final Duration timeout;

    /** @param clientProps bootstrap, registry and security properties; group and deserializers are set here */
    public ReleaseLog(Map<String, ?> clientProps, String topic, Duration timeout) {
        Map<String, Object> p = new HashMap<>(clientProps);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);   // group-less reader
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "rewardstream-retrain-releases");
        this.consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.values = new AvroDeserializer<>(ModelRelease.class);
        this.values.configure(clientProps, false);
        this.topic = topic;
        this.timeout = timeout;
    }

    /**
     * The newest release of {@code modelName} in the order the scorers install them ({@link ReleaseWatcher}: log
     * order for one model's key), or null when there is none.
     *
     * @throws IllegalStateException when the end of the topic is not reached within the timeout
     */
    public ModelRelease latest(String modelName) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            return null;
        }
        List<TopicPartition> tps = new ArrayList<>();
        infos.forEach(i -> tps.add(new TopicPartition(i.topic(), i.partition())));
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        Map<TopicPartition, Long> end = consumer.endOffsets(tps, timeout);
        long deadline = System.nanoTime() + timeout.toNanos();
        List<ConsumerRecord<byte[], byte[]>> matching = new ArrayList<>();
        Map<ConsumerRecord<byte[], byte[]>, ModelRelease> decoded = new IdentityHashMap<>();
        while (!reached(end)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("could not read releases topic " + topic + " to its end within " + timeout);
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                if (r.value() == null) {
                    continue;   // tombstone
                }
                try {
                    ModelRelease m = values.deserialize(r.topic(), r.value());
                    if (modelName.equals(m.getModelName())) {
                        matching.add(r);
                        decoded.put(r, m);
                    }
                } catch (RuntimeException e) {
                    LOG.warn("skipping undecodable release record {}-{}@{}: {}", r.topic(), r.partition(), r.offset(),
                            e.getMessage());
                }
            }
        }
        // the scorers' order (log order for one model's key, whatever a publisher's clock said): a rollback published
        // from a lagging clock is the newest here too, so the next round does not train on top of what it undid
        ReleaseWatcher.newestFirst(matching);
        return matching.isEmpty() ? null : decoded.get(matching.get(0));
    }

    private boolean reached(Map<TopicPartition, Long> end) {
        for (var e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
        values.close();
    }
}
