package io.rewardstream.gateway;

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
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

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
