package io.rewardstream.topology;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.RewardModel;

import java.util.Optional;

/**
 * Where the model-release machinery (the {@code release} package's ReleaseWatcher) plugs into {@link ScorerApp}.
 * The integrator wires it, e.g. {@code new ScorerApp(config, new ReleaseWatcherHook(...))}.
 *
 * <p>Call order in {@link ScorerApp#start()}: {@link #initialModel} (the app then falls back to {@code model.dir}),
 * the holder is created, {@link #start} (before KafkaStreams starts). {@link ScorerApp#close()} closes the returned
 * handle FIRST (no swap after that), then KafkaStreams, then the holder.
 */
public interface ReleaseHook {

    /**
     * The model to start serving, e.g. the newest verified release on the compacted releases topic. Ownership passes
     * to the app (its holder closes it).
     *
     * @return empty to load {@code model.dir} instead
     * @throws Exception when a release exists but cannot be loaded (the app does not start)
     */
    default Optional<RewardModel> initialModel(ScorerConfig config) throws Exception {
        return Optional.empty();
    }

    /**
     * Whether the app starts with an EMPTY holder when neither {@link #initialModel} nor {@code model.dir} gives a
     * model: this hook installs the first model in {@link #start} (and fails there when it cannot).
     */
    default boolean installsFirstModel(ScorerConfig config) {
        return false;
    }

    /**
     * Starts watching for releases; swaps {@code holder} (off the stream threads) when one is accepted and increments
     * {@code rewardstream.releases.refused} on the registry when one is refused.
     *
     * @param config   the scorer config; {@link ScorerConfig#raw()} holds every key (e.g. {@code release.*})
     * @param holder   the app's holder; never close it
     * @param registry the app's meter registry
     * @return a handle the app closes at shutdown (before the holder)
     */
    AutoCloseable start(ScorerConfig config, ModelHolder holder, MeterRegistry registry) throws Exception;

    /** No release handling: the model from {@code model.dir} serves until shutdown. */
    static ReleaseHook none() {
        return (config, holder, registry) -> () -> { };
    }
}
