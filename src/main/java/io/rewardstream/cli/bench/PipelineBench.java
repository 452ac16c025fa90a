package io.rewardstream.cli.bench;

import io.rewardstream.avro.Rollout;
import io.rewardstream.cli.demo.ModelCache;
import io.rewardstream.cli.demo.SimulatedPolicy;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.ModelSize;
import org.apache.kafka.clients.admin.AdminClientConfig;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One process, one run, side by side on the embedded broker: the model alone ({@link ModelAloneBench}), the Kafka
 * ceilings ({@link Passthroughs}), the scorer topology with the null model, the real model, the device stand-in and
 * per-record batches ({@link TopologyRun}, {@link DeviceCalibration}); results in {@link BenchResult}. Every pipeline
 * measurement is open loop: a producer sends all records while the stage runs, and the throughput is records /
 * (last output read - first record sent). One run per instance; not thread-safe.
 */
public final class PipelineBench {

    /** Stage names for {@link Options#stages()}, in run order. {@code device} also runs {@code null} (its calibration). */
    public static final List<String> STAGES = List.of("model", "passthrough", "null", "ungrouped", "full", "device",
            "per-record");

    /**
     * Interleaved repetitions of the Streams passthroughs and the null-model topology, medians reported: a stage of
     * 10,000 records lasts 0.5 to 2 s on 2 cores, and single runs of it varied by up to 2x (JIT, broker, GC).
     */
    public static final int DEFAULT_REPS = 3;

    /**
     * Unmeasured full-size rounds (the null model and the Streams passthrough) before the measured repetitions, as JMH
     * runs warm-up iterations: with one round the null model's rate still rose from repetition to repetition as the
     * JIT compiled its path (10k → 16-18k/s over six), the C2 compiler busy for 40-80 µs per rollout of it; a scorer
     * runs for hours, so its steady state is what the ratios are about.
     */
    public static final int DEFAULT_WARMUPS = 3;

    /**
     * The device stage runs this many times {@code --rollouts}: its ratio compares the pipeline with the device's busy
     * time alone, so the pipeline's fixed start (filling the first batches) and end (the idle flush after 20 ms
     * of quiet, the last commit), ≈ 60-120 ms together, are the stage's own cost, which at 10,000 rollouts (a 1 s
     * stage) was 5-10% of it; a scorer streams for hours.
     */
    public static final int DEVICE_STAGE_FACTOR = 3;

    /**
     * @param model      tiny | small | base (the cached built-in model) or a model directory
     * @param rollouts   records per batched pipeline stage
     * @param perRecord  records for the per-record stage (batch.max.size=1; slow)
     * @param cacheRoot  built-in model cache
     * @param workDir    state directories
     * @param stages     the stages to run (a subset of {@link #STAGES}); keys of stages not run read 0 or NaN
     * @param overrides  scorer keys set in every topology stage and the Streams passthrough (A/B of a default)
     * @param reps       measured repetitions of the Streams passthroughs and the null model (1..9)
     * @param warmups    unmeasured full-size rounds before them (0..9)
     */
    public record Options(String model, int rollouts, int perRecord, Path cacheRoot, Path workDir, Set<String> stages,
                          Map<String, String> overrides, int reps, int warmups) {
        public Options {
            Objects.requireNonNull(model, "model");
            if (rollouts < 100 || perRecord < 50) {
                throw new IllegalArgumentException("--rollouts must be >= 100 and --per-record >= 50");
            }
            if (reps < 1 || reps > 9) {
                throw new IllegalArgumentException("--reps must be 1..9, was " + reps);
            }
            if (warmups < 0 || warmups > 9) {
                throw new IllegalArgumentException("--warmups must be 0..9, was " + warmups);
            }
            stages = Set.copyOf(stages);
            overrides = Map.copyOf(overrides);
            for (String s : stages) {
                if (!STAGES.contains(s)) {
                    throw new IllegalArgumentException("--stages: unknown stage '" + s + "' (known: "
                            + String.join(",", STAGES) + ")");
                }
            }
            if (stages.isEmpty()) {
                throw new IllegalArgumentException("--stages: at least one stage");
            }
        }

        /** {@link #DEFAULT_REPS} repetitions of the Kafka ceilings and the null model. */
        public Options(String model, int rollouts, int perRecord, Path cacheRoot, Path workDir, Set<String> stages,
                       Map<String, String> overrides) {
            this(model, rollouts, perRecord, cacheRoot, workDir, stages, overrides, DEFAULT_REPS);
        }

        /** {@link #DEFAULT_WARMUPS} warm-up rounds. */
        public Options(String model, int rollouts, int perRecord, Path cacheRoot, Path workDir, Set<String> stages,
                       Map<String, String> overrides, int reps) {
            this(model, rollouts, perRecord, cacheRoot, workDir, stages, overrides, reps, DEFAULT_WARMUPS);
        }

        /** Every stage. */
        public Options(String model, int rollouts, int perRecord, Path cacheRoot, Path workDir) {
            this(model, rollouts, perRecord, cacheRoot, workDir, Set.copyOf(STAGES), Map.of());
        }
    }

