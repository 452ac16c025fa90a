package io.rewardstream.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.cli.demo.DemoRunner;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.training.ModelSize;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code rewardstream demo}: the whole system on this machine with a simulated policy; see {@link DemoRunner}. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run everything locally with no setup: an embedded Kafka broker and schema registry, the "
                + "built-in reward model (trained once on arithmetic and cached), the scorer, a retraining loop, and "
                + "a simulated policy streaming rollouts. Default story (--scenario reward-hacking): reward model v1 "
                + "pays for filler text, the policy drifts towards wrong answers wrapped in filler, verified pairs and "
                + "ranked lists expose the flaw, the retraining job releases v2 and the scorer hot-swaps to it: the "
                + "exploit stops paying. --scenario task-shift: the task shifts from addition to multiplication.",
                "Prints a summary (stdout; --json for one JSON object) and writes plots + index.html to --out. "
                        + "Progress goes to stderr."})
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--rollouts", defaultValue = "5000", description = "Rollouts to stream (default: ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--json", description = "Print the summary as one JSON object.")
    boolean json;

    @Option(names = "--size", defaultValue = "small", description = "Built-in model size: tiny | small | base (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--out", defaultValue = "target/demo", description = "Directory for plots, index.html, summary.json and the run's state (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--cache-dir", description = "Model cache (default: ~/.cache/rewardstream/models).")
    Path cacheDir;

    @Option(names = "--group-size", defaultValue = "4", description = "Samples per prompt (default: ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--p-correct", defaultValue = "0.5", description = "Probability that a simulated answer is correct (default: ${DEFAULT-VALUE}).")
    double pCorrect;

    @Option(names = "--pairs", description = "Preference pairs sent for retraining (default: 5000 for reward-hacking, 2000 for task-shift).")
    Integer pairs;

    @Option(names = "--scenario", defaultValue = "reward-hacking", description = "reward-hacking | task-shift (default: ${DEFAULT-VALUE}).")
    String scenario;

    @Option(names = "--ensemble", defaultValue = "4", description = "Heads of the built-in ensemble of reward model v1 (default: ${DEFAULT-VALUE}).")
    int ensemble;

    @Option(names = "--rankings", defaultValue = "500", description = "Ranked lists (k = 4) sent to ranked-preferences with the pairs, reward-hacking only (default: ${DEFAULT-VALUE}).")
    int rankings;

    @Option(names = "--retrain-lr", defaultValue = "" + DemoRunner.Options.DEFAULT_RETRAIN_LR, description = "Peak learning rate of the retraining round (default: ${DEFAULT-VALUE}).")
    double retrainLr;

    @Option(names = "--retrain-steps", description = "Fine-tuning steps of the retraining round (default depends on --size).")
    Integer retrainSteps;

    @Option(names = "--max-in-flight", defaultValue = "1024", description = "Rollouts sent but not yet rewarded before the simulated trainer waits (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the simulated policy (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--timeout-s", defaultValue = "900", description = "Give up when rewards or the release stall this long (default: ${DEFAULT-VALUE}).")
    long timeoutS;

    @Option(names = "--verbose", description = "Show the components' INFO logs.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        ModelSize ms = ModelSize.parse(size);
        ModelCache.Scenario sc = ModelCache.Scenario.parse(scenario);
        DemoRunner.Options opts = new DemoRunner.Options(rollouts, ms, out,
                cacheDir == null ? ModelCache.defaultRoot() : cacheDir, groupSize, pCorrect,
                pairs == null ? DemoRunner.Options.defaultPairs(sc) : pairs,
                retrainSteps == null ? DemoRunner.Options.defaultRetrainSteps(ms, sc) : retrainSteps, maxInFlight, seed,
                true, Duration.ofSeconds(timeoutS), sc, ensemble, sc == ModelCache.Scenario.REWARD_HACKING ? rankings : 0,
                retrainLr);
        // the summary and the status line are the output; components log only errors unless --verbose
        QuietLogs quiet = verbose ? null : QuietLogs.apply();
        DemoRunner.Result r;
        try {
            r = new DemoRunner(opts, System.err).run();
        } finally {
            if (quiet != null) {
                quiet.close();
            }
        }
        if (json) {
            System.out.println(JsonMapper.builder().build().writeValueAsString(r.summary().toJson()));
        } else {
            System.out.println(r.summary().text());
            System.out.println("plots and page: " + r.report().toAbsolutePath());
        }
        return 0;
    }
}
