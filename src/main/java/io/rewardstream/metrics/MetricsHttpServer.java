package io.rewardstream.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The small HTTP server every rewardstream process exposes: {@code GET /metrics} (Prometheus text format from a
 * scrape supplier, e.g. {@code PrometheusMeterRegistry::scrape}), {@code /health/live} and {@code /health/ready}
 * (200 when the check says ok, else 503, with the check's message as the body). JDK {@link HttpServer} only, on
 * one dispatcher thread; checks and scrapes must be cheap and thread-safe.
 *
 * <p>Lifecycle: {@link #start} binds and serves; {@link #close()} stops at once (idempotent). Thread-safe.
 */
public final class MetricsHttpServer implements AutoCloseable {

    /** Result of a health check: {@code ok} maps to 200, otherwise 503; {@code message} is the response body. */
    public record Health(boolean ok, String message) {
        public Health {
            Objects.requireNonNull(message, "message");
        }

        public static Health up(String message) {
            return new Health(true, message);
        }

        public static Health down(String message) {
            return new Health(false, message);
        }
    }

    static final String PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final HttpServer server;
    private final String host;
    private final AtomicBoolean closed = new AtomicBoolean();

    private MetricsHttpServer(HttpServer server, String host) {
        this.server = server;
        this.host = host;
    }

    /**
     * Binds {@code host:port} (port 0 = ephemeral) and starts serving.
     *
     * @param scrape Prometheus text of every meter
     * @param live   liveness check (the process should be restarted when it is not ok)
     * @param ready  readiness check (the process does its job when ok)
     * @throws IOException when the address cannot be bound
     */
    public static MetricsHttpServer start(String host, int port, Supplier<String> scrape, Supplier<Health> live,
                                          Supplier<Health> ready) throws IOException {
        Objects.requireNonNull(scrape, "scrape");
        Objects.requireNonNull(live, "live");
        Objects.requireNonNull(ready, "ready");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        }
        HttpServer s = HttpServer.create(new InetSocketAddress(host, port), 16);
        s.createContext("/metrics", ex -> {
            String body;
            try {
                body = scrape.get();
            } catch (RuntimeException e) {
                respond(ex, 500, "text/plain", "scrape failed: " + e + "\n");
                return;
            }
            respond(ex, 200, PROMETHEUS_TYPE, body);
        });
        s.createContext("/health/live", ex -> health(ex, live));
        s.createContext("/health/ready", ex -> health(ex, ready));
        s.setExecutor(null);
        s.start();
        return new MetricsHttpServer(s, host);
    }

    private static void health(HttpExchange ex, Supplier<Health> check) throws IOException {
        Health h;
        try {
            h = check.get();
        } catch (RuntimeException e) {
            h = Health.down("check failed: " + e);
        }
        String body = h.message().endsWith("\n") ? h.message() : h.message() + "\n";
        respond(ex, h.ok() ? 200 : 503, "text/plain; charset=utf-8", body);
    }

    private static void respond(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        if ("HEAD".equals(ex.getRequestMethod())) {
            ex.sendResponseHeaders(status, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The bound port (the real one when started on port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://host:port}. */
    public String url() {
        return "http://" + host + ":" + port();
    }

    /** Stops serving at once. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
        }
    }
}