    private final Options o;
    private final Set<String> stages;
    private final PrintStream log;

    private ThreadCpu cpu;

    public PipelineBench(Options options, PrintStream progress) {
        this.o = Objects.requireNonNull(options);
        this.log = Objects.requireNonNull(progress);
        Set<String> s = new LinkedHashSet<>(options.stages());
        if (s.contains("device")) {
            s.add("null");   // the stand-in is calibrated against the null-model topology of the same run
        }
        this.stages = s;
    }

    /** Runs the selected stages (default: every stage); progress lines go to the progress stream. */
    public BenchResult run() throws Exception {
        Path modelDir = resolveModel();
        List<Rollout> rollouts = rollouts(o.rollouts(), 1);
        BenchResult r = new BenchResult();
        r.model = modelDir.getFileName().toString();
        r.rollouts = o.rollouts();
        r.meanTokens = meanTokens(rollouts);

        try (SavedModelRewardModel model = ModelLoader.load(modelDir, RuntimeConfig.DEFAULTS, BatchingConfig.DEFAULTS)) {
            r.modelVersion = model.modelVersion();
            if (stages.contains("model")) {
                modelAlone(model, rollouts, r);
            }
        }
        if (stages.equals(Set.of("model"))) {
            return r;
        }

        step("starting Kafka and the schema registry...");
        try (LocalStack stack = LocalStack.start(); ThreadCpu cpu = ThreadCpu.start()) {
            this.cpu = cpu;
            Map<String, Object> client = new HashMap<>();
            client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
            client.put("schema.registry.url", stack.schemaRegistryUrl());
            List<byte[]> bytes = BenchKafka.serialize(client, rollouts);
            r.serdeMicrosPerRecord = BenchKafka.serdeCost(client, rollouts);

            // warm-up, not measured: the null model and the Streams passthrough at the stages' full size, so that the
            // JIT has compiled the topology's per-rollout path before its first timed run (with 1,000 records it was
            // still compiling it through the first repetitions; see README "Benchmark")
            for (int w = 0; w < o.warmups(); w++) {
                step("warm-up " + (w + 1) + "/" + o.warmups() + " (not measured): null-model topology and the "
                        + "Streams passthrough, " + rollouts.size() + " records each");
                TopologyRun.Stage warm = TopologyRun.run(client, stack, "warm-" + w, rollouts,
                        TopologyRun.nullModel(modelDir), o.overrides(), modelDir, o.workDir());
                String eos = "";
                if (stages.contains("passthrough")) {
                    eos = String.format(Locale.ROOT, ", Streams passthrough %.0f records/s",
                            Passthroughs.streamsPassthrough(client, stack, "warm-eos-" + w, bytes, o.overrides(),
                                    o.workDir()).perSecond());
                }
                step(String.format(Locale.ROOT, "  null model %.0f rollouts/s%s", warm.throughput(), eos));
            }
            r.warmups = o.warmups();
            if (stages.contains("passthrough")) {
                step("passthrough: plain consumer -> producer of the same Avro bytes, " + bytes.size() + " records");
                r.passthrough = Passthroughs.passthrough(client, "pass", bytes);
                step(String.format(Locale.ROOT, "  %.0f records/s", r.passthrough));
            }
            // the ceilings and the null model interleaved, o.reps() times: medians, every run in the JSON
            List<TopologyRun.Stage> nulls = new ArrayList<>();
            List<TopologyRun.Stage> ungrouped = new ArrayList<>();
            List<Rollout> withoutGroups = stages.contains("ungrouped") ? withoutGroupSize(rollouts) : List.of();
            for (int rep = 0; rep < o.reps(); rep++) {
                if (o.reps() > 1) {
                    step("repetition " + (rep + 1) + "/" + o.reps());
                }
                if (stages.contains("passthrough")) {
                    streamsPassthroughs(client, stack, bytes, r, rep);
                }
                if (stages.contains("null")) {
                    nulls.add(nullModel(client, stack, rollouts, modelDir, "null-" + rep, "null_model_topology",
                            "topology with the null model (ConstantRewardModel), exactly_once_v2", r));
                }
                if (stages.contains("ungrouped")) {
                    // the same rollouts with group_size cleared (PPO-style: no group stage, no GroupAdvantage):
                    // beside the grouped run, what the group stage costs
                    ungrouped.add(nullModel(client, stack, withoutGroups, modelDir, "ungrouped-" + rep,
                            "null_model_ungrouped_topology", "the same, rollouts without group_size (no group stage)",
                            r));
                }
            }
            r.streamsPassthrough = median(r.streamsPassthroughRuns);
            r.streamsTwoSinkPassthrough = median(r.streamsTwoSinkPassthroughRuns);
            if (!nulls.isEmpty()) {
                nulls.forEach(n -> r.nullModelRuns.add(n.throughput()));
                TopologyRun.Stage nul = medianStage(nulls);
                r.nullModel = nul.throughput();
                r.nullRecordsPerRollout = nul.recordsSent() / rollouts.size();
                r.nullSplit = nul.threadSeconds();
                r.nullSeconds = nul.seconds();
            }
            if (!ungrouped.isEmpty()) {
                ungrouped.forEach(n -> r.nullModelUngroupedRuns.add(n.throughput()));
                TopologyRun.Stage mid = medianStage(ungrouped);
                r.nullModelUngrouped = mid.throughput();
                r.nullUngroupedRecordsPerRollout = mid.recordsSent() / rollouts.size();
            }
            if (stages.contains("full")) {
                fullPipeline(client, stack, rollouts, modelDir, r);
            }
            if (stages.contains("device")) {
                device(client, stack, rollouts, modelDir, r);
            }
            if (stages.contains("per-record")) {
                List<Rollout> few = rollouts.subList(0, Math.min(o.perRecord(), rollouts.size()));
                step("per-record scoring (batch.max.size=1), " + few.size() + " records");
                TopologyRun.Stage one = TopologyRun.run(client, stack, "one", few, null,
                        with(o.overrides(), BatchingConfig.MAX_SIZE, "1"), modelDir, o.workDir());
                r.perRecord = one.throughput();
                step(String.format(Locale.ROOT, "  %.0f rollouts/s", one.throughput()));
            }
        }
        return r;
    }

