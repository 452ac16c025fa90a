package io.rewardstream.schema;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks a Kafka cluster for its nodes within a bounded time, so that a command can say "cannot reach Kafka at
 * ADDRESS" instead of waiting on a client's internal retries. Stateless; thread-safe (each probe has its own Admin).
 */
public final class KafkaReachability {
    private KafkaReachability() {
    }

    /**
     * Probes the cluster.
     *
     * @param clientProperties client properties (bootstrap.servers and security settings; keys an Admin does not know
     *                         are dropped)
     * @param timeout          how long to wait at most
     * @return empty when the cluster answered within {@code timeout}; otherwise why not, naming the address
     */
    public static Optional<String> probe(Map<String, ?> clientProperties, Duration timeout) {
        Map<String, Object> p = new HashMap<>();
        clientProperties.forEach((k, v) -> {
            if (AdminClientConfig.configNames().contains(k)) {
                p.put(k, v);
            }
        });
        Object servers = p.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.toString().isBlank()) {
            return Optional.of("bootstrap.servers is not set");
        }
        int ms = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, Math.min(ms, 10_000));
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "rewardstream-probe");
        long t0 = System.nanoTime();
        try (Admin admin = Admin.create(p)) {
            try {
                admin.describeCluster().nodes().get(ms, TimeUnit.MILLISECONDS);
                return Optional.empty();
            } catch (TimeoutException e) {
                return Optional.of(unreachable(servers, t0));
            } catch (ExecutionException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                return Optional.of(c instanceof org.apache.kafka.common.errors.TimeoutException ? unreachable(servers, t0)
                        : "Kafka at " + servers + " refused the request: " + c.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of("interrupted while connecting to Kafka at " + servers);
            } finally {
                admin.close(Duration.ZERO);
            }
        } catch (org.apache.kafka.common.KafkaException e) {
            // e.g. an unresolvable host name or a bad security setting: Admin.create itself fails
            return Optional.of("cannot connect to Kafka at " + servers + ": "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        }
    }

    private static String unreachable(Object servers, long t0) {
        return "cannot reach Kafka at " + servers + " (no answer within "
                + Math.round((System.nanoTime() - t0) / 1e9) + " s)";
    }
}
