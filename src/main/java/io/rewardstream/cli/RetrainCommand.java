package io.rewardstream.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.metrics.MetricsHttpServer;
import io.rewardstream.training.RetrainConfig;
import io.rewardstream.training.RetrainJob;
import io.rewardstream.training.SavedModelRoundTrainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code rewardstream retrain --config FILE [--set k=v]... [--ready-file PATH]}: runs the continuous retraining
 * job until SIGTERM/SIGINT, which abandons a round in progress (nothing committed) and exits 0.
 * Serves Prometheus {@code /metrics}, {@code /health/live} and {@code /health/ready} on {@code metrics.host:metrics.port}
 * (default 127.0.0.1:9465; 0 = ephemeral, -1 = off; the URL is logged as {@code metrics=http://...}).
 * Exit code 2 for a bad configuration.
 */
@Command(name = "retrain", mixinStandardHelpOptions = true,
        description = {"Continuously fine-tunes the reward model on the preference topics and publishes signed releases.",
                "Keys and defaults: topology/retrain.properties. Logs one line per round phase ('round N: training', ...)."})
public final class RetrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainCommand.class);

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "Properties file (see topology/retrain.properties).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one key (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--ready-file", paramLabel = "PATH", description = "Written once partitions are assigned (deleted on exit).")
    Path readyFile;

    @Override
    public Integer call() throws Exception {
        RetrainConfig cfg;
        try {
            cfg = RetrainConfig.load(config, overrides);
        } catch (IllegalArgumentException | java.io.IOException e) {
            System.err.println("retrain: bad configuration: " + e.getMessage());
            return 2;
        }
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // BERT-backbone releases fine-tune their head on cached features; every other model runs its train_step
        RetrainJob job = new RetrainJob(cfg, cfg.roundTrainer(new SavedModelRoundTrainer()), meters, readyFile);
        MetricsHttpServer http = null;
        if (cfg.metricsPort() >= 0) {
            try {
                http = startHttp(cfg, meters, job);
            } catch (java.io.IOException e) {
                job.close();
                meters.close();
                throw e;
            }
            LOG.info("retrain job metrics={} (/metrics, /health/live, /health/ready)", http.url());
        } else {
            LOG.info("retrain job metrics=off ({}=-1)", RetrainConfig.METRICS_PORT);
        }
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            LOG.info("signal received: stopping the retrain job");
            job.stop();
            try {
                closed.await(60, TimeUnit.SECONDS);   // let the main thread leave the group and close cleanly
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "retrain-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            job.run();
        } finally {
            job.close();
            if (http != null) {
                http.close();
            }
            if (readyFile != null) {
                Files.deleteIfExists(readyFile);
            }
            // plain stderr: on SIGTERM log4j's own shutdown hook may already have stopped logging
            System.err.println("retrain job closed after " + job.rounds() + " rounds; metrics: "
                    + summary(meters));
            meters.close();
            closed.countDown();
        }
        return 0;
    }

    /** The retrain job's HTTP endpoints: live while its loop runs, ready once it consumes its partitions. */
    static MetricsHttpServer startHttp(RetrainConfig cfg, PrometheusMeterRegistry meters, RetrainJob job)
            throws java.io.IOException {
        return MetricsHttpServer.start(cfg.metricsHost(), cfg.metricsPort(), meters::scrape,
                () -> job.isLive() ? MetricsHttpServer.Health.up("live (" + job.rounds() + " rounds)")
                        : MetricsHttpServer.Health.down("not live: the retrain loop has stopped"),
                () -> job.isReady() ? MetricsHttpServer.Health.up("ready")
                        : MetricsHttpServer.Health.down("not ready: partitions not assigned yet, or stopping"));
    }

    private static String summary(PrometheusMeterRegistry meters) {
        StringBuilder sb = new StringBuilder();
        meters.getMeters().forEach(m -> {
            if (m.getId().getName().startsWith("rewardstream.")) {
                m.measure().forEach(x -> sb.append(m.getId().getName()).append(m.getId().getTags()).append('=')
                        .append(x.getValue()).append(';'));
            }
        });
        return sb.toString();
    }
}