    private void modelAlone(SavedModelRewardModel model, List<Rollout> rollouts, BenchResult r) {
        step("model alone: scoring pre-built tensors at batch sizes 1..64");
        for (int b : new int[]{1, 8, 32, 64}) {
            double sps = ModelAloneBench.modelAlone(model, rollouts, b);
            r.modelAlone.put(b, sps);
            step(String.format(Locale.ROOT, "  batch %2d: %.0f seq/s", b, sps));
        }
        double[] planned = ModelAloneBench.modelAlonePlanned(model, rollouts, 64, 0);
        double[] aware = ModelAloneBench.modelAlonePlanned(model, rollouts, 64, 0.85);
        BatchingConfig pad8 = new BatchingConfig(64, 1 << 20, 8, 200, BatchingConfig.DEFAULTS.callOverheadTokens());
        double[] planned8 = ModelAloneBench.modelAlonePlanned(model, rollouts, pad8, 0);
        // A/B again in the other order, best of two each: the two cores are often shared while this runs
        double[] planned8b = ModelAloneBench.modelAlonePlanned(model, rollouts, pad8, 0);
        double[] plannedB = ModelAloneBench.modelAlonePlanned(model, rollouts, 64, 0);
        planned8[0] = Math.max(planned8[0], planned8b[0]);
        planned[0] = Math.max(planned[0], plannedB[0]);
        r.plannerModelAlone = planned[0];
        r.pad8ModelAlone = planned8[0];
        r.pad8Padding = planned8[1];
        step(String.format(Locale.ROOT, "  flushes of 64, batch.pad.multiple=%d (default): %.0f seq/s, padding %.3f;"
                + " batch.pad.multiple=8: %.0f seq/s, padding %.3f", BatchingConfig.DEFAULTS.padMultiple(),
                planned[0], planned[1], planned8[0], planned8[1]));
        r.plannerPadding = planned[1];
        r.awarePadding = aware[1];
        r.awareModelAlone = aware[0];
        step(String.format(Locale.ROOT, "  flushes of 64, scorer's planner: %.0f seq/s, padding %.3f; "
                + "padding-aware split at 0.85: %.0f seq/s, padding %.3f", planned[0], planned[1], aware[0],
                aware[1]));
    }

