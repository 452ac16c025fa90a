package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouteConfigTest {

    @Test
    void shouldDefaultToTheModelForEveryTask() {
        RouteConfig c = RouteConfig.defaults();
        assertThat(c.trivial()).isTrue();
        assertThat(c.routeKey()).isEqualTo("task");
        assertThat(c.routeOf(Map.of("task", "math")).modelOnly()).isTrue();
    }

    @Test
    void shouldRouteByTheConfiguredMetadataKey() {
        RouteConfig c = RouteConfig.from(Map.of("scoring.route.key", "dataset",
                "scoring.routes.gsm8k.weights", "exact_answer=1, length=0.01",
                "scoring.routes.default.weights", "model=0.5,model.helpful=0.5"));
        assertThat(c.trivial()).isFalse();
        assertThat(c.routeOf(Map.of("dataset", "gsm8k")).sources()).containsExactly(
                new RouteConfig.Source("exact_answer", 1.0), new RouteConfig.Source("length", 0.01));
        assertThat(c.routeOf(Map.of("task", "gsm8k")).key()).isEqualTo("scoring.routes.default.weights");
        assertThat(c.defaultRoute().sources().get(1).head()).isEqualTo("helpful");
    }

    @Test
    void shouldNameTheKeyOfAnInvalidRoute() {
        for (Map.Entry<String, String> bad : List.of(
                Map.entry("scoring.routes.math.weights", "exact_answer"),
                Map.entry("scoring.routes.math.weights", "exact_answr=1"),
                Map.entry("scoring.routes.math.weights", "exact_answer=x"),
                Map.entry("scoring.routes.math.weights", "exact_answer=NaN"),
                Map.entry("scoring.routes.math.weights", "model=1,model=2"),
                Map.entry("scoring.routes.math.weights", ""),
                Map.entry("scoring.routes.math.weights", "model.=1"),
                Map.entry("scoring.routes.default.weights", "verifier=1"),
                Map.entry("scoring.routes.math.weight", "model=1"),
                Map.entry("scoring.routes.ma.th.weights", "model=1"))) {
            assertThatThrownBy(() -> RouteConfig.from(Map.of(bad.getKey(), bad.getValue())))
                    .as(bad.toString()).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(bad.getKey());
        }
    }

    @Test
    void shouldRequireTheFormatRegexWhenARouteUsesIt() {
        assertThatThrownBy(() -> RouteConfig.from(Map.of("scoring.routes.chat.weights", "format=1")))
                .hasMessageContaining("scoring.routes.chat.weights").hasMessageContaining("scoring.verifier.format.regex");
        assertThatThrownBy(() -> RouteConfig.from(Map.of("scoring.verifier.format.regex", "(")))
                .hasMessageStartingWith("scoring.verifier.format.regex");
        assertThatThrownBy(() -> RouteConfig.from(Map.of("scoring.verifier.length.max.tokens", "-1")))
                .hasMessageStartingWith("scoring.verifier.length.max.tokens");
    }

    @Test
    void shouldRefuseARouteNamingAHeadTheModelLacks() {
        ModelManifest m = new ModelManifest("two-heads", 1, 16, 0, 260, "ids", null,
                List.of(new ModelManifest.Head("helpful", 1), new ModelManifest.Head("harmless", 1)),
                null, null, null, null, 0, null);
        RouteConfig c = RouteConfig.from(Map.of("scoring.routes.chat.weights", "model.honest=1"));
        assertThatThrownBy(() -> new ScoreRouter(c, m)).hasMessageStartingWith("scoring.routes.chat.weights")
                .hasMessageContaining("no head 'honest'");
        new ScoreRouter(RouteConfig.from(Map.of("scoring.routes.chat.weights", "model.harmless=1")), m);
    }
}
