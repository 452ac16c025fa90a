package io.rewardstream.it;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.scoring.TestModels;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.TopicProvisioner;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.streams.KafkaStreams;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * For tests of clients of the scorer (Python client, gateway): topics unique to the test on the shared stack and an
 * in-process scorer on them serving a real tiny TensorFlow SavedModel ({@link TestModels}: tokenizer ids over the
 * byte vocabulary, so byte token ids from text score), flushing every 50 ms. {@link #close()} stops the scorer.
 */
public final class RunningScorer implements AutoCloseable {
    private final LocalStack stack;
    private final Map<String, String> topics;
    private final ScorerApp app;

    private RunningScorer(LocalStack stack, Map<String, String> topics, ScorerApp app) {
        this.stack = stack;
        this.topics = topics;
        this.app = app;
    }

    /**
     * Creates the topics {@code <prefix>-<logical>} and starts a scorer on them; returns once it is RUNNING.
     *
     * @param overrides extra scorer keys (e.g. validation limits)
     */
    public static RunningScorer start(LocalStack stack, String test, Path workDir, Map<String, String> overrides)
            throws Exception {
        String prefix = test + "-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = new HashMap<>();
        for (String t : List.of(TopicProvisioner.ROLLOUTS, TopicProvisioner.REWARDS, TopicProvisioner.GROUP_ADVANTAGES,
                TopicProvisioner.DEAD_LETTERS)) {
            topics.put("topics." + t + ".name", prefix + "-" + t);
            topics.put("topics." + t + ".partitions", "2");
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
            TopicProvisioner.fromClasspath(topics).createAll(admin);
        }
        Files.createDirectories(workDir);
        Path model = TestModels.tinySavedModel(workDir.resolve("model-" + prefix), "tiny", 1, 11);
        Map<String, String> cfg = new HashMap<>(topics);
        cfg.put(ScorerConfig.APPLICATION_ID, prefix + "-scorer");
        cfg.put(ScorerConfig.BOOTSTRAP_SERVERS, stack.bootstrapServers());
        cfg.put(ScorerConfig.SCHEMA_REGISTRY_URL, stack.schemaRegistryUrl());
        cfg.put(ScorerConfig.METRICS_PORT, "-1");
        cfg.put("model.dir", model.toString());
        cfg.put("model.warmup", "false");
        cfg.put("state.dir", workDir.resolve("state-" + prefix).toString());
        cfg.put("batch.max.delay.ms", "50");
        cfg.put("commit.interval.ms", "100");
        cfg.put("group.timeout.ms", "5000");
        cfg.put("shutdown.timeout.ms", "20000");
        cfg.putAll(overrides);
        ScorerApp app = new ScorerApp(ScorerConfig.from(cfg), ReleaseHook.none(), null, null);
        RunningScorer rs = new RunningScorer(stack, topics, app);
        try {
            app.start();
            ScorerIt.await("scorer RUNNING", Duration.ofSeconds(120), () -> app.state() == KafkaStreams.State.RUNNING);
        } catch (Exception | Error e) {
            app.close();
            throw e;
        }
        return rs;
    }

    /** Actual topic name of a logical topic ({@link TopicProvisioner#ROLLOUTS}, ...). */
    public String topic(String logical) {
        return topics.get("topics." + logical + ".name");
    }

    /** The {@code topics.<logical>.name} keys (for a gateway config). */
    public Map<String, String> topicKeys() {
        Map<String, String> m = new HashMap<>();
        topics.forEach((k, v) -> {
            if (k.endsWith(".name")) {
                m.put(k, v);
            }
        });
        return m;
    }

    public LocalStack stack() {
        return stack;
    }

    @Override
    public void close() {
        app.close();
    }
}
