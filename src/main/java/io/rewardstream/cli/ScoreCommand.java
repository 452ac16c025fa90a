package io.rewardstream.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.ScorerTopology;
import io.rewardstream.topology.ReleaseWatcherHook;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code rewardstream score}: runs the streaming scorer until interrupted (SIGINT/SIGTERM close it cleanly: the
 * stream threads leave the group, then the model is freed), or prints the topology with {@code --describe}.
 */
@Command(name = "score",
        mixinStandardHelpOptions = true,
        description = {"Runs the streaming scorer: rollouts in, KL-penalized rewards and group advantages out.",
                "Configuration: topology/scorer.properties (defaults) < --config FILE < flags < --set key=value."})
public final class ScoreCommand implements Callable<Integer> {

    @Option(names = "--config", required = true, description = "Scorer properties file (see topology/scorer.properties).")
    Path config;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers (sets bootstrap.servers).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", description = "Confluent-API registry URL (sets schema.registry.url).")
    String schemaRegistryUrl;

    @Option(names = "--model-dir", description = "Reward-model directory to serve at start (sets model.dir).")
    Path modelDir;

    @Option(names = "--set", description = "Overrides one key, e.g. --set batch.max.size=32 (repeatable).")
    Map<String, String> sets = new LinkedHashMap<>();

    @Option(names = "--describe", description = "Prints the topology description and exits.")
    boolean describe;

    @Option(names = "--ready-file", description = "Writes one line to this file once the scorer is RUNNING.")
    Path readyFile;

    @Override
    public Integer call() throws Exception {
        Map<String, String> overrides = new LinkedHashMap<>();
        if (bootstrapServers != null) {
            overrides.put(ScorerConfig.BOOTSTRAP_SERVERS, bootstrapServers);
        }
        if (schemaRegistryUrl != null) {
            overrides.put(ScorerConfig.SCHEMA_REGISTRY_URL, schemaRegistryUrl);
        }
        if (modelDir != null) {
            overrides.put(RuntimeConfig.MODEL_DIR, modelDir.toString());
        }
        overrides.putAll(sets);
        ScorerConfig cfg = ScorerConfig.load(config, overrides);
        if (describe) {
            // Building the topology calls no model: an empty holder is enough to describe it.
            try (ModelHolder empty = new ModelHolder()) {
                System.out.println(ScorerTopology.build(cfg, empty, new SimpleMeterRegistry()).describe());
            }
            return 0;
        }
        ScorerApp app = new ScorerApp(cfg, releaseHook(cfg), null, readyFile);
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            app.close();
            closed.countDown();
        }, "scorer-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        app.start();
        while (!closed.await(1, TimeUnit.SECONDS)) {
            KafkaStreams.State st = app.state();
            if (st == KafkaStreams.State.ERROR || st == KafkaStreams.State.NOT_RUNNING) {
                System.err.println("scorer stopped: KafkaStreams " + st);
                Runtime.getRuntime().removeShutdownHook(hook);
                app.close();
                return 1;
            }
        }
        return 0;
    }

    /** Release handling for the running scorer; the integrator returns the ReleaseWatcher hook here. */
    /** Follows model releases when {@code model.root} is configured; otherwise serves {@code model.dir}. */
    static ReleaseHook releaseHook(ScorerConfig cfg) {
        return ReleaseWatcherHook.forConfig(cfg);
    }
}
