package io.rewardstream.cli;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.training.RetrainApp;
import io.rewardstream.training.RetrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code rewardstream retrain [--config FILE] [--bootstrap-servers H:P] [--schema-registry-url URL] [--set k=v]...
 * [--allow-unsigned] [--ready-file PATH]}: runs the retraining service ({@link RetrainApp}) until SIGTERM/SIGINT, which
 * abandons a round in progress (nothing committed) and exits 0.
 *
 * <p>Start-up checks (each fails with {@code error: ...} naming the key, exit code 2, before anything connects): the
 * replay directory and the model root exist or can be created in an existing parent (nothing is created further up);
 * the base model (needed while the model root holds no version of the model) has a manifest naming
 * {@code retrain.model.name}; the signing key is a readable file, or unsigned releases are explicitly allowed
 * ({@code --allow-unsigned} / {@code retrain.allow.unsigned=true}). An unreachable broker is not an error for this
 * long-running service: it keeps retrying and says every 15 s what it waits for (log line and /health/ready).
 */
@Command(name = "retrain", mixinStandardHelpOptions = true,
        description = {"Continuously fine-tunes the reward model on the preference topics and publishes signed releases.",
                "Configuration: topology/retrain.properties (built-in defaults) < --config FILE < flags < --set key=value.",
                "Checks every path, the model name and the signing key at start; logs one line per round phase "
                        + "('round N: training', ...) and, while Kafka does not answer, what it waits for."})