    private void streamsPassthroughs(Map<String, Object> client, LocalStack stack, List<byte[]> bytes, BenchResult r,
                                     int rep) throws Exception {
        step("Kafka Streams passthrough (source -> sink of the same bytes), exactly_once_v2, the scorer's Streams "
                + "defaults, " + bytes.size() + " records");
        Passthroughs.Timed one = Passthroughs.streamsPassthrough(client, stack, "eos-" + rep, bytes, o.overrides(),
                o.workDir());
        r.streamsPassthroughRuns.add(one.perSecond());
        step(String.format(Locale.ROOT, "  %.0f records/s%s%s", one.perSecond(),
                cpu(r, "streams_eos_passthrough", one.startMs(), one.endMs(), bytes.size()),
                r.window("streams_eos_passthrough", one.startMs(), one.sentMs(), one.endMs())));

        step("Kafka Streams passthrough with two sinks (each record to two topics: the scorer's reward + advantage "
                + "per rollout), exactly_once_v2, the scorer's Streams defaults, " + bytes.size() + " records");
        Passthroughs.Timed two = Passthroughs.streamsPassthrough(client, stack, "eos2-" + rep, bytes, o.overrides(),
                o.workDir(), 2);
        r.streamsTwoSinkPassthroughRuns.add(two.perSecond());
        step(String.format(Locale.ROOT, "  %.0f input records/s%s%s", two.perSecond(),
                cpu(r, "streams_eos_two_sink_passthrough", two.startMs(), two.endMs(), bytes.size()),
                r.window("streams_eos_two_sink_passthrough", two.startMs(), two.sentMs(), two.endMs())));
    }

