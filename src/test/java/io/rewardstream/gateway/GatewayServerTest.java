package io.rewardstream.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.dev.DevCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The HTTP layer with a fake endpoint (no Kafka): auth, routing, limits, error mapping, TLS. */
class GatewayServerTest {
    private static final String TOKEN = "unit-test-token-0123456789";

    private static GatewayConfig config(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>();
        m.put("bootstrap.servers", "127.0.0.1:1");
        m.put("schema.registry.url", "http://127.0.0.1:1");
        m.put("gateway.auth.token", TOKEN);
        m.put("gateway.port", "0");
        m.put("gateway.max.body.bytes", "2048");
        m.put("gateway.threads", "2");
        m.putAll(extra);
        return GatewayConfig.from(m);
    }

    /** Fake endpoint: echoes the query count, or throws what the body asks for. */
    private static final AtomicInteger CALLS = new AtomicInteger();

    private static Map<String, GatewayServer.Endpoint> fakeEndpoints() {
        return Map.of("/get_reward", body -> {
            CALLS.incrementAndGet();
            RewardRequest r = RewardRequest.parse(body, 4);
            if (r.queries().get(0).equals("slow")) {
                throw new GatewayException(504, "timed out after 1 ms");
            }
            if (r.queries().get(0).equals("bug")) {
                throw new IllegalStateException("a bug");
            }
            return Map.of("rewards", List.of(1.0), "n", r.size());
        });
    }

