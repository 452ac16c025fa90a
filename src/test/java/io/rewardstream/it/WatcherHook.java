package io.rewardstream.it;

import io.micrometer.core.instrument.MeterRegistry;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.release.ReleaseConfig;
import io.rewardstream.topology.release.ReleaseWatcher;

import java.util.Map;

/**
 * Test wiring of the release branch's {@link ReleaseWatcher} into {@link io.rewardstream.topology.ScorerApp} through
 * {@link ReleaseHook} ({@code ScoreCommand.releaseHook} does not wire it yet): {@link ReleaseConfig} from the scorer's
 * raw keys, the scorer's runtime config for loading, the app's holder and meter registry.
 */
final class WatcherHook implements ReleaseHook {
    private final Map<String, ?> clientProps;
    private volatile ReleaseWatcher watcher;

    WatcherHook(Map<String, ?> clientProps) {
        this.clientProps = clientProps;
    }

    @Override
    public AutoCloseable start(ScorerConfig config, ModelHolder holder, MeterRegistry registry) {
        ReleaseWatcher w = new ReleaseWatcher(ReleaseConfig.from(config.raw()), clientProps, holder, registry,
                config.runtime());
        w.start();
        watcher = w;
        return w;
    }

    ReleaseWatcher watcher() {
        return watcher;
    }
}
