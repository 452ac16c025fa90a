package io.rewardstream.cli.bench;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.topology.ScorerConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.rewardstream.cli.bench.BenchKafka.createTopics;
import static io.rewardstream.cli.bench.BenchKafka.produceBytes;
import static io.rewardstream.cli.bench.OutputReader.awaitTrue;

/**
 * The Kafka ceilings: the same Avro bytes moved by a plain consumer-to-producer loop, and by a Kafka Streams
 * source-to-sink app with exactly_once_v2 and the scorer's Streams defaults. Open loop, records/s. Stateless.
 */
final class Passthroughs {
    private Passthroughs() {
    }

    /**
     * A stage's rate (input records/s) and its timed window (wall clock, ms): first send ({@code startMs}), every
     * input acked ({@code sentMs}), last output read ({@code endMs}).
     */
    record Timed(double perSecond, long startMs, long sentMs, long endMs) {
    }

    /**
     * Records/s of a Kafka Streams application that only moves the bytes (source -> sink), exactly_once_v2, with the
     * scorer's Streams defaults (threads, commit interval, poll size): the floor any Streams app pays.
     */
    static Timed streamsPassthrough(Map<String, Object> client, LocalStack stack, String prefix, List<byte[]> bytes,
                                    Map<String, String> overrides, Path workDir) throws Exception {
        return streamsPassthrough(client, stack, prefix, bytes, overrides, workDir, 1);
    }

    /**
     * Like {@link #streamsPassthrough(Map, LocalStack, String, List, Map, Path)}, but every input record is written to
     * {@code sinks} output topics (1 or 2): with 2, the same number of output records per input as the scorer writes
     * per rollout (a reward and a group advantage), so the floor of a Streams app with the scorer's output contract.
     * Records/s are input records per second.
     */
    static Timed streamsPassthrough(Map<String, Object> client, LocalStack stack, String prefix, List<byte[]> bytes,
                                    Map<String, String> overrides, Path workDir, int sinks) throws Exception {
        if (sinks < 1 || sinks > 2) {
            throw new IllegalArgumentException("sinks must be 1 or 2, was " + sinks);
        }
        String in = prefix + "-in";
        List<String> outs = sinks == 2 ? List.of(prefix + "-out", prefix + "-out2") : List.of(prefix + "-out");
        List<String> topics = new java.util.ArrayList<>(List.of(in, "6"));
        outs.forEach(o -> topics.addAll(List.of(o, "6")));
        createTopics(client, topics.toArray(String[]::new));
        java.util.Properties p = new java.util.Properties();
        Map<String, Object> cfg = new HashMap<>(overrides);
        cfg.put(ScorerConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
        cfg.put(ScorerConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
        p.putAll(ScorerConfig.from(cfg).streamsProperties());
        p.put(ScorerConfig.APPLICATION_ID, "bench-" + prefix + "-" + UUID.randomUUID());
        p.put("state.dir", Files.createDirectories(workDir.resolve("state-" + prefix)).toString());
        org.apache.kafka.streams.Topology t = new org.apache.kafka.streams.Topology();
        t.addSource("bytes-source", new ByteArrayDeserializer(), new ByteArrayDeserializer(), in);
        List<OutputReader> readers = new java.util.ArrayList<>();
        for (int i = 0; i < outs.size(); i++) {
            t.addSink("bytes-sink-" + (i + 1), outs.get(i), new ByteArraySerializer(), new ByteArraySerializer(),
                    "bytes-source");
            readers.add(new OutputReader(client, outs.get(i), bytes.size(), false));
        }
        try (org.apache.kafka.streams.KafkaStreams streams = new org.apache.kafka.streams.KafkaStreams(t, p)) {
            streams.start();
            long deadline = System.currentTimeMillis() + 120_000;
            while (streams.state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("Streams passthrough not RUNNING after 120 s");
                }
                Thread.sleep(20);
            }
            for (OutputReader r : readers) {
                r.awaitAssigned();
            }
            BenchKafka.Sent sent = produceBytes(client, in, bytes);
            long t0 = sent.startMs();
            long last = 0;
            for (OutputReader r : readers) {
                last = Math.max(last, r.await(Duration.ofMinutes(5)));
            }
            return new Timed(bytes.size() / ((last - t0) / 1000.0), t0, sent.doneMs(), last);
        } finally {
            for (OutputReader r : readers) {
                r.close();
            }
            BenchKafka.deleteStageTopics(client, prefix);
        }
    }

    /** Records/s of a plain consumer -> producer loop moving the bytes from one topic to another (at least once). */
    static double passthrough(Map<String, Object> client, String prefix, List<byte[]> bytes) throws Exception {
        String in = prefix + "-in";
        String out = prefix + "-out";
        createTopics(client, in, "6", out, "6");
        int n = bytes.size();
        OutputReader reader = new OutputReader(client, out, n, false);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean assigned = new AtomicBoolean();
        Thread mover = new Thread(() -> {
            Map<String, Object> cp = new HashMap<>(client);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, "bench-pass-" + UUID.randomUUID());
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1000);
            Map<String, Object> pp = new HashMap<>(client);
            pp.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer());
                 KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp, new ByteArraySerializer(),
                         new ByteArraySerializer())) {
                c.subscribe(List.of(in));
                while (!stop.get()) {
                    ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(50));
                    if (!c.assignment().isEmpty()) {
                        assigned.set(true);
                    }
                    for (ConsumerRecord<byte[], byte[]> rec : recs) {
                        p.send(new ProducerRecord<>(out, rec.key(), rec.value()));
                    }
                    if (!recs.isEmpty()) {
                        p.flush();
                        c.commitAsync();
                    }
                }
            }
        }, "bench-passthrough");
        mover.start();
        awaitTrue(assigned, "the passthrough consumer's partition assignment");
        reader.awaitAssigned();
        long t0 = produceBytes(client, in, bytes).startMs();
        long last = reader.await(Duration.ofMinutes(5));
        stop.set(true);
        mover.join(30_000);
        reader.close();
        return n / ((last - t0) / 1000.0);
    }
}
