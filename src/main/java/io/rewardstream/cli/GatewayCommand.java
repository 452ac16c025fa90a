package io.rewardstream.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.cli.bench.GatewayBench;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.gateway.GatewayConfig;
import io.rewardstream.gateway.GatewayServer;
import io.rewardstream.gateway.RewardGateway;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code rewardstream gateway}: OpenRLHF's remote reward-model protocol ({@code POST /get_reward}) in front of the
 * scorer's topics; see {@link RewardGateway}. {@code --bench} measures it instead ({@link GatewayBench}).
 */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = {"Serves OpenRLHF's remote reward-model protocol: POST /get_reward {\"query\": [...], "
                + "\"prompts\": [...], \"labels\": [...]} -> {\"rewards\": [...], \"scores\": [...], \"extra_logs\": {...}}.",
                "Each query becomes a rollout on the rollouts topic; the answer is assembled from the rewards the "
                        + "scorer writes (read back read_committed). Needs a running scorer on the same topics.",
                "Metrics: rewardstream.gateway.requests{endpoint,outcome,status} and rewardstream.gateway.latency "
                        + "on http://gateway.metrics.host:gateway.metrics.port/metrics (default 127.0.0.1:9466; -1 = off).",
                "Configuration: topology/gateway.properties (defaults) < --config FILE < flags < --set key=value.",
                "--bench: starts its own broker, registry, scorer and gateway and prints gateway p50/p99 next to the "
                        + "scorer's own latency."})
public final class GatewayCommand implements Callable<Integer> {

    @Option(names = "--config", description = "Gateway properties file (see topology/gateway.properties).")
    Path config;

    @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers (sets bootstrap.servers).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", description = "Confluent-API registry URL (sets schema.registry.url).")
    String schemaRegistryUrl;

    @Option(names = "--host", description = "Address to bind (sets gateway.host; default 127.0.0.1).")
    String host;

    @Option(names = "--port", description = "Port (sets gateway.port; 0 = ephemeral).")
    Integer port;

    @Option(names = "--token-file", description = "File holding the bearer token (sets gateway.auth.token=${file:F}).")
    Path tokenFile;

    @Option(names = "--set", description = "Overrides one key, e.g. --set gateway.request.timeout.ms=5000 (repeatable).")
    Map<String, String> sets = new LinkedHashMap<>();

    @Option(names = "--ready-file", description = "Writes 'READY <url>' to this file once serving.")
    Path readyFile;

    @Option(names = "--bench", description = "Measure instead of serve (embedded stack; see the description).")
    boolean bench;

    @Option(names = "--clients", defaultValue = "8", description = "--bench: concurrent clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--requests", defaultValue = "50", description = "--bench: requests per client (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--queries", defaultValue = "1", description = "--bench: queries per request (default: ${DEFAULT-VALUE}, as OpenRLHF's single-turn executor sends).")
    int queries;

    @Option(names = "--model", defaultValue = "tiny", description = "--bench: tiny | small | base (cached built-in model) or a model directory (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--scorer-set", description = "--bench: overrides one scorer key, e.g. --scorer-set batch.max.delay.ms=20 (repeatable).")
    Map<String, String> scorerSets = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (bench) {
            GatewayBench.Options o = new GatewayBench.Options(model, ModelCache.defaultRoot(), clients, requests,
                    queries, scorerSets);
            List<GatewayBench.Stage> stages;
            try (QuietLogs quiet = QuietLogs.apply()) {
                stages = new GatewayBench(o, System.err).run();
            }
            System.out.print(GatewayBench.table(stages, o));
            return 0;
        }
        Map<String, String> overrides = new LinkedHashMap<>();
        if (bootstrapServers != null) {
            overrides.put(GatewayConfig.BOOTSTRAP_SERVERS, bootstrapServers);
        }
        if (schemaRegistryUrl != null) {
            overrides.put(GatewayConfig.SCHEMA_REGISTRY_URL, schemaRegistryUrl);
        }
        if (host != null) {
            overrides.put(GatewayConfig.HOST, host);
        }
        if (port != null) {
            overrides.put(GatewayConfig.PORT, port.toString());
        }
        if (tokenFile != null) {
            overrides.put(GatewayConfig.TOKEN, "${file:" + tokenFile.toAbsolutePath() + "}");
        }
        overrides.putAll(sets);
        GatewayConfig cfg = GatewayConfig.load(config, overrides);
        RewardGateway gateway = new RewardGateway(cfg);
        GatewayServer server;
        try {
            gateway.start(Duration.ofSeconds(60));
            server = GatewayServer.start(cfg, GatewayServer.openRlhf(gateway),
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        } catch (Exception e) {
            gateway.close();
            throw e;
        }
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            try {
                gateway.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closed.countDown();
        }, "gateway-shutdown"));
        String line = "READY " + server.url() + "/get_reward rollouts=" + cfg.rolloutsTopic() + " rewards="
                + cfg.rewardsTopic() + " metrics=" + server.metricsUrl().map(u -> u + "/metrics").orElse("off");
        System.out.println(line);
        if (readyFile != null) {
            Files.writeString(readyFile, line + "\n", StandardCharsets.UTF_8);
        }
        closed.await();
        return 0;
    }
}
