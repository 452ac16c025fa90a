package io.rewardstream.training;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * The retraining job's consumer side: subscribes to the preference topics, validates each record (invalid ones go
 * to the dead-letter topic with the reason), appends the valid pairs to the {@link ReplayBuffer} with the next
 * offsets, and commits offsets when a round says so. Tracks what the group has trained up to and how many new pairs
 * the buffer holds beyond it.
 *
 * <p>Offsets: at assignment the consumer resumes after whatever the buffer already holds, or at the committed
 * offset, or at the offset the newest release covers ({@code releaseCovers}) when that is ahead of the commit (a crash
 * between publishing and committing), which is then committed straight away.
 *
 * <p>Not thread-safe: used by the job's loop thread only, except {@link #wakeup()}. Owns its consumer and
 * dead-letter producer; {@link #close()} releases them.
 */
final class PreferenceIngest implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PreferenceIngest.class);

    private final RetrainConfig cfg;
    private final ReplayBuffer buffer;
    private final Supplier<ReleaseCoverage> releaseCovers;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> deadLetters;
    private final AvroDeserializer<PreferencePair> pairValues;
    private final AvroDeserializer<RankedPreference> rankedValues;
    private final Counter validPairs;
    private final Counter deadLettered;
    private final Map<String, Long> trainedUpTo = new TreeMap<>();
    private int newPairs;

    /** The newest release at assignment: its name:version (for the log) and its eval metrics (offsets it covers). */
    record ReleaseCoverage(String release, Map<String, Double> evalMetrics) {
        static final ReleaseCoverage NONE = new ReleaseCoverage(null, Map.of());

        /** The offset the release covers for {@code topic:partition}, or null. */
        Long offset(String position) {
            Double v = evalMetrics.get(RecoveryPublisher.offsetKey(position));
            return v == null ? null : v.longValue();
        }
    }

    /**
     * @param clientProps   Kafka and registry client properties (bootstrap.servers, schema.registry.url, ...)
     * @param releaseCovers reads the newest release's covered offsets at each assignment
     */
    PreferenceIngest(RetrainConfig cfg, Map<String, Object> clientProps, ReplayBuffer buffer,
                     Supplier<ReleaseCoverage> releaseCovers, MeterRegistry meters) {
        this.cfg = cfg;
        this.buffer = buffer;
        this.releaseCovers = releaseCovers;
        Map<String, Object> cp = new HashMap<>(clientProps);
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, cfg.groupId());
        cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        cp.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.putIfAbsent(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, 3_600_000);   // a round does not poll
        cp.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "rewardstream-retrain");
        Map<String, Object> pp = new HashMap<>(clientProps);
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        pp.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "rewardstream-retrain-dlq");
        // one registry client (one HTTP client and selector thread, one schema cache) for both deserializers
        SchemaRegistryClient schemas = new SchemaRegistryClient(SchemaRegistryConfig.from(clientProps));
        pairValues = new AvroDeserializer<>(PreferencePair.class, schemas);
        pairValues.configure(clientProps, false);
        rankedValues = new AvroDeserializer<>(RankedPreference.class, schemas);
        rankedValues.configure(clientProps, false);
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        try {
            deadLetters = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        consumer = c;
        validPairs = Counter.builder("rewardstream.retrain.pairs").tag("result", "valid")
                .description("Preference pairs and rankings consumed").register(meters);
        deadLettered = Counter.builder("rewardstream.retrain.pairs").tag("result", "dead_lettered")
                .description("Preference pairs and rankings consumed").register(meters);
    }

    /** Subscribes to both preference topics (offsets are positioned at each assignment, see the class comment). */
    void subscribe() {
        consumer.subscribe(List.of(cfg.preferencesTopic(), cfg.rankedPreferencesTopic()), new Rebalance());
    }

    ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
        return consumer.poll(timeout);
    }

    boolean hasAssignment() {
        return !consumer.assignment().isEmpty();
    }

    /** Makes a blocking poll or commit throw {@code WakeupException}; safe from any thread. */
    void wakeup() {
        try {
            consumer.wakeup();
        } catch (RuntimeException e) {
            // already closed
        }
    }

    /** New pairs in the buffer beyond what the group has trained up to. */
    int newPairs() {
        return newPairs;
    }

    /** Committed offsets by {@code topic:partition} (what the group has trained up to); live view, do not modify. */
    Map<String, Long> trainedUpTo() {
        return trainedUpTo;
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // nothing: offsets are only committed at the end of a round
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(Set.copyOf(partitions));
            Map<String, Long> held = buffer.positions();
            ReleaseCoverage latest = releaseCovers.get();
            Map<TopicPartition, OffsetAndMetadata> catchUp = new HashMap<>();
            for (TopicPartition tp : partitions) {
                String key = tp.topic() + ":" + tp.partition();
                OffsetAndMetadata c = committed.get(tp);
                if (c != null) {
                    trainedUpTo.put(key, c.offset());
                }
                // A crash between publishing a release and committing leaves the release ahead of the group:
                // the release's lineage says those pairs are trained, so commit them now instead of retraining.
                Long rel = latest.offset(key);
                if (rel != null && (c == null || rel > c.offset())) {
                    trainedUpTo.put(key, rel);
                    catchUp.put(tp, new OffsetAndMetadata(rel));
                    c = catchUp.get(tp);
                }
                // resume after whatever the buffer already holds (or the release covers), else at the commit
                long from = Math.max(held.getOrDefault(key, -1L), c == null ? -1L : c.offset());
                if (from >= 0) {
                    consumer.seek(tp, from);
                }
            }
            if (!catchUp.isEmpty()) {
                LOG.info("release {} covers offsets beyond the committed ones (crash between publish and commit?); "
                        + "committing {}", latest.release(), catchUp);
                consumer.commitSync(catchUp);
            }
            newPairs = ReplayBuffer.partition(buffer.pairs(), trainedUpTo).fresh().size();
            LOG.info("assigned {}; committed (trained up to) {}; buffer holds up to {}; {} new pairs in the buffer",
                    partitions, trainedUpTo, held, newPairs);
        }
    }

    /**
     * Validates and buffers one poll's records; invalid ones are dead-lettered (flushed before the buffer records
     * their offsets as handled).
     *
     * @throws IOException when the replay buffer cannot be written
     */
    void ingest(ConsumerRecords<byte[], byte[]> records) throws IOException {
        List<StoredPair> valid = new ArrayList<>();
        Map<String, Long> next = new HashMap<>();
        Map<String, Long> held = buffer.positions();
        int dead = 0;
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            String pos = r.topic() + ":" + r.partition();
            next.merge(pos, r.offset() + 1, Math::max);
            Long h = held.get(pos);
            if (h != null && r.offset() < h) {
                continue;   // already in the buffer (re-delivered after a restart)
            }
            try {
                if (r.topic().equals(cfg.preferencesTopic())) {
                    PreferencePair p = decode(pairValues, r);
                    valid.add(PreferenceValidator.validate(p, r.topic(), r.partition(), r.offset()));
                } else {
                    RankedPreference p = decode(rankedValues, r);
                    valid.addAll(PreferenceValidator.validate(p, r.topic(), r.partition(), r.offset()));
                }
            } catch (InvalidPreferenceException e) {
                sent.add(deadLetter(r, e.reason(), e.getMessage(), e));
                dead++;
            } catch (RuntimeException e) {
                sent.add(deadLetter(r, DeadLetters.reasonOf(e, "DESERIALIZATION_FAILED"), e.getMessage(), e));
                dead++;
            }
        }
        if (dead > 0) {
            deadLetters.flush();   // durable before the buffer records that these offsets are handled
            awaitDeadLetters(sent);
            deadLettered.increment(dead);
        }
        buffer.append(valid, next);
        validPairs.increment(valid.size());
        newPairs += valid.size();
        LOG.debug("ingested {} records: {} pairs, {} dead letters; {} new pairs", records.count(), valid.size(), dead,
                newPairs);
    }

    private static <T extends org.apache.avro.generic.IndexedRecord> T decode(AvroDeserializer<T> d,
                                                                               ConsumerRecord<byte[], byte[]> r) {
        T v = d.deserialize(r.topic(), r.value());
        if (v == null) {
            throw new InvalidPreferenceException("NULL_VALUE", "record has no value (tombstone)");
        }
        return v;
    }

    private Future<RecordMetadata> deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, String detail,
                                              Throwable error) {
        LOG.warn("dead-lettering {}-{}@{}: {} {}", r.topic(), r.partition(), r.offset(), reason, detail);
        return deadLetters.send(DeadLetters.deadLetter(cfg.deadLettersTopic(), r.topic(), r.partition(), r.offset(),
                r.key(), r.value(), r.headers(), reason, detail, error));
    }

    /**
     * Fails the batch when a dead letter was not written (flush() does not throw for failed records): the buffer must
     * not record these offsets as handled, or the invalid records would be gone without a trace. They are read again.
     *
     * @throws IOException when a dead-letter send failed or was interrupted
     */
    private static void awaitDeadLetters(List<Future<RecordMetadata>> sent) throws IOException {
        for (var f : sent) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw new IOException("a dead letter was not written (" + e.getCause() + "); the batch is not recorded"
                        + " as handled and will be read again", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for dead letters", e);
            }
        }
    }

    /** Buffer positions of the partitions assigned now (the offsets a round trains up to). */
    Map<String, Long> assignedPositions() {
        Map<String, Long> held = buffer.positions();
        Map<String, Long> out = new TreeMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            Long h = held.get(tp.topic() + ":" + tp.partition());
            if (h != null) {
                out.put(tp.topic() + ":" + tp.partition(), h);
            }
        }
        return out;
    }

    /** The entries of {@code offsets} (by topic:partition) for partitions assigned now. */
    Map<String, Long> onlyAssigned(Map<String, Long> offsets) {
        Map<String, Long> out = new TreeMap<>();
        for (TopicPartition tp : consumer.assignment()) {
            Long v = offsets.get(tp.topic() + ":" + tp.partition());
            if (v != null) {
                out.put(tp.topic() + ":" + tp.partition(), v);
            }
        }
        return out;
    }

    /** Commits {@code offsets} (by topic:partition) synchronously and records them as trained. */
    void commit(int n, Map<String, Long> offsets) {
        if (offsets.isEmpty()) {
            LOG.info("round {}: nothing to commit", n);
            return;
        }
        LOG.info("round {}: committing {}", n, offsets);
        Map<TopicPartition, OffsetAndMetadata> c = new HashMap<>();
        offsets.forEach((k, v) -> {
            int i = k.lastIndexOf(':');
            c.put(new TopicPartition(k.substring(0, i), Integer.parseInt(k.substring(i + 1))), new OffsetAndMetadata(v));
        });
        consumer.commitSync(c);
        trainedUpTo.putAll(offsets);
        newPairs = ReplayBuffer.partition(buffer.pairs(), trainedUpTo).fresh().size();
        LOG.info("round {}: committed; {} new pairs remain", n, newPairs);
    }

    @Override
    public void close() {
        try {
            consumer.close(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            LOG.warn("closing consumer: {}", e.toString());
        }
        deadLetters.close(Duration.ofSeconds(10));
        pairValues.close();
        rankedValues.close();
    }
}
