package io.rewardstream.cli;

import io.rewardstream.training.RetrainApp;
import io.rewardstream.training.RetrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code rewardstream retrain --config FILE [--set k=v]... [--ready-file PATH]}: runs the retraining service
 * ({@link RetrainApp}) until SIGTERM/SIGINT, which abandons a round in progress (nothing committed) and exits 0.
 * Serves Prometheus {@code /metrics}, {@code /health/live} and {@code /health/ready} on {@code metrics.host:metrics.port}
 * (default 127.0.0.1:9465; 0 = ephemeral, -1 = off; the URL is logged as {@code metrics=http://...}).
 * Exit code 2 for a bad configuration.
 */
@Command(name = "retrain", mixinStandardHelpOptions = true,
        description = {"Continuously fine-tunes the reward model on the preference topics and publishes signed releases.",
                "Keys and defaults: topology/retrain.properties. Logs one line per round phase ('round N: training', ...)."})
public final class RetrainCommand implements Callable<Integer> {

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
        RetrainApp app = new RetrainApp(cfg, readyFile);
        CountDownLatch closed = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            app.close();   // stops the job and waits for its loop
            try {
                closed.await(60, TimeUnit.SECONDS);   // let the main thread print its summary
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "retrain-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            app.start();
            app.awaitTermination(Long.MAX_VALUE, TimeUnit.DAYS);
        } finally {
            app.close();
            // plain stderr: on SIGTERM log4j's own shutdown hook may already have stopped logging
            System.err.println("retrain job closed after " + app.rounds() + " rounds; metrics: " + app.meterSummary());
            closed.countDown();
        }
        if (app.failure().isPresent()) {
            Throwable t = app.failure().get();
            throw t instanceof Exception ex ? ex : new RuntimeException(t);
        }
        return 0;
    }
}
