package io.rewardstream.topology;

import io.rewardstream.release.ReleaseWatcher;
import io.rewardstream.release.ReleaseConfig;
import io.rewardstream.release.ReleaseRefusedException;
import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerConfig;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Plugs a {@link ReleaseWatcher} into the scorer: when {@code model.root} is configured, the scorer follows the
 * compacted model-release topic (verify, load off the stream threads, swap). Without {@code model.root} the scorer
 * serves {@code model.dir} until shutdown.
 *
 * <p>Start-up with {@code model.root}: the newest valid release is installed before KafkaStreams starts, so no record
 * is scored by anything older. With {@code model.dir} set, that model serves if no newer valid release exists; without
 * it, the app holds a placeholder (never scores: KafkaStreams starts after this hook) until the release is installed,
 * and start-up fails with a clear message when the topic holds no valid release.
 *
 * <p>The release topic is {@code release.topic}, else {@code topics.model-releases.name} (the key the topic
 * provisioning uses), else {@code model-releases}.
 */
public final class ReleaseWatcherHook implements ReleaseHook {

    private final ReleaseConfig releaseConfig;

    private ReleaseWatcherHook(ReleaseConfig releaseConfig) {
        this.releaseConfig = releaseConfig;
    }

    /**
     * The hook for a scorer configuration: a watcher when {@code model.root} is set, else {@link ReleaseHook#none()}.
     *
     * @throws IllegalArgumentException when a {@code release.*} key is invalid (names the key)
     */
    public static ReleaseHook forConfig(ScorerConfig config) {
        Map<String, String> raw = config.raw();
        if (raw.get(ReleaseConfig.MODEL_ROOT) == null || raw.get(ReleaseConfig.MODEL_ROOT).isBlank()) {
            return ReleaseHook.none();
        }
        Map<String, Object> props = new HashMap<>(raw);
        if (!props.containsKey(ReleaseConfig.TOPIC) && raw.containsKey("topics.model-releases.name")) {
            props.put(ReleaseConfig.TOPIC, raw.get("topics.model-releases.name"));
        }
        return new ReleaseWatcherHook(ReleaseConfig.from(props));
    }

    public ReleaseConfig releaseConfig() {
        return releaseConfig;
    }

    /** Without {@code model.dir} the holder starts empty and the newest valid release is the first model. */
    @Override
    public boolean installsFirstModel(ScorerConfig config) {
        return config.runtime().modelDir() == null;
    }

    @Override
    public AutoCloseable start(ScorerConfig config, ModelHolder holder, MeterRegistry registry) {
        ReleaseWatcher watcher = new ReleaseWatcher(releaseConfig, clientProps(config), holder, registry,
                loader(config));
        watcher.start();
        if (holder.isEmpty()) {
            watcher.close();
            throw new IllegalStateException(RuntimeConfig.MODEL_DIR + " is not set and topic "
                    + releaseConfig.topic() + " holds no valid release"
                    + (releaseConfig.modelName() == null ? "" : " of " + releaseConfig.modelName())
                    + ": set " + RuntimeConfig.MODEL_DIR + " or publish a release");
        }
        return watcher;
    }

    /**
     * How a scorer loads a release: warmed up at its own batch shapes ({@code batch.*}), and refused
     * ({@code CONFIG_MISMATCH}, counted in {@code rewardstream.releases.refused}; the serving model stays) when its
     * configuration cannot serve the model, which a swap would otherwise install and every flush then fail on.
     * The returned model is the caller's.
     */
    public static Function<Path, RewardModel> loader(ScorerConfig config) {
        return dir -> {
            RewardModel model = ModelLoader.load(dir, config.runtime(), config.batching());
            try {
                PipelineCache.checkFits(config, model);
            } catch (IllegalArgumentException e) {
                model.close();
                throw new ReleaseRefusedException(ReleaseRefusedException.Reason.CONFIG_MISMATCH, "model "
                        + model.modelVersion() + " from " + dir + " does not fit this scorer's configuration: "
                        + e.getMessage(), e);
            }
            return model;
        };
    }

    /** Consumer + registry properties for the watcher: connection and security keys only, no Streams keys. */
    static Map<String, Object> clientProps(ScorerConfig config) {
        Map<String, Object> props = new HashMap<>(config.serdeProperties());
        config.streamsProperties().forEach((k, v) -> {
            if (k.equals(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG)
                    || k.equals(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG)
                    || k.startsWith("ssl.") || k.startsWith("sasl.")
                    || SslConfigs.SSL_ENDPOINT_IDENTIFICATION_ALGORITHM_CONFIG.equals(k)
                    || SaslConfigs.SASL_JAAS_CONFIG.equals(k)) {
                props.put(k, v);
            }
        });
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        return props;
    }
}