    private static HttpResponse<String> post(HttpClient c, String url, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldAnswer401WithoutTheTokenBeforeCallingTheEndpoint() throws Exception {
        try (GatewayServer s = GatewayServer.start(config(Map.of()), fakeEndpoints())) {
            HttpClient c = HttpClient.newHttpClient();
            int before = CALLS.get();
            HttpResponse<String> none = post(c, s.url() + "/get_reward", null, "{\"query\": [\"a\"]}");
            assertThat(none.statusCode()).isEqualTo(401);
            assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(none.body()).contains("bearer token");
            assertThat(post(c, s.url() + "/get_reward", "wrong-token-0123456789", "{}").statusCode()).isEqualTo(401);
            assertThat(post(c, s.url() + "/nothing", null, "{}").statusCode()).as("no path listing without the token")
                    .isEqualTo(401);
            assertThat(CALLS.get()).isEqualTo(before);
            HttpResponse<String> ok = post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"a\", \"b\"]}");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).contains("\"n\":2");
            assertThat(ok.headers().firstValue("Content-Type")).hasValue("application/json");
        }
    }

    @Test
    void shouldAcceptTheQueryTokenOnlyWhenEnabled() throws Exception {
        HttpClient c = HttpClient.newHttpClient();
        try (GatewayServer s = GatewayServer.start(config(Map.of()), fakeEndpoints())) {
            assertThat(post(c, s.url() + "/get_reward?access_token=" + TOKEN, null, "{\"query\": [\"a\"]}").statusCode())
                    .isEqualTo(401);
        }
        try (GatewayServer s = GatewayServer.start(config(Map.of("gateway.auth.query.token.enabled", "true")),
                fakeEndpoints())) {
            assertThat(post(c, s.url() + "/get_reward?access_token=" + TOKEN, null, "{\"query\": [\"a\"]}").statusCode())
                    .isEqualTo(200);
            assertThat(post(c, s.url() + "/get_reward?access_token=nope", null, "{\"query\": [\"a\"]}").statusCode())
                    .isEqualTo(401);
        }
    }

    @Test
    void shouldMapErrorsToStatusesWithAReason() throws Exception {
        try (GatewayServer s = GatewayServer.start(config(Map.of()), fakeEndpoints())) {
            HttpClient c = HttpClient.newHttpClient();
            HttpResponse<String> bad = post(c, s.url() + "/get_reward", TOKEN, "{\"query\": \"a\"}");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("\"query\\\" must be an array of strings").contains("\"status\":400");
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"slow\"]}").statusCode()).isEqualTo(504);
            HttpResponse<String> bug = post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"bug\"]}");
            assertThat(bug.statusCode()).isEqualTo(500);
            assertThat(bug.body()).doesNotContain("a bug");
            assertThat(post(c, s.url() + "/best_of_n", TOKEN, "{}").statusCode()).isEqualTo(404);
            HttpResponse<String> get = c.send(HttpRequest.newBuilder(URI.create(s.url() + "/get_reward"))
                    .header("Authorization", "Bearer " + TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(get.statusCode()).isEqualTo(405);
            assertThat(get.headers().firstValue("Allow")).hasValue("POST");
            String big = "{\"query\": [\"" + "x".repeat(3000) + "\"]}";
            HttpResponse<String> tooBig = post(c, s.url() + "/get_reward", TOKEN, big);
            assertThat(tooBig.statusCode()).isEqualTo(413);
            assertThat(tooBig.body()).contains("gateway.max.body.bytes");
            HttpResponse<String> health = c.send(HttpRequest.newBuilder(URI.create(s.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shouldCountRequestsByOutcomeAndServeThemLikeTheScorer() throws Exception {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        HttpClient c = HttpClient.newHttpClient();
        String metricsUrl;
        try (GatewayServer s = GatewayServer.start(config(Map.of("gateway.metrics.port", "0")), fakeEndpoints(),
                meters)) {
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"a\"]}").statusCode()).isEqualTo(200);
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"b\", \"c\"]}").statusCode()).isEqualTo(200);
            assertThat(post(c, s.url() + "/get_reward", null, "{}").statusCode()).isEqualTo(401);
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": \"a\"}").statusCode()).isEqualTo(400);
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"slow\"]}").statusCode()).isEqualTo(504);
            assertThat(post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"bug\"]}").statusCode()).isEqualTo(500);
            assertThat(post(c, s.url() + "/no/such/path/42", TOKEN, "{}").statusCode()).isEqualTo(404);
            c.send(HttpRequest.newBuilder(URI.create(s.url() + "/health")).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(requests(meters, "/get_reward", "ok", "200")).isEqualTo(2.0);
            assertThat(requests(meters, "/get_reward", "unauthorized", "401")).isEqualTo(1.0);
            assertThat(requests(meters, "/get_reward", "rejected", "400")).isEqualTo(1.0);
            assertThat(requests(meters, "/get_reward", "timeout", "504")).isEqualTo(1.0);
            assertThat(requests(meters, "/get_reward", "error", "500")).isEqualTo(1.0);
            assertThat(requests(meters, GatewayMetrics.OTHER_ENDPOINT, "rejected", "404"))
                    .as("unknown paths share one tag value").isEqualTo(1.0);
            assertThat(meters.find(GatewayMetrics.REQUESTS).counters().stream().mapToDouble(Counter::count).sum())
                    .as("GET /health is not counted").isEqualTo(7.0);
            Timer ok = meters.get(GatewayMetrics.LATENCY).tags("endpoint", "/get_reward", "outcome", "ok").timer();
            assertThat(ok.count()).isEqualTo(2);
            assertThat(ok.totalTime(TimeUnit.NANOSECONDS)).isPositive();

            metricsUrl = s.metricsUrl().orElseThrow();
            HttpResponse<String> scrape = c.send(HttpRequest.newBuilder(URI.create(metricsUrl + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(scrape.statusCode()).isEqualTo(200);
            assertThat(scrape.body())
                    .contains("rewardstream_gateway_requests_total{endpoint=\"/get_reward\",outcome=\"ok\",status=\"200\"} 2.0")
                    .contains("rewardstream_gateway_latency_seconds_count{endpoint=\"/get_reward\",outcome=\"timeout\",status=\"504\"} 1");
            assertThat(c.send(HttpRequest.newBuilder(URI.create(metricsUrl + "/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
        HttpClient after = HttpClient.newHttpClient();
        assertThatThrownBy(() -> after.send(HttpRequest.newBuilder(URI.create(metricsUrl + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())).as("closing the gateway closes its metrics server")
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void shouldNameOutcomesByStatus() {
        assertThat(GatewayMetrics.outcome(200)).isEqualTo("ok");
        assertThat(GatewayMetrics.outcome(401)).isEqualTo("unauthorized");
        assertThat(List.of(400, 404, 405, 413, 422)).allSatisfy(st -> assertThat(GatewayMetrics.outcome(st)).isEqualTo("rejected"));
        assertThat(GatewayMetrics.outcome(503)).isEqualTo("unavailable");
        assertThat(GatewayMetrics.outcome(504)).isEqualTo("timeout");
        assertThat(GatewayMetrics.outcome(500)).isEqualTo("error");
        assertThat(GatewayMetrics.outcome(-1)).isEqualTo("aborted");
    }

    private static double requests(PrometheusMeterRegistry meters, String endpoint, String outcome, String status) {
        Counter counter = meters.find(GatewayMetrics.REQUESTS).tags("endpoint", endpoint, "outcome", outcome,
                "status", status).counter();
        return counter == null ? 0.0 : counter.count();
    }

    @Test
    void shouldServeHttpsWithTheConfiguredKeyStore(@TempDir Path dir) throws Exception {
        DevCertificates certs = DevCertificates.generate(dir);
        GatewayConfig cfg = config(Map.of("gateway.tls.keystore.location", certs.keystore().toString(),
                "gateway.tls.keystore.password", certs.keystorePassword()));
        try (GatewayServer s = GatewayServer.start(cfg, fakeEndpoints())) {
            assertThat(s.url()).startsWith("https://127.0.0.1:");
            KeyStore trust = KeyStore.getInstance(certs.storeType());
            try (InputStream in = Files.newInputStream(certs.truststore())) {
                trust.load(in, certs.truststorePassword().toCharArray());
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            HttpClient c = HttpClient.newBuilder().sslContext(ctx).build();
            HttpResponse<String> ok = post(c, s.url() + "/get_reward", TOKEN, "{\"query\": [\"a\"]}");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(post(c, s.url() + "/get_reward", null, "{\"query\": [\"a\"]}").statusCode()).isEqualTo(401);
        }
    }
}
