package io.rewardstream.cli;

import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.cli.bench.BenchResult;
import io.rewardstream.cli.bench.PipelineBench;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.files.FileTrees;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code rewardstream bench}: model alone vs the full pipeline vs the Kafka ceiling, side by side; see {@link PipelineBench}. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure, in one process on the embedded broker: the model alone (seq/s on pre-built "
                + "tensors), the full pipeline (Avro + registry serde, scorer topology with exactly_once_v2, rewards "
                + "read back), per-record scoring (batch.max.size=1), a plain consumer->producer passthrough and the "
                + "topology with the null model. Prints a table (--json: one object). Progress goes to stderr."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "small", description = "tiny | small | base (cached built-in model) or a model directory (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--rollouts", defaultValue = "10000", description = "Records per batched stage (default: ${DEFAULT-VALUE}).")
    int rollouts;

    @Option(names = "--per-record", defaultValue = "1000", description = "Records for the per-record stage (default: ${DEFAULT-VALUE}).")
    int perRecord;

    @Option(names = "--stages", split = ",", description = "Run only these stages (comma list of model, passthrough, "
            + "null, ungrouped, full, device, per-record; device also runs null, its calibration; ungrouped is the null "
            + "model on the same rollouts without group_size). Default: all.")
    java.util.List<String> stages;

    @Option(names = "--set", description = "key=value: a scorer key set in every topology stage and the Streams "
            + "passthrough, to A/B a default (repeatable), e.g. --set num.stream.threads=3.")
    java.util.Map<String, String> overrides;

    @Option(names = "--json", description = "Print the results as one JSON object.")
    boolean json;

    @Option(names = "--reps", defaultValue = "" + io.rewardstream.cli.bench.PipelineBench.DEFAULT_REPS,
            description = "Interleaved repetitions of the Streams passthroughs and the null-model topology; their "
                    + "medians are reported, every run in the JSON (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmups", defaultValue = "" + io.rewardstream.cli.bench.PipelineBench.DEFAULT_WARMUPS,
            description = "Unmeasured full-size rounds of the null-model topology and the Streams passthrough before "
                    + "the repetitions, so the JIT has compiled their paths (default: ${DEFAULT-VALUE}).")
    int warmups;

    @Option(names = "--cache-dir", description = "Model cache (default: ~/.cache/rewardstream/models).")
    Path cacheDir;

    @Override
    public Integer call() throws Exception {
        Path work = Files.createTempDirectory("rewardstream-bench");
        BenchResult r;
        try (QuietLogs quiet = QuietLogs.apply()) {
            r = new PipelineBench(new PipelineBench.Options(model, rollouts, perRecord,
                    cacheDir == null ? ModelCache.defaultRoot() : cacheDir, work,
                    java.util.Set.copyOf(stages == null ? PipelineBench.STAGES : stages),
                    overrides == null ? java.util.Map.of() : overrides, reps, warmups), System.err).run();
        } finally {
            FileTrees.deleteTree(work);   // the stages' state directories
        }
        if (json) {
            System.out.println(JsonMapper.builder().build().writeValueAsString(r.toJson()));
        } else {
            System.out.println(r.table());
        }
        return 0;
    }
}
