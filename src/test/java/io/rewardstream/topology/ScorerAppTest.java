package io.rewardstream.topology;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The app shell without a broker: HTTP endpoints, readiness, ownership of the model on close. */
class ScorerAppTest {

    @Test
    void shouldServeHealthAndMetricsAndCloseTheModelLast(@TempDir Path dir) throws Exception {
        FakeRewardModel model = new FakeRewardModel("fake", 5, 64, 1000);
        ScorerConfig config = ScorerConfig.from(Map.of("application.id", "app-test", "bootstrap.servers",
                "127.0.0.1:1", "schema.registry.url", "http://127.0.0.1:1", "metrics.port", "0",
                "state.dir", dir.resolve("state").toString(), "shutdown.timeout.ms", "5000"));
        Path ready = dir.resolve("ready");
        HttpClient http = HttpClient.newHttpClient();
        ScorerApp app = new ScorerApp(config, ReleaseHook.none(), model, ready);
        try {
            app.start();
            String base = app.metricsUrl().orElseThrow();
            assertThat(base).startsWith("http://127.0.0.1:");
            assertThat(get(http, base + "/health/live").statusCode()).isEqualTo(200);
            HttpResponse<String> readiness = get(http, base + "/health/ready");
            assertThat(readiness.statusCode()).isEqualTo(503); // no broker: never RUNNING
            assertThat(readiness.body()).contains("model loaded");
            assertThat(get(http, base + "/metrics").body()).contains("rewardstream_model_version 5.0");
            assertThat(Files.exists(ready)).isFalse();
            assertThat(model.closed).isFalse();
        } finally {
            app.close();
        }
        assertThat(model.closed).isTrue();
        assertThat(app.isLive()).isFalse();
    }

    @Test
    void shouldRefuseToStartWithAModelTheBatchingLimitsCannotServe(@TempDir Path dir) {
        FakeRewardModel model = new FakeRewardModel("fake", 1, 512, 1000);
        ScorerConfig config = ScorerConfig.from(Map.of("application.id", "app-test2", "bootstrap.servers",
                "127.0.0.1:1", "schema.registry.url", "http://127.0.0.1:1", "metrics.port", "-1",
                "batch.max.tokens", "256", "state.dir", dir.toString()));
        ScorerApp app = new ScorerApp(config, ReleaseHook.none(), model, null);
        org.assertj.core.api.Assertions.assertThatThrownBy(app::start).hasMessageContaining("batch.max.tokens");
        assertThat(model.closed).isTrue();
        app.close();
    }

    @Test
    void shouldNotStartAfterItWasClosedAndLeaveNothingOpen(@TempDir Path dir) {
        // a shutdown hook that ran before start (or during it, then start waits) must not be outlived by a start
        FakeRewardModel model = new FakeRewardModel("fake", 1, 128, 1000);
        ScorerConfig config = ScorerConfig.from(Map.of("application.id", "app-test3", "bootstrap.servers",
                "127.0.0.1:1", "schema.registry.url", "http://127.0.0.1:1", "metrics.port", "0",
                "state.dir", dir.toString()));
        ScorerApp app = new ScorerApp(config, ReleaseHook.none(), model, null);
        app.close();
        org.assertj.core.api.Assertions.assertThatThrownBy(app::start).hasMessageContaining("closed");
        assertThat(app.metricsUrl()).as("no HTTP server started").isEmpty();
        assertThat(model.closed).as("the given model is the app's, closed with it").isTrue();
    }

    private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
