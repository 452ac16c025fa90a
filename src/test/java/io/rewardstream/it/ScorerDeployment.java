package io.rewardstream.it;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.scoring.ReleaseTestModels;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test fixture of the process-level scorer ITs: one scorer deployment on the shared stack (unique topic names, its
 * data topics, a work directory, a tiny SavedModel, the base scorer config) and every scorer JVM the test makes,
 * stopped after each test. Register with {@code @RegisterExtension final ScorerDeployment scorers = new ScorerDeployment();}
 * and call {@link #deploy} in the test.
 */
final class ScorerDeployment implements AfterEachCallback {
    static final Duration READY = Duration.ofMinutes(3);

    private final List<ScorerProcess> processes = new ArrayList<>();
    ScorerIt.Names names;
    Path work;
    /** The scorer config every instance starts from (mutable: tests set their batching and knobs). */
    Map<String, String> config;

    /**
     * Creates the data topics ({@code partitions} each), the work directory and a tiny SavedModel
     * ({@code modelName} version 1, weights from {@code modelSeed}), and the base config with state under
     * {@code work/state}.
     */
    ScorerDeployment deploy(LocalStack stack, String prefix, int partitions, String modelName, long modelSeed)
            throws Exception {
        names = ScorerIt.Names.unique(prefix);
        ScorerTraffic.createTopics(stack, partitions, names.dataTopics());
        work = ScorerIt.workDir(names.prefix());
        Path model = ReleaseTestModels.tinySavedModel(work.resolve("models"), modelName, 1, modelSeed);
        config = ScorerIt.config(stack, names, model, work.resolve("state"));
        return this;
    }

    /** A scorer JVM (not started) with {@code cfg}, in {@code work/<name>}; stopped after the test. */
    ScorerProcess process(String name, Map<String, String> cfg) {
        ScorerProcess p = new ScorerProcess(name, work.resolve(name), cfg);
        processes.add(p);
        return p;
    }

    /**
     * Instances {@code a} and {@code b} of one application.id (the {@link #config}, each with its own state dir),
     * started and ready, each owning some of the {@code partitions} rollouts partitions.
     */
    List<ScorerProcess> startTwoInstances(LocalStack stack, int partitions) throws Exception {
        List<ScorerProcess> started = new ArrayList<>();
        for (String id : List.of("a", "b")) {
            Map<String, String> cfg = new HashMap<>(config);
            cfg.put("state.dir", work.resolve(id + "-state").toString());
            started.add(process("scorer-" + id, cfg).start());
        }
        for (ScorerProcess p : started) {
            p.awaitReady(READY);
        }
        ScorerIt.await("both instances to own rollouts partitions", Duration.ofSeconds(90), () -> {
            try {
                Map<String, Integer> as = ScorerIt.assignments(stack, names.appId(), names.rollouts());
                return as.size() == 2 && as.values().stream().allMatch(c -> c > 0)
                        && as.values().stream().mapToInt(Integer::intValue).sum() == partitions;
            } catch (Exception e) {
                return false;
            }
        });
        return started;
    }

    @Override
    public void afterEach(ExtensionContext context) throws InterruptedException {
        for (ScorerProcess p : processes) {
            p.close();
        }
    }
}
