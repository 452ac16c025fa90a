package io.rewardstream.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, readyFile);
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
            if (readyFile != null) {
                Files.deleteIfExists(readyFile);
            }
            // plain stderr: on SIGTERM log4j's own shutdown hook may already have stopped logging
            System.err.println("retrain job closed after " + job.rounds() + " rounds; metrics: "
                    + meters.getMetersAsString().replace('\n', ';'));
            closed.countDown();
        }
        return 0;
    }
}