public final class RetrainCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RetrainCommand.class);
    static final String DEFAULTS_RESOURCE = "topology/retrain.properties";

    @Option(names = "--config", paramLabel = "FILE",
            description = "Properties file (see topology/retrain.properties; default: the built-in defaults).")
    Path config;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT", description = "Kafka bootstrap servers (sets bootstrap.servers).")
    String bootstrapServers;

    @Option(names = "--schema-registry-url", paramLabel = "URL", description = "Confluent-API registry URL (sets schema.registry.url).")
    String schemaRegistryUrl;

    @Option(names = "--allow-unsigned", description = "Publish UNSIGNED releases when no signing key is configured "
            + "(sets retrain.allow.unsigned=true; development only: scorers refuse them unless release.allow.unsigned=true).")
    boolean allowUnsigned;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override one key (repeatable).")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--ready-file", paramLabel = "PATH", description = "Written once partitions are assigned (deleted on exit).")
    Path readyFile;

    @Override
    public Integer call() throws Exception {
        Map<String, String> m = new LinkedHashMap<>(defaults());
        if (config != null) {
            CliPaths.requireFile(config, "--config");
            m.putAll(RetrainConfig.readProperties(config));
        }
        if (bootstrapServers != null) {
            m.put(RetrainConfig.BOOTSTRAP, bootstrapServers);
        }
        if (schemaRegistryUrl != null) {
            m.put(RetrainConfig.REGISTRY, schemaRegistryUrl);
        }
        if (allowUnsigned) {
            m.put(RetrainConfig.ALLOW_UNSIGNED, "true");
        }
        m.putAll(overrides);
        RetrainConfig cfg = RetrainConfig.from(io.rewardstream.schema.ConfigSecrets.resolve(m));
        checkStartup(cfg, m);
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

    /** The built-in defaults (the classpath copy of topology/retrain.properties). */
    static Map<String, String> defaults() throws IOException {
        Properties p = new Properties();
        try (InputStream in = RetrainCommand.class.getClassLoader().getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + DEFAULTS_RESOURCE + " is missing");
            }
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
        }
        Map<String, String> m = new LinkedHashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
        return m;
    }

    /**
     * Every path, the model name and the signing policy, before anything connects.
     *
     * @throws CliErrors.UsageException naming the key
     */
    static void checkStartup(RetrainConfig cfg, Map<String, String> raw) throws IOException {
        String allow = raw.getOrDefault(RetrainConfig.ALLOW_UNSIGNED, "false").trim();
        if (!allow.equals("true") && !allow.equals("false")) {
            throw new CliErrors.UsageException(RetrainConfig.ALLOW_UNSIGNED + " must be true or false, got '" + allow + "'");
        }
        directory(RetrainConfig.REPLAY_DIR, cfg.replayDir());
        directory(RetrainConfig.MODEL_ROOT, cfg.modelRoot());
        if (cfg.signingKey() != null) {
            if (!Files.isRegularFile(cfg.signingKey()) || !Files.isReadable(cfg.signingKey())) {
                throw new CliErrors.UsageException(RetrainConfig.SIGNING_KEY + "=" + cfg.signingKey()
                        + ": no readable key file there (looked for " + cfg.signingKey().toAbsolutePath().normalize()
                        + "; create one with: rewardstream keys generate --out DIR)");
            }
        } else if (!Boolean.parseBoolean(allow)) {
            throw new CliErrors.UsageException("no signing key: set " + RetrainConfig.SIGNING_KEY + " and "
                    + RetrainConfig.SIGNING_KEY_ID + " (rewardstream keys generate --out DIR), or allow UNSIGNED releases "
                    + "with --allow-unsigned (development only; scorers refuse them unless release.allow.unsigned=true)");
        } else {
            LOG.warn("no signing key and {}=true: releases will be UNSIGNED (scorers need release.allow.unsigned=true)",
                    RetrainConfig.ALLOW_UNSIGNED);
        }
        boolean installed = hasInstalledVersion(cfg.modelDir());
        Path base = cfg.baseModelDir();
        if (base == null || !Files.exists(base)) {
            if (!installed) {
                throw new CliErrors.UsageException(RetrainConfig.BASE_MODEL + "=" + base + ": "
                        + (base == null ? "not set" : "no such directory (looked for " + base.toAbsolutePath().normalize() + ")")
                        + ", and " + cfg.modelDir() + " holds no version of " + cfg.modelName()
                        + " to continue from: the first round needs a base model (e.g. rewardstream model train "
                        + "--task arithmetic --size tiny --out base-model)");
            }
            return;
        }
        ModelManifest mf;
        try {
            mf = ModelManifest.read(base);
        } catch (IOException | RuntimeException e) {
            throw new CliErrors.UsageException(RetrainConfig.BASE_MODEL + "=" + base + ": not a rewardstream model ("
                    + CliErrors.oneLine(e) + ")", e);
        }
        if (!cfg.modelName().equals(mf.name())) {
            throw new CliErrors.UsageException(RetrainConfig.MODEL_NAME + "=" + cfg.modelName() + " but the base model "
                    + base + " is named " + mf.name() + " (its rewardstream-model.json): set "
                    + RetrainConfig.MODEL_NAME + "=" + mf.name() + " or use a base model of that name");
        }
    }

    /** An existing directory, or one created now in an existing parent; never a chain of new directories. */
    private static void directory(String key, Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (Files.exists(dir)) {
            throw new CliErrors.UsageException(key + "=" + dir + ": exists and is not a directory");
        }
        Path parent = dir.toAbsolutePath().normalize().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new CliErrors.UsageException(key + "=" + dir + ": neither it nor its parent " + parent
                    + " exists; create it, or point " + key + " somewhere else (e.g. --set " + key + "=./"
                    + dir.getFileName() + ")");
        }
        Files.createDirectory(dir);
        LOG.info("created {} ({})", dir.toAbsolutePath().normalize(), key);
    }

    private static boolean hasInstalledVersion(Path modelDir) throws IOException {
        if (!Files.isDirectory(modelDir)) {
            return false;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(modelDir, "v[0-9]*")) {
            for (Path p : ds) {
                if (Files.isRegularFile(p.resolve("rewardstream-model.json"))) {
                    return true;
                }
            }
        }
        return false;
    }
}
