package io.rewardstream.topology;

import io.rewardstream.release.ReleaseRefusedException;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A release this scorer's configuration cannot serve is refused before the swap ({@code CONFIG_MISMATCH}); it used
 * to be installed, and then every record failed building its pipeline and the stream threads crash-looped.
 */
class ReleaseWatcherHookTest {
    @TempDir
    static Path tmp;
    /** A real tiny SavedModel: max_seq_len 128, one head. */
    static Path model;

    @BeforeAll
    static void build() {
        model = TestModels.tinySavedModel(tmp.resolve("m"), "tiny", 2, 3);
    }

    private static ScorerConfig config(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of("application.id", "hook-test", "bootstrap.servers", "unused:9092",
                "schema.registry.url", "http://127.0.0.1:1/unused", "model.warmup", "false"));
        m.putAll(extra);
        return ScorerConfig.from(m);
    }

    @Test
    void shouldLoadAReleaseTheConfigurationCanServe() {
        try (RewardModel m = ReleaseWatcherHook.loader(config(Map.of())).apply(model)) {
            assertThat(m.modelVersion()).isEqualTo("tiny:2");
        }
    }

    @Test
    void shouldRefuseAReleaseLongerThanTheBatchTokenBudget() {
        assertThatThrownBy(() -> ReleaseWatcherHook.loader(config(Map.of("batch.max.tokens", "64"))).apply(model))
                .isInstanceOfSatisfying(ReleaseRefusedException.class, e ->
                        assertThat(e.reason()).isEqualTo(ReleaseRefusedException.Reason.CONFIG_MISMATCH))
                .hasMessageContaining("tiny:2").hasMessageContaining("batch.max.tokens");
    }

    @Test
    void shouldRefuseAReleaseWithoutAHeadARouteNames() {
        assertThatThrownBy(() -> ReleaseWatcherHook.loader(config(Map.of("scoring.routes.math.weights",
                "model.helpfulness=1"))).apply(model))
                .isInstanceOfSatisfying(ReleaseRefusedException.class, e ->
                        assertThat(e.reason()).isEqualTo(ReleaseRefusedException.Reason.CONFIG_MISMATCH))
                .hasMessageContaining("helpfulness");
    }

    @Test
    void shouldRefuseAReleaseWithoutStatsUnderStaticNormalization() {
        assertThatThrownBy(() -> ReleaseWatcherHook.loader(config(Map.of("scoring.normalization", "static")))
                .apply(model))
                .isInstanceOfSatisfying(ReleaseRefusedException.class, e ->
                        assertThat(e.reason()).isEqualTo(ReleaseRefusedException.Reason.CONFIG_MISMATCH));
    }
}
