package io.rewardstream.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.metrics.MetricsHttpServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's HTTP(S) endpoint (JDK {@link HttpServer}; {@link HttpsServer} when a key store is configured), bound
 * to {@code gateway.host:gateway.port}. Every POST endpoint needs {@code Authorization: Bearer <token>} (or, when
 * {@code gateway.auth.query.token.enabled}, {@code ?access_token=<token>}; 401 otherwise, checked before the body is
 * read); {@code GET /health} answers without it. Errors are JSON
 * {@code {"error": reason, "status": code}}: 400/413/422 for the client's request, 401, 404, 405, 503/504 from the
 * pipeline, 500 for a bug.
 *
 * <p>Endpoints are a path-to-handler map, so more can be added next to {@code /get_reward} ({@link #openRlhf}).
 * Thread-safe; owns its worker threads, not the handlers' services.
 */
public final class GatewayServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    static {
        // JDK HttpServer leaves Nagle's algorithm on unless told otherwise: small JSON answers then wait for the
        // client's delayed ACK (tens of ms per request). Read once, when the server implementation is first loaded.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    /** One POST endpoint: the request body in, a JSON-serializable answer out (200). */
    @FunctionalInterface
    public interface Endpoint {
        /**
         * @throws GatewayException     an error answer with its status and reason
         * @throws InterruptedException when the server is shutting down
         */
        Object handle(byte[] body) throws InterruptedException;
    }

    private final HttpServer server;
    private final ExecutorService workers;
    private final boolean tls;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile MetricsHttpServer metricsHttp;

    private GatewayServer(HttpServer server, ExecutorService workers, boolean tls) {
        this.server = server;
        this.workers = workers;
        this.tls = tls;
    }

    /**
     * The gateway's endpoints: OpenRLHF's remote reward-model endpoint {@code POST /get_reward} and
     * {@code POST /best_of_n} ({@link BestOfN}).
     */
    public static Map<String, Endpoint> openRlhf(RewardGateway gateway) {
        Map<String, Endpoint> m = new LinkedHashMap<>();
        int max = gateway.config().maxQueries();
        m.put("/get_reward", body -> OpenRlhfResponse.of(gateway.score(RewardRequest.parse(body, max))));
        m.put("/best_of_n", body -> BestOfN.serve(gateway, body));
        return m;
    }

    /**
     * Binds and starts serving, with its meters kept in memory and not exposed (tests, benchmarks).
     *
     * @param endpoints POST endpoints by exact path
     * @throws IOException              when the address cannot be bound or the key store cannot be read
     * @throws GeneralSecurityException when the key store cannot be used for TLS
     */
    public static GatewayServer start(GatewayConfig config, Map<String, Endpoint> endpoints)
            throws IOException, GeneralSecurityException {
        return start(config, endpoints, new GatewayMetrics(new SimpleMeterRegistry(), endpoints.keySet()));
    }

    /**
     * Binds and starts serving, counting every request into {@code meters} ({@link GatewayMetrics}) and serving them
     * as the scorer does ({@link MetricsHttpServer}: {@code /metrics}, {@code /health/live}, {@code /health/ready})
     * on {@code gateway.metrics.host:gateway.metrics.port} unless that port is -1. The server closes the metrics
     * server; the registry stays the caller's.
     *
     * @throws IOException              when an address cannot be bound or the key store cannot be read
     * @throws GeneralSecurityException when the key store cannot be used for TLS
     */
    public static GatewayServer start(GatewayConfig config, Map<String, Endpoint> endpoints,
                                      PrometheusMeterRegistry meters) throws IOException, GeneralSecurityException {
        GatewayServer g = start(config, endpoints, new GatewayMetrics(meters, endpoints.keySet()));
        if (config.metricsPort() >= 0) {
            try {
                g.metricsHttp = MetricsHttpServer.start(config.metricsHost(), config.metricsPort(), meters::scrape,
                        () -> g.closed.get() ? MetricsHttpServer.Health.down("not live: gateway closed")
                                : MetricsHttpServer.Health.up("live"),
                        () -> g.closed.get() ? MetricsHttpServer.Health.down("not ready: gateway closed")
                                : MetricsHttpServer.Health.up("ready " + g.url()));
            } catch (IOException | RuntimeException e) {
                g.close();
                throw e;
            }
            LOG.info("gateway metrics on {}", g.metricsHttp.url());
        }
        return g;
    }

    private static GatewayServer start(GatewayConfig config, Map<String, Endpoint> endpoints, GatewayMetrics metrics)
            throws IOException, GeneralSecurityException {
        InetSocketAddress addr = new InetSocketAddress(config.host(), config.port());
        HttpServer s;
        if (config.tls()) {
            HttpsServer https = HttpsServer.create(addr, 128);
            https.setHttpsConfigurator(new HttpsConfigurator(sslContext(config)));
            s = https;
        } else {
            s = HttpServer.create(addr, 128);
        }
        AtomicInteger n = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(config.threads(), r -> {
            Thread t = new Thread(r, "gateway-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        s.setExecutor(workers);
        BearerAuth auth = new BearerAuth(config.token());
        Map<String, Endpoint> routes = Map.copyOf(endpoints);
        boolean queryToken = config.queryTokenAllowed();
        s.createContext("/", ex -> {
            long t0 = System.nanoTime();
            String path = ex.getRequestURI().getPath();
            dispatch(ex, routes, auth, queryToken, config.maxBodyBytes());
            if (!path.equals("/health")) {
                // getResponseCode: the status sent, -1 when the connection failed before an answer
                metrics.record(path, ex.getResponseCode(), System.nanoTime() - t0);
            }
        });
        s.start();
        GatewayServer g = new GatewayServer(s, workers, config.tls());
        LOG.info("gateway listening on {} (endpoints {})", g.url(), routes.keySet());
        return g;
    }

    private static SSLContext sslContext(GatewayConfig config) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance(config.keystoreType());
        char[] pw = config.keystorePassword().toCharArray();
        try (InputStream in = Files.newInputStream(config.keystore())) {
            ks.load(in, pw);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private static void dispatch(HttpExchange ex, Map<String, Endpoint> routes, BearerAuth auth, boolean queryToken,
                                 long maxBody) {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            if (path.equals("/health")) {
                send(ex, 200, Map.of("status", "ok"));
                return;
            }
            if (!auth.accepts(ex.getRequestHeaders().getFirst("Authorization"))
                    && !(queryToken && auth.acceptsQuery(ex.getRequestURI().getRawQuery()))) {
                ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"rewardstream\"");
                error(ex, 401, "missing or wrong bearer token (send \"Authorization: Bearer <token>\")");
                return;
            }
            Endpoint e = routes.get(path);
            if (e == null) {
                error(ex, 404, "no endpoint " + path + " (POST " + String.join(", POST ", routes.keySet()) + ")");
                return;
            }
            if (!method.equals("POST")) {
                ex.getResponseHeaders().add("Allow", "POST");
                error(ex, 405, path + " accepts POST only, got " + method);
                return;
            }
            byte[] body = readBody(ex, maxBody);
            if (body == null) {
                error(ex, 413, "request body larger than " + maxBody + " bytes (gateway.max.body.bytes)");
                return;
            }
            try {
                send(ex, 200, e.handle(body));
            } catch (GatewayException ge) {
                error(ex, ge.status(), ge.reason());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                error(ex, 503, "gateway is shutting down");
            } catch (RuntimeException re) {
                LOG.error("{} {} failed", method, path, re);
                error(ex, 500, "internal error: " + re.getClass().getSimpleName());
            }
        } catch (IOException io) {
            LOG.debug("client connection failed: {}", io.getMessage());
        }
    }

    /** The body, or null when it is longer than {@code max}. */
    private static byte[] readBody(HttpExchange ex, long max) throws IOException {
        String len = ex.getRequestHeaders().getFirst("Content-Length");
        if (len != null) {
            try {
                if (Long.parseLong(len.strip()) > max) {
                    return null;
                }
            } catch (NumberFormatException ignored) {
                // read it and count
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
            return b.length > max ? null : b;
        }
    }

    private static void error(HttpExchange ex, int status, String reason) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", reason);
        m.put("status", status);
        send(ex, status, m);
    }

    private static void send(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The bound port (the ephemeral one when configured with 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http(s)://host:port}. */
    public String url() {
        return (tls ? "https://" : "http://") + server.getAddress().getHostString() + ":" + port();
    }

    /** {@code http://host:port} of the metrics server, empty when it is off (or not started by this server). */
    public Optional<String> metricsUrl() {
        MetricsHttpServer m = metricsHttp;
        return m == null ? Optional.empty() : Optional.of(m.url());
    }

    /** Stops accepting, gives requests in flight up to 2 s, then stops the workers and the metrics server. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            MetricsHttpServer m = metricsHttp;
            if (m != null) {
                m.close();
            }
            server.stop(2);
            workers.shutdownNow();
            try {
                workers.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
