package io.rewardstream.cli.bench;

import io.micrometer.core.instrument.DistributionSummary;
import io.rewardstream.avro.Rollout;
import io.rewardstream.cli.demo.DemoStats;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.scoring.ConstantRewardModel;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.ScorerMetrics;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static io.rewardstream.cli.bench.BenchKafka.createTopics;
import static io.rewardstream.cli.bench.BenchKafka.inputProducer;
import static io.rewardstream.cli.bench.BenchKafka.serialize;

/**
 * One scorer-topology stage: a real {@link ScorerApp} (exactly_once_v2, the defaults of topology/scorer.properties
 * plus the stage's overrides) on fresh topics; a producer sends the rollouts open loop, a read_committed reader
 * counts the rewards. Stateless.
 */
final class TopologyRun {
    private TopologyRun() {
    }

    /** The null model: the manifest of {@code modelDir}, a constant score, no TensorFlow call. */
    static RewardModel nullModel(Path modelDir) throws Exception {
        return new ConstantRewardModel(io.rewardstream.scoring.ModelManifest.read(modelDir), 0.5f);
    }

    /** What one topology stage measured. */
    record Stage(double throughput, double seconds, double meanBatch, double padding, double p50, double p99,
                 double modelSeconds, Map<String, Double> threadSeconds, double recordsSent, long startMs,
                 long sentMs, long endMs) {
    }

    /**
     * Seconds the stream thread spent in each phase of its loop (Kafka Streams thread metrics: latency avg x total
     * count, so approximate): poll, process (incl. size-triggered flushes), punctuate (delay-triggered flushes),
     * commit (EOS: flush + transaction commit).
     */
    static Map<String, Double> threadSeconds(io.micrometer.core.instrument.MeterRegistry reg) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String phase : List.of("poll", "process", "punctuate", "commit")) {
            double avgMs = gauge(reg, "kafka.stream.thread." + phase + ".latency.avg");
            double total = gauge(reg, "kafka.stream.thread." + phase + ".total");
            out.put(phase, Double.isFinite(avgMs) && Double.isFinite(total) ? avgMs * total / 1000.0 : Double.NaN);
        }
        return out;
    }

    static double gauge(io.micrometer.core.instrument.MeterRegistry reg, String name) {
        double sum = 0;
        boolean any = false;
        for (io.micrometer.core.instrument.Meter m : reg.find(name).meters()) {
            for (io.micrometer.core.instrument.Measurement x : m.measure()) {
                if (Double.isFinite(x.getValue())) {
                    sum += x.getValue();
                    any = true;
                }
            }
        }
        return any ? sum : Double.NaN;
    }

    static Stage run(Map<String, Object> client, LocalStack stack, String prefix, List<Rollout> rollouts,
                     RewardModel initial, Map<String, String> overrides, Path modelDir, Path workDir) throws Exception {
        String in = prefix + "-rollouts";
        String out = prefix + "-rewards";
        createTopics(client, in, "6", out, "6", prefix + "-groups", "6", prefix + "-dlq", "1");
        Map<String, Object> p = new HashMap<>();
        p.put(ScorerConfig.APPLICATION_ID, "bench-" + prefix + "-" + UUID.randomUUID());
        p.put(ScorerConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
        p.put(ScorerConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
        p.put(ScorerConfig.TOPIC_ROLLOUTS, in);
        p.put(ScorerConfig.TOPIC_REWARDS, out);
        p.put(ScorerConfig.TOPIC_GROUP_ADVANTAGES, prefix + "-groups");
        p.put(ScorerConfig.TOPIC_DEAD_LETTERS, prefix + "-dlq");
        p.put(ScorerConfig.METRICS_PORT, "-1");
        p.put(ScorerConfig.SHUTDOWN_TIMEOUT_MS, "10000");
        p.put("state.dir", Files.createDirectories(workDir.resolve("state-" + prefix)).toString());
        p.put("model.dir", modelDir.toString());
        p.putAll(overrides);
        ScorerConfig cfg = ScorerConfig.from(p);
        // serialized before the scorer starts and the clock runs, as a trainer would (subject of the rollouts
        // topic, so the scorer's start-up reads its schema ahead), and as the passthroughs' bytes are: the
        // producer's Avro work would otherwise share the 2 cores with the topology in these stages only
        List<byte[]> bytes = serialize(client, rollouts, in);
        OutputReader reader = new OutputReader(client, out, rollouts.size(), true);
        try (ScorerApp app = new ScorerApp(cfg, ReleaseHook.none(), initial, null)) {
            app.start();
            long deadline = System.currentTimeMillis() + 120_000;
            while (!app.isReady()) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("scorer " + prefix + " not RUNNING after 120 s");
                }
                Thread.sleep(20);
            }
            reader.awaitAssigned();
            // latency runs from each send
            Map<String, Long> sentAtMs = new HashMap<>(rollouts.size() * 2);
            long t0;
            long sentMs;
            try (KafkaProducer<String, byte[]> prod = new KafkaProducer<>(inputProducer(client),
                    new StringSerializer(), new ByteArraySerializer())) {
                JitQuiet.await();
                t0 = System.currentTimeMillis();
                for (int i = 0; i < rollouts.size(); i++) {
                    Rollout r = rollouts.get(i);
                    sentAtMs.put(r.getRolloutId(), System.currentTimeMillis());
                    prod.send(new ProducerRecord<>(in, r.getGroupId(), bytes.get(i)));
                }
                prod.flush();
                sentMs = System.currentTimeMillis();
            }
            long last = reader.await(Duration.ofMinutes(10));
            double secs = (last - t0) / 1000.0;
            DistributionSummary bs = app.registry().find(ScorerMetrics.BATCH_SIZE).summary();
            DistributionSummary pe = app.registry().find(ScorerMetrics.BATCH_PADDING_EFFICIENCY).summary();
            double modelSecs = app.registry().find(ScorerMetrics.INFERENCE_TIME).timers().stream()
                    .mapToDouble(t -> t.totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) / 1e9).sum();
            double[] lat = reader.latencies(sentAtMs);
            // records the scorer wrote (rewards, advantages, dead letters, changelogs): its producers' own count
            double sent = gauge(app.registry(), "kafka.producer.record.send.total");
            return new Stage(rollouts.size() / secs, secs, bs == null ? Double.NaN : bs.mean(),
                    pe == null ? Double.NaN : pe.mean(), DemoStats.percentile(lat, 50), DemoStats.percentile(lat, 99),
                    modelSecs, threadSeconds(app.registry()), sent, t0, sentMs, last);
        } finally {
            reader.close();
            BenchKafka.deleteStageTopics(client, prefix);
        }
    }
}
