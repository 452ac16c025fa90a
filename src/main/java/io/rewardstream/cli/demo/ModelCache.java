package io.rewardstream.cli.demo;

import io.rewardstream.files.FileTrees;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.BuiltinModel;
import io.rewardstream.training.ModelConfig;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.TrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * The demo's built-in reward model, trained once on the arithmetic task and cached under
 * {@code <cacheRoot>/<size>-<hash>} where the hash covers the model, training and task configuration; a cached
 * directory whose files pass the manifest's digests is reused. Training writes to a temporary sibling and moves it
 * into place atomically, so an interrupted run never leaves a half-written cache entry. Stateless.
 */
public final class ModelCache {
    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    static final int TRAIN_PAIRS = 20_000;
    static final int EVAL_PAIRS = 1_000;

    private ModelCache() {
    }

    /** {@code ~/.cache/rewardstream/models}. */
    public static Path defaultRoot() {
        return Path.of(System.getProperty("user.home"), ".cache", "rewardstream", "models");
    }

    /** The task the base model learns: addition, default knobs. */
    public static ArithmeticTask task() {
        return new ArithmeticTask(ArithmeticTask.Config.defaults());
    }

    /** The demo's stories: which reward model v1 is and which drift the policy goes through. */
    public enum Scenario {
        /** v1 trained on length-biased labels (pays for filler); the policy drifts towards wrong answers in filler. */
        REWARD_HACKING("reward-hacking"),
        /** v1 trained on addition with the verbosity trap; the policy's task shifts to multiplication. */
        TASK_SHIFT("task-shift");

        public final String id;

        Scenario(String id) {
            this.id = id;
        }

        public static Scenario parse(String s) {
            for (Scenario x : values()) {
                if (x.id.equalsIgnoreCase(s.trim()) || x.name().equalsIgnoreCase(s.trim())) {
                    return x;
                }
            }
            throw new IllegalArgumentException("unknown scenario '" + s + "' (expected reward-hacking or task-shift)");
        }
    }

    /** Seed of the reward-hacking scenario's data. */
    static final long HACK_SEED = 7;

    /** The cache directory for a size (may not exist yet). */
    public static Path dirFor(Path root, ModelSize size) {
        return dirFor(root, size, Scenario.TASK_SHIFT, 1);
    }

    /** The cache directory for a size, scenario and built-in ensemble size (may not exist yet). */
    public static Path dirFor(Path root, ModelSize size, Scenario scenario, int ensemble) {
        String key = (scenario == Scenario.TASK_SHIFT ? "v1|" : "v2|" + scenario.id + "|" + HACK_SEED + "|"
                + String.join("|", HackScenario.FILLERS) + "|" + HackScenario.V1_PADDED_CHOSEN + "|")
                + ModelConfig.of(size).withEnsemble(ensemble) + "|" + TrainConfig.defaults(size).withProgress(false)
                + "|" + task().config() + "|" + TRAIN_PAIRS + "|" + EVAL_PAIRS;
        if (scenario == Scenario.TASK_SHIFT && ensemble == 1) {
            key = "v1|" + ModelConfig.of(size) + "|" + TrainConfig.defaults(size).withProgress(false) + "|"
                    + task().config() + "|" + TRAIN_PAIRS + "|" + EVAL_PAIRS;   // the pre-scenario cache key
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return root.resolve(size.id() + (scenario == Scenario.TASK_SHIFT ? "" : "-hack") + (ensemble > 1
                    ? "-e" + ensemble : "") + "-" + HexFormat.of().formatHex(h, 0, 6));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The cached model for {@code size}, training and exporting it first when absent or damaged.
     *
     * @param progress where training progress goes (null: quiet)
     * @return the model directory (SavedModel + manifest)
     * @throws IOException when the cache cannot be written
     */
    public static Path obtain(Path root, ModelSize size, PrintStream progress) throws IOException {
        return obtain(root, size, Scenario.TASK_SHIFT, 1, progress);
    }

    /**
     * The cached reward model v1 of {@code scenario} with a built-in ensemble of {@code ensemble} heads, training and
     * exporting it first when absent or damaged.
     */
    public static Path obtain(Path root, ModelSize size, Scenario scenario, int ensemble, PrintStream progress)
            throws IOException {
        Path dir = dirFor(root, size, scenario, ensemble);
        if (Files.isDirectory(dir)) {
            try {
                ModelLoader.verifyFiles(dir, true);
                if (progress != null) {
                    progress.println("demo: reusing the cached " + size.id() + " model " + dir);
                }
                return dir;
            } catch (RuntimeException e) {
                LOG.warn("cached model {} is unusable ({}); training it again", dir, e.getMessage());
                FileTrees.deleteTree(dir);
            }
        }
        Files.createDirectories(root);
        Path tmp = root.resolve(".tmp-" + dir.getFileName() + "-" + UUID.randomUUID());
        List<PreferenceExample> train;
        List<PreferenceExample> eval;
        if (scenario == Scenario.REWARD_HACKING) {
            HackScenario hack = new HackScenario(HACK_SEED);
            train = hack.v1Pairs(TRAIN_PAIRS);
            eval = new HackScenario(HACK_SEED + 1).v1Pairs(EVAL_PAIRS);
        } else {
            ArithmeticTask task = task();
            train = task.generate(TRAIN_PAIRS, ArithmeticTask.Part.TRAIN, true);
            eval = task.generate(EVAL_PAIRS, ArithmeticTask.Part.HELD_OUT, false);
        }
        TrainConfig tc = TrainConfig.defaults(size).withProgress(progress != null);
        if (progress != null) {
            progress.printf("demo: training the built-in %s reward model v1 (%s, ensemble of %d heads; %d steps; "
                    + "cached in %s)%n", size.id(), scenario == Scenario.REWARD_HACKING
                    ? "addition, labels biased towards padded answers" : "addition with the verbosity trap", ensemble,
                    tc.steps(), dir);
        }
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(size).withEnsemble(ensemble), tc)) {
            m.withLineage("task", scenario == Scenario.REWARD_HACKING
                    ? "arithmetic add, length-biased labels (rewardstream demo: reward hacking)"
                    : "arithmetic add (rewardstream demo)");
            m.train(train, eval);
            m.export(tmp, eval);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteTree(tmp);
            throw e;
        }
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            FileTrees.deleteTree(tmp);   // another run finished first: use its copy
        } catch (AtomicMoveNotSupportedException e) {
            FileTrees.deleteTree(tmp);
            throw new IOException("cannot move the trained model into " + dir + " atomically", e);
        }
        return dir;
    }

}
