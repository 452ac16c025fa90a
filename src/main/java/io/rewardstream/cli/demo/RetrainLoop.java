package io.rewardstream.cli.demo;

import io.micrometer.core.instrument.Counter;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.topology.TopicProvisioner;
import io.rewardstream.training.RetrainConfig;
import io.rewardstream.training.RetrainApp;
import io.rewardstream.training.SavedModelRoundTrainer;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The retraining service ({@link RetrainApp}) run in-process for the demo, metrics endpoint off: it consumes the preferences
 * topic, and once {@code minPairs} new pairs arrived fine-tunes the current model, gates the candidate on held-out
 * pairs and publishes a signed release to the model-releases topic, which the scorer's release watcher installs.
 * Owns the app; {@link #close()} stops it. Accessors are thread-safe.
 */
final class RetrainLoop implements AutoCloseable {
    private final RetrainApp app;
    private final int minPairs;

    /**
     * @param baseModel  the model serving before any release (read only)
     * @param modelRoot  the model root shared with the scorer
     * @param workDir    replay buffer directory parent
     * @param signingKey Ed25519 private key; its public half must be among the scorer's trusted keys as {@code keyId}
     */
    RetrainLoop(Map<String, Object> client, TopicProvisioner topics, Path baseModel, Path modelRoot, Path workDir,
                Path signingKey, String keyId, int minPairs, int steps, double learningRate, long seed)
            throws Exception {
        Map<String, Object> p = new HashMap<>();
        p.put(RetrainConfig.BOOTSTRAP, client.get("bootstrap.servers"));
        p.put(RetrainConfig.REGISTRY, client.get("schema.registry.url"));
        p.put(RetrainConfig.GROUP_ID, "rewardstream-demo-retrain-" + UUID.randomUUID());
        p.put(RetrainConfig.PREFERENCES, topics.topicName(TopicProvisioner.PREFERENCES));
        p.put(RetrainConfig.RANKED, topics.topicName(TopicProvisioner.RANKED_PREFERENCES));
        p.put(RetrainConfig.RELEASES, topics.topicName(TopicProvisioner.MODEL_RELEASES));
        p.put(RetrainConfig.DEAD_LETTERS, topics.topicName(TopicProvisioner.DEAD_LETTERS));
        p.put(RetrainConfig.MIN_NEW_PAIRS, Integer.toString(minPairs));
        p.put(RetrainConfig.MAX_INTERVAL, "3600000");
        p.put(RetrainConfig.STEPS, Integer.toString(steps));
        p.put(RetrainConfig.BATCH_SIZE, "32");
        p.put(RetrainConfig.LEARNING_RATE, Double.toString(learningRate));   // measured: see the README's Demo section
        p.put(RetrainConfig.REPLAY_DIR, workDir.resolve("replay").toString());
        p.put(RetrainConfig.REPLAY_MAX, "100000");
        p.put(RetrainConfig.REPLAY_MIX, "0");   // the first round has nothing older to replay
        p.put(RetrainConfig.HELDOUT, "0.1");
        p.put(RetrainConfig.TOLERANCE, "0.01");
        p.put(RetrainConfig.MODEL_ROOT, modelRoot.toString());
        p.put(RetrainConfig.MODEL_NAME, ModelManifest.read(baseModel).name());
        p.put(RetrainConfig.BASE_MODEL, baseModel.toString());
        p.put(RetrainConfig.SIGNING_KEY, signingKey.toString());
        p.put(RetrainConfig.SIGNING_KEY_ID, keyId);
        p.put(RetrainConfig.SEED, Long.toString(seed));
        this.minPairs = minPairs;
        p.put(RetrainConfig.METRICS_PORT, "-1");
        this.app = new RetrainApp(RetrainConfig.from(p), new SavedModelRoundTrainer(), null);
        app.start();
    }

    private double count(String name, String tag, String value) {
        Counter c = app.registry().find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    /** Rounds released so far. */
    int released() {
        return (int) count("rewardstream.retrain.rounds", "outcome", "released");
    }

    /** A failure of the job, or a round refused by the gate (the demo cannot show a release then). */
    Throwable failure() {
        if (app.failure().isPresent()) {
            return app.failure().get();
        }
        if (count("rewardstream.retrain.rounds", "outcome", "refused") > 0 && released() == 0) {
            return new IllegalStateException("the retraining round was refused by the held-out gate");
        }
        return null;
    }

    String status() {
        int pairs = (int) count("rewardstream.retrain.pairs", "result", "valid");
        if (released() > 0) {
            return "retraining released " + released() + " model(s)";
        }
        return pairs < minPairs ? "retraining: " + pairs + "/" + minPairs + " pairs and lists"
                : "retraining: fine-tuning on " + pairs + " pairs and lists";
    }

    @Override
    public void close() {
        app.close();
    }
}
