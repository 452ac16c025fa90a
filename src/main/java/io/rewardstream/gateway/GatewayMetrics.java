package io.rewardstream.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's meters, one request at a time:
 * <ul>
 *   <li>{@value #REQUESTS} (counter), tags {@code endpoint} (the POST path, {@code other} for unknown paths),
 *       {@code outcome} ({@link #outcome}) and {@code status} (the HTTP status, {@code none} when no answer was sent);</li>
 *   <li>{@value #LATENCY} (timer, p50/p99), the same tags: from the request's arrival to its answer written.</li>
 * </ul>
 * {@code GET /health} is not counted. Thread-safe (Micrometer meters are).
 */
public final class GatewayMetrics {
    public static final String REQUESTS = "rewardstream.gateway.requests";
    public static final String LATENCY = "rewardstream.gateway.latency";
    /** The endpoint tag of a path that is not an endpoint (keeps the tag's values few). */
    public static final String OTHER_ENDPOINT = "other";

    private final MeterRegistry registry;
    private final Set<String> endpoints;

    /** @param endpoints the paths counted under their own name */
    public GatewayMetrics(MeterRegistry registry, Set<String> endpoints) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.endpoints = Set.copyOf(endpoints);
    }

    /**
     * What a status means for the client: {@code ok} (2xx), {@code unauthorized} (401), {@code rejected} (any other
     * 4xx: malformed, too large, wrong path or method), {@code unavailable} (503), {@code timeout} (504),
     * {@code error} (other 5xx: a bug), {@code aborted} (no answer sent: the connection failed).
     */
    public static String outcome(int status) {
        if (status >= 200 && status < 300) {
            return "ok";
        }
        return switch (status) {
            case 401 -> "unauthorized";
            case 503 -> "unavailable";
            case 504 -> "timeout";
            default -> status >= 400 && status < 500 ? "rejected" : status < 0 ? "aborted" : "error";
        };
    }

    /**
     * Counts one request and records its latency.
     *
     * @param status the HTTP status answered, negative when none was sent
     */
    public void record(String path, int status, long nanos) {
        String endpoint = endpoints.contains(path) ? path : OTHER_ENDPOINT;
        String outcome = outcome(status);
        String code = status < 0 ? "none" : Integer.toString(status);
        Counter.builder(REQUESTS).description("gateway requests answered, by endpoint and outcome")
                .tags("endpoint", endpoint, "outcome", outcome, "status", code).register(registry).increment();
        Timer.builder(LATENCY).description("gateway request arrival to answer written")
                .tags("endpoint", endpoint, "outcome", outcome, "status", code).publishPercentiles(0.5, 0.99)
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }
}