    /** One null-model stage; its CPU window goes to {@code cpuKey}. */
    private TopologyRun.Stage nullModel(Map<String, Object> client, LocalStack stack, List<Rollout> rollouts,
                                        Path modelDir, String prefix, String cpuKey, String what, BenchResult r)
            throws Exception {
        step(what + ", " + rollouts.size() + " records");
        TopologyRun.Stage nul = TopologyRun.run(client, stack, prefix, rollouts, TopologyRun.nullModel(modelDir),
                o.overrides(), modelDir, o.workDir());
        step(String.format(Locale.ROOT, "  %.0f rollouts/s%s%s", nul.throughput(),
                cpu(r, cpuKey, nul.startMs(), nul.endMs(), rollouts.size()),
                r.window(cpuKey, nul.startMs(), nul.sentMs(), nul.endMs())));
        return nul;
    }

    /** The stage of median throughput (the lower middle for an even count). */
    private static TopologyRun.Stage medianStage(List<TopologyRun.Stage> stages) {
        return stages.stream().sorted(java.util.Comparator.comparingDouble(TopologyRun.Stage::throughput)).toList()
                .get((stages.size() - 1) / 2);
    }

    /** Copies with group_size cleared; everything else (ids, keys, tokens) unchanged. */
    static List<Rollout> withoutGroupSize(List<Rollout> rollouts) {
        List<Rollout> out = new ArrayList<>(rollouts.size());
        for (Rollout r : rollouts) {
            out.add(Rollout.newBuilder(r).setGroupSize(null).build());
        }
        return out;
    }

    /** The median (the lower middle for an even count); NaN for none. */
    static double median(List<Double> xs) {
        if (xs.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = xs.stream().sorted().toList();
        return s.get((s.size() - 1) / 2);
    }

    private void fullPipeline(Map<String, Object> client, LocalStack stack, List<Rollout> rollouts, Path modelDir,
                              BenchResult r) throws Exception {
        step("full pipeline with " + r.modelVersion + ", exactly_once_v2, " + rollouts.size() + " records");
        TopologyRun.Stage full = TopologyRun.run(client, stack, "full", rollouts, null, o.overrides(), modelDir,
                o.workDir());
        r.pipeline = full.throughput();
        r.recordsPerRollout = full.recordsSent() / rollouts.size();
        r.padding = full.padding();
        r.meanBatch = full.meanBatch();
        r.p50 = full.p50();
        r.p99 = full.p99();
        r.modelSecondsInPipeline = full.modelSeconds();
        r.pipelineSeconds = full.seconds();
        r.pipelineSplit = full.threadSeconds();
        step(String.format(Locale.ROOT, "  %.0f rollouts/s, mean batch %.1f, padding %.3f, p50 %.0f ms, p99 %.0f ms",
                full.throughput(), full.meanBatch(), full.padding(), full.p50(), full.p99()));
        step(String.format(Locale.ROOT, "  stream thread s: %s of %.1f s; model %.1f s; %.2f records written per "
                + "rollout", full.threadSeconds(), full.seconds(), full.modelSeconds(), r.recordsPerRollout));
    }

    private void device(Map<String, Object> client, LocalStack stack, List<Rollout> warm, Path modelDir,
                        BenchResult r) throws Exception {
        List<Rollout> rollouts = rollouts(warm.size() * DEVICE_STAGE_FACTOR, 1);
        r.deviceRollouts = rollouts.size();
        DeviceStandIn device = DeviceCalibration.calibrateDevice(modelDir, rollouts, r.nullModel / 2);
        r.deviceCallMicros = device.callNanos() / 1e3;
        r.deviceNanosPerToken = device.nanosPerPaddedToken();
        step(String.format(Locale.ROOT, "device stand-in: each call parks %.0f us + %.1f ns x padded tokens on one "
                + "device (calibrated: alone, on the planner's flushes of 64, half the null-model topology's %.0f/s)",
                r.deviceCallMicros, r.deviceNanosPerToken, r.nullModel));
        r.deviceAloneAtCalibration = device.aloneRowsPerSecond(
                DeviceCalibration.plannedShapes(device, rollouts, BatchingConfig.DEFAULTS));
        step(String.format(Locale.ROOT, "  alone on flushes of 64: %.0f rollouts/s", r.deviceAloneAtCalibration));
        // as every measured stage: once at full size first, not measured (its own stand-in, so its calls are not
        // counted), so the device stage's CPU path is as warm as the null model that calibrated the device
        step("warm-up (not measured): full pipeline with the device stand-in, " + warm.size() + " records");
        TopologyRun.run(client, stack, "device-warm", warm, new DeviceStandIn(device.manifest(),
                device.callNanos(), device.nanosPerPaddedToken()), o.overrides(), modelDir, o.workDir());
        step("full pipeline with the device stand-in, exactly_once_v2, " + rollouts.size() + " records");
        TopologyRun.Stage dev = TopologyRun.run(client, stack, "device", rollouts, device, o.overrides(), modelDir,
                o.workDir());
        r.devicePipeline = dev.throughput();
        r.deviceMeanBatch = dev.meanBatch();
        r.deviceRecordsPerRollout = dev.recordsSent() / rollouts.size();
        List<DeviceStandIn.Shape> shapes = device.calls();
        r.deviceAlone = device.aloneRowsPerSecond(shapes);
        step(String.format(Locale.ROOT, "  %.0f rollouts/s, mean batch %.1f; the stand-in alone at the same %d call "
                + "shapes: %.0f rollouts/s", dev.throughput(), dev.meanBatch(), shapes.size(), r.deviceAlone));
        r.deviceTime = device.accounting(dev.startMs(), dev.endMs());
        step("  device time in the pipeline run, s: " + r.deviceTime);
    }

    private Path resolveModel() throws Exception {
        try {
            ModelSize size = ModelSize.parse(o.model());
            return ModelCache.obtain(o.cacheRoot(), size, log);
        } catch (IllegalArgumentException notASize) {
            Path dir = Path.of(o.model());
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("--model: '" + o.model()
                        + "' is neither tiny|small|base nor a model directory");
            }
            return dir;
        }
    }

