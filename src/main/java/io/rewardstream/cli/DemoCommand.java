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
                + "a simulated policy streaming rollouts. Midway the task shifts (addition -> multiplication) and "
                + "preference pairs trigger a retraining round whose signed release the scorer hot-swaps to.",
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

    @Option(names = "--pairs", defaultValue = "2000", description = "Preference pairs of the shifted task sent for retraining (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--retrain-steps", description = "Fine-tuning steps of the retraining round (default depends on --size).")
    Integer retrainSteps;

    @Option(names = "--max-in-flight", defaultValue = "1024", description = "Rollouts sent but not yet rewarded before the simulated trainer waits (default: ${DEFAULT-VALUE}).")
    int maxInFlight;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the simulated policy (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--timeout-s", defaultValue = "900", description = "Give up when rewards or the release stall this long (default: ${DEFAULT-VALUE}).")
    long timeoutS;


    @Override
    public Integer call() throws Exception {
        ModelSize ms = ModelSize.parse(size);
        DemoRunner.Options opts = new DemoRunner.Options(rollouts, ms, out,
                cacheDir == null ? ModelCache.defaultRoot() : cacheDir, groupSize, pCorrect, pairs,
                retrainSteps == null ? DemoRunner.Options.defaultRetrainSteps(ms) : retrainSteps, maxInFlight, seed,
                true, Duration.ofSeconds(timeoutS));
        // the summary and the status line are the output; components log only errors unless --verbose
        QuietLogs quiet = Main.verbose() ? null : QuietLogs.apply();
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
