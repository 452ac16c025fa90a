package io.rewardstream.it;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.topology.ReleaseWatcherHook;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A scorer configured with {@code model.root} but no {@code model.dir} serves only a verified release: with none on
 * the topic it refuses to start and says what to do. (The success path, starting on the newest release without
 * {@code model.dir}, is exercised by {@link FeedbackLoopIT}.)
 */
@ExtendWith(SharedLocalStack.class)
class ReleaseStartupIT {

    @Test
    void shouldRefuseToStartWithoutModelDirWhenNoReleaseExists(LocalStack stack, @TempDir Path work) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("startup");
        Map<String, String> cfg = ScorerIt.config(stack, n, null, work.resolve("state"));
        cfg.put("model.root", Files.createDirectories(work.resolve("models")).toString());
        cfg.put("release.topic", n.prefix() + "-no-such-releases");
        cfg.put("release.allow.unsigned", "true");
        cfg.put("metrics.port", "-1");
        ScorerConfig config = ScorerConfig.from(cfg);

        ScorerApp app = new ScorerApp(config, ReleaseWatcherHook.forConfig(config), null, null);
        try {
            assertThatThrownBy(app::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("model.dir is not set")
                    .hasMessageContaining(n.prefix() + "-no-such-releases")
                    .hasMessageContaining("publish a release");
        } finally {
            app.close();
        }
    }
}