    static List<Rollout> rollouts(int n, long seed) {
        SimulatedPolicy p = new SimulatedPolicy(seed, 0.5, 4, 0.3);
        ArithmeticTask task = ModelCache.task();
        List<Rollout> out = new ArrayList<>(n);
        while (out.size() < n) {
            for (SimulatedPolicy.Sample s : p.group(task, "add", "bench", 0)) {
                if (out.size() < n) {
                    out.add(s.rollout());
                }
            }
        }
        return out;
    }

    private static double meanTokens(List<Rollout> rs) {
        return rs.stream().mapToInt(r -> r.getPromptTokenIds().size() + r.getResponseTokenIds().size() + 3)
                .average().orElse(0);
    }

    private static Map<String, String> with(Map<String, String> base, String key, String value) {
        Map<String, String> m = new HashMap<>(base);
        m.put(key, value);
        return m;
    }

    /**
     * Adds the process's CPU over a stage's timed window to {@code stage}'s totals in {@code r} (summed over the
     * repetitions) and returns it for the progress line: µs per record, total and the JIT's part.
     */
    private String cpu(BenchResult r, String stage, long fromMs, long toMs, int records) {
        Map<String, Double> secs = cpu == null ? Map.of() : cpu.window(fromMs, toMs);
        if (secs.isEmpty()) {
            return "";
        }
        Map<String, Double> sum = r.cpuSeconds.computeIfAbsent(stage, k -> new java.util.LinkedHashMap<>());
        secs.forEach((k, v) -> sum.merge(k, v, Double::sum));
        r.cpuRecords.merge(stage, (long) records, Long::sum);
        Map<String, Double> per = ThreadCpu.perRecord(secs, records);
        return String.format(Locale.ROOT, "; CPU %.0f µs/record (JIT %.0f, broker %.0f, app %.0f)", per.get("total"),
                per.get("jit"), per.get("broker"), per.get("app"));
    }

    private void step(String s) {
        log.println("bench: " + s);
        log.flush();
    }
}
