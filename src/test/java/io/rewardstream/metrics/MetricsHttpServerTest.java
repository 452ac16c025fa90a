package io.rewardstream.metrics;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MetricsHttpServerTest {

    static HttpResponse<String> get(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldServeMetricsAndHealthChecksThatFollowTheirSuppliers() throws Exception {
        AtomicBoolean ready = new AtomicBoolean();
        try (MetricsHttpServer s = MetricsHttpServer.start("127.0.0.1", 0, () -> "my_metric_total 3.0\n",
                () -> MetricsHttpServer.Health.up("live"),
                () -> ready.get() ? MetricsHttpServer.Health.up("ready v1")
                        : MetricsHttpServer.Health.down("not ready: loading"))) {
            assertThat(s.port()).isPositive();
            assertThat(s.url()).isEqualTo("http://127.0.0.1:" + s.port());
            HttpResponse<String> m = get(s.url() + "/metrics");
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(m.body()).isEqualTo("my_metric_total 3.0\n");
            assertThat(m.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
            assertThat(get(s.url() + "/health/live").statusCode()).isEqualTo(200);
            HttpResponse<String> r = get(s.url() + "/health/ready");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.body()).isEqualTo("not ready: loading\n");
            ready.set(true);
            r = get(s.url() + "/health/ready");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("ready v1\n");
            assertThat(get(s.url() + "/nothing").statusCode()).isEqualTo(404);
        }
    }

    @Test
    void shouldAnswer503WhenACheckThrowsAnd500WhenTheScrapeFails() throws Exception {
        try (MetricsHttpServer s = MetricsHttpServer.start("127.0.0.1", 0, () -> {
            throw new IllegalStateException("registry closed");
        }, () -> {
            throw new IllegalStateException("boom");
        }, () -> MetricsHttpServer.Health.up("ready"))) {
            HttpResponse<String> live = get(s.url() + "/health/live");
            assertThat(live.statusCode()).isEqualTo(503);
            assertThat(live.body()).contains("boom");
            assertThat(get(s.url() + "/metrics").statusCode()).isEqualTo(500);
        }
    }

    @Test
    void shouldStopServingOnCloseAndRefuseABadPort() throws Exception {
        MetricsHttpServer s = MetricsHttpServer.start("127.0.0.1", 0, () -> "", () -> MetricsHttpServer.Health.up("l"),
                () -> MetricsHttpServer.Health.up("r"));
        String url = s.url();
        s.close();
        s.close();   // idempotent
        assertThatThrownBy(() -> get(url + "/health/live")).isInstanceOf(java.io.IOException.class);
        assertThatThrownBy(() -> MetricsHttpServer.start("127.0.0.1", -1, () -> "", () -> null, () -> null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
    }
}
