package io.rewardstream.cli.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** The measurements; derived ratios are computed on read. Mutable while the bench runs. */
public final class BenchResult {
    public String model;
    public String modelVersion;
    public int rollouts;
    public double meanTokens;
    public final Map<Integer, Double> modelAlone = new LinkedHashMap<>();
    public double passthrough;
    public double nullModel;
    public double pipeline;
    public double perRecord;
    public double padding;
    public double meanBatch;
    public double p50;
    public double p99;
    public double modelSecondsInPipeline;
    public double pipelineSeconds;
    public double serdeMicrosPerRecord;
    public double plannerPadding;
    public double awarePadding;
    public double awareModelAlone;
    public Map<String, Double> pipelineSplit = Map.of();
    public Map<String, Double> nullSplit = Map.of();
    /** Unmeasured full-size warm-up rounds before the repetitions. */
    public int warmups;
    /** Process CPU seconds by component ({@link ThreadCpu}) over each stage's timed windows, summed over repetitions. */
    public final Map<String, Map<String, Double>> cpuSeconds = new java.util.LinkedHashMap<>();
    /** Records those windows moved, per stage. */
    public final Map<String, Long> cpuRecords = new java.util.LinkedHashMap<>();
    public double nullSeconds;
    public double streamsPassthrough;
    public double streamsTwoSinkPassthrough;
    /** Every repetition, in run order (the fields above are their medians). */
    public final java.util.List<Double> streamsPassthroughRuns = new java.util.ArrayList<>();
    public final java.util.List<Double> streamsTwoSinkPassthroughRuns = new java.util.ArrayList<>();
    public final java.util.List<Double> nullModelRuns = new java.util.ArrayList<>();
    /** The null model on the same rollouts without group_size (no group stage, no GroupAdvantage): every repetition. */
    public final java.util.List<Double> nullModelUngroupedRuns = new java.util.ArrayList<>();
    /**
     * Every repetition's timed window split in two, by stage, in run order: {@code send} (first send until every
     * input record is acked) and {@code tail} (then until the last output is read: the outputs still to be written,
     * and the wait for the transaction that makes them visible to read_committed).
     */
    public final Map<String, java.util.List<Map<String, Long>>> runWindowsMs = new java.util.LinkedHashMap<>();
    public double nullModelUngrouped;
    public double nullUngroupedRecordsPerRollout;
    public double recordsPerRollout;
    public double nullRecordsPerRollout;
    public double deviceRecordsPerRollout;
    public double deviceCallMicros;
    public double deviceNanosPerToken;
    public double deviceAloneAtCalibration;
    public double devicePipeline;
    public double deviceMeanBatch;
    /** Rollouts of the device stage ({@code --rollouts} x {@link PipelineBench#DEVICE_STAGE_FACTOR}). */
    public int deviceRollouts;
    public double deviceAlone;
    public Map<String, Double> deviceTime = Map.of();
    public double plannerModelAlone;
    public double pad8ModelAlone;
    public double pad8Padding;

    public double modelAloneBest() {
        return modelAlone.values().stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    public double pipelineEfficiency() {
        return pipeline / modelAlone.getOrDefault(64, modelAloneBest());
    }

    public double batchingGain() {
        return pipeline / perRecord;
    }

    public double kafkaEfficiency() {
        return nullModel / passthrough;
    }

    /** Records one repetition's window of {@code stage} ({@link #runWindowsMs}); returns a progress-line suffix. */
    public String window(String stage, long startMs, long sentMs, long endMs) {
        long send = sentMs - startMs;
        long tail = endMs - sentMs;
        Map<String, Long> w = new LinkedHashMap<>();   // send, then tail, in the JSON
        w.put("send", send);
        w.put("tail", tail);
        runWindowsMs.computeIfAbsent(stage, k -> new java.util.ArrayList<>()).add(w);
        return String.format(Locale.ROOT, "; sent in %d ms, last output read %d ms later", send, tail);
    }

    /**
     * Null-model topology / Kafka Streams EOS passthrough of the same bytes: with repetitions, the median of each
     * repetition's own ratio (the two stages of a repetition run back to back, so they share the process's state: in
     * this bench both rates drift by up to 2x between repetitions, together), else the ratio of the two rates.
     */
    public double topologyEfficiency() {
        return pairedRatio(nullModelRuns, streamsPassthroughRuns, nullModel / streamsPassthrough);
    }

    /**
     * The null-model topology on the same rollouts without group_size (PPO-style: no group stage, one Reward per
     * rollout and no GroupAdvantage) / the Kafka Streams EOS passthrough, paired per repetition as
     * {@link #topologyEfficiency()}: what the group stage (one GroupAdvantage record per member) costs, side by side.
     */
    public double topologyEfficiencyUngrouped() {
        return pairedRatio(nullModelUngroupedRuns, streamsPassthroughRuns, nullModelUngrouped / streamsPassthrough);
    }

    /** Median over repetitions of {@code num[i] / den[i]}; {@code single} without paired runs. */
    static double pairedRatio(java.util.List<Double> num, java.util.List<Double> den, double single) {
        if (num.isEmpty() || num.size() != den.size()) {
            return single;
        }
        java.util.List<Double> ratios = new java.util.ArrayList<>();
        for (int i = 0; i < num.size(); i++) {
            ratios.add(num.get(i) / den.get(i));
        }
        return PipelineBench.median(ratios);
    }

    /** CPU µs per record by component for each stage with CPU windows ({@link ThreadCpu#perRecord}). */
    public Map<String, Map<String, Double>> cpuPerRecord() {
        Map<String, Map<String, Double>> out = new java.util.LinkedHashMap<>();
        cpuSeconds.forEach((stage, secs) -> out.put(stage, ThreadCpu.perRecord(secs, cpuRecords.getOrDefault(stage,
                0L))));
        return out;
    }

    /**
     * The Streams EOS passthrough's CPU per record / the null-model topology's CPU per rollout ({@code key}: {@code
     * total} or {@code total_without_jit}): the ratio of work, free of the wall-clock swing between runs; NaN when not
     * measured.
     */
    public double topologyCpuEfficiency(String key) {
        Map<String, Map<String, Double>> per = cpuPerRecord();
        Map<String, Double> eos = per.get("streams_eos_passthrough");
        Map<String, Double> nul = per.get("null_model_topology");
        if (eos == null || nul == null || !eos.containsKey(key) || !nul.containsKey(key)) {
            return Double.NaN;
        }
        return eos.get(key) / nul.get(key);
    }

    /**
     * Null-model topology / Kafka Streams EOS passthrough writing every record to two topics: the same output records
     * per input as the scorer's contract (reward + group advantage per rollout). Beside, not instead of,
     * {@link #topologyEfficiency()}.
     */
    public double topologyEfficiencyVsTwoSinks() {
        return pairedRatio(nullModelRuns, streamsTwoSinkPassthroughRuns, nullModel / streamsTwoSinkPassthrough);
    }

    /** Pipeline with the device stand-in / the stand-in alone at the pipeline's own call shapes. */
    public double devicePipelineEfficiency() {
        return devicePipeline / deviceAlone;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", modelVersion);
        m.put("rollouts", rollouts);
        m.put("mean_tokens_per_sequence", meanTokens);
        Map<String, Object> alone = new LinkedHashMap<>();
        modelAlone.forEach((k, v) -> alone.put(Integer.toString(k), v));
        m.put("model_alone_seq_per_s", alone);
        m.put("pipeline_per_s", pipeline);
        m.put("pipeline_efficiency", pipelineEfficiency());
        m.put("per_record_per_s", perRecord);
        m.put("batching_gain", batchingGain());
        m.put("passthrough_per_s", passthrough);
        m.put("null_model_topology_per_s", nullModel);
        m.put("kafka_efficiency", kafkaEfficiency());
        m.put("streams_eos_passthrough_per_s", streamsPassthrough);
        m.put("topology_efficiency", topologyEfficiency());
        m.put("streams_eos_two_sink_passthrough_per_s", streamsTwoSinkPassthrough);
        m.put("warmups", warmups);
        m.put("runs_per_s", Map.of("streams_eos_passthrough", streamsPassthroughRuns,
                "streams_eos_two_sink_passthrough", streamsTwoSinkPassthroughRuns,
                "null_model_topology", nullModelRuns,
                "null_model_ungrouped_topology", nullModelUngroupedRuns));
        m.put("runs_window_ms", runWindowsMs);
        m.put("topology_efficiency_vs_two_sinks", topologyEfficiencyVsTwoSinks());
        m.put("null_model_ungrouped_topology_per_s", nullModelUngrouped);
        m.put("topology_efficiency_ungrouped", topologyEfficiencyUngrouped());
        m.put("null_model_ungrouped_records_per_rollout", nullUngroupedRecordsPerRollout);
        m.put("cpu_us_per_record", cpuPerRecord());
        m.put("topology_cpu_efficiency", topologyCpuEfficiency("total"));
        m.put("topology_cpu_efficiency_without_jit", topologyCpuEfficiency("total_without_jit"));
        m.put("records_per_rollout", recordsPerRollout);
        m.put("null_model_records_per_rollout", nullRecordsPerRollout);
        m.put("device_stand_in", Map.of("call_us", deviceCallMicros, "ns_per_padded_token", deviceNanosPerToken,
                "calibration", "alone on the planner's flushes of 64 = null-model topology / 2",
                "alone_at_calibration_per_s", deviceAloneAtCalibration));
        m.put("device_pipeline_rollouts", deviceRollouts);
        m.put("device_pipeline_per_s", devicePipeline);
        m.put("device_alone_at_pipeline_shapes_per_s", deviceAlone);
        m.put("device_pipeline_efficiency", devicePipelineEfficiency());
        m.put("device_pipeline_mean_batch_size", deviceMeanBatch);
        m.put("device_pipeline_records_per_rollout", deviceRecordsPerRollout);
        m.put("device_pipeline_time_s", deviceTime);
        m.put("padding_efficiency", padding);
        m.put("mean_batch_size", meanBatch);
        m.put("p50_latency_ms", p50);
        m.put("p99_latency_ms", p99);
        m.put("model_busy_fraction", modelSecondsInPipeline / pipelineSeconds);
        m.put("serde_us_per_record", serdeMicrosPerRecord);
        m.put("pipeline_seconds", pipelineSeconds);
        m.put("pipeline_model_seconds", modelSecondsInPipeline);
        m.put("pipeline_stream_thread_seconds", pipelineSplit);
        m.put("null_model_seconds", nullSeconds);
        m.put("null_model_stream_thread_seconds", nullSplit);
        m.put("model_alone_planner_padding", plannerPadding);
        m.put("model_alone_planned_seq_per_s", plannerModelAlone);
        m.put("model_alone_planned_pad8_padding", pad8Padding);
        m.put("model_alone_planned_pad8_seq_per_s", pad8ModelAlone);
        m.put("what_if_padding_aware_padding", awarePadding);
        m.put("what_if_padding_aware_model_alone_seq_per_s", awareModelAlone);
        return m;
    }

    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "model %s, %d rollouts, %.1f tokens/sequence on average%n", modelVersion,
                rollouts, meanTokens));
        b.append(String.format(Locale.ROOT, "%-44s %12s%n", "stage", "per second"));
        modelAlone.forEach((k, v) -> rate(b, "model alone, batch " + k + " (seq)", v));
        rate(b, "full pipeline (rollouts)", pipeline);
        rate(b, "per-record scoring, batch.max.size=1", perRecord);
        rate(b, "Kafka passthrough (consumer->producer)", passthrough);
        rate(b, "Kafka Streams EOS passthrough", streamsPassthrough);
        rate(b, "Kafka Streams EOS passthrough, two sinks", streamsTwoSinkPassthrough);
        rate(b, "topology with the null model", nullModel);
        rate(b, "  same, rollouts without group_size", nullModelUngrouped);
        rate(b, "device stand-in alone, pipeline's shapes", deviceAlone);
        rate(b, "full pipeline with the device stand-in", devicePipeline);
        b.append(String.format(Locale.ROOT, "%-44s %12s%n", "ratio", "value"));
        ratio(b, "pipeline_efficiency (pipeline / model b64)", pipelineEfficiency());
        ratio(b, "batching_gain (pipeline / per-record)", batchingGain());
        ratio(b, "kafka_efficiency (null model / passthrough)", kafkaEfficiency());
        ratio(b, "topology_efficiency (null / Streams EOS)", topologyEfficiency());
        ratio(b, "  same, vs the two-sink passthrough", topologyEfficiencyVsTwoSinks());
        ratio(b, "  same, rollouts without group_size", topologyEfficiencyUngrouped());
        ratio(b, "  CPU per record, Streams EOS / null", topologyCpuEfficiency("total"));
        ratio(b, "  same without the JIT compiler's CPU", topologyCpuEfficiency("total_without_jit"));
        ratio(b, "device_pipeline_efficiency (pipeline / alone)", devicePipelineEfficiency());
        ratio(b, "records_per_rollout (pipeline, measured)", recordsPerRollout);
        b.append(String.format(Locale.ROOT, "%-44s %12.3f%n", "padding efficiency (mean per batch)", padding));
        b.append(String.format(Locale.ROOT, "%-44s %s%n", "device stand-in per call", String.format(Locale.ROOT,
                "%.0f us + %.1f ns x padded tokens", deviceCallMicros, deviceNanosPerToken)));
        rate(b, "model alone, planned flushes of 64 (seq)", plannerModelAlone);
        rate(b, "  same with batch.pad.multiple=8 (seq)", pad8ModelAlone);
        b.append(String.format(Locale.ROOT, "%-44s %12.1f%n", "mean batch size", meanBatch));
        b.append(String.format(Locale.ROOT, "%-44s %9.0f ms%n", "latency p50 (open loop, saturated)", p50));
        b.append(String.format(Locale.ROOT, "%-44s %9.0f ms%n", "latency p99", p99));
        ratio(b, "model busy fraction in the pipeline", modelSecondsInPipeline / pipelineSeconds);
        b.append(String.format(Locale.ROOT, "%-44s %9.1f us%n", "Avro serde, rollout+reward round trip",
                serdeMicrosPerRecord));
        b.append(String.format(Locale.ROOT, "%-44s %s%n", "pipeline stream thread, seconds by phase",
                pipelineSplit));
        b.append(String.format(Locale.ROOT, "%-44s %s%n", "null-model stream thread, seconds by phase",
                nullSplit));
        cpuPerRecord().forEach((stage, per) -> {
            StringBuilder parts = new StringBuilder();
            per.forEach((k, v) -> parts.append(parts.length() == 0 ? "" : ", ").append(k).append(' ')
                    .append(String.format(Locale.ROOT, "%.1f", v)));
            b.append(String.format(Locale.ROOT, "%-44s %s%n", "CPU us/record, " + stage, parts));
        });
        b.append(String.format(Locale.ROOT, "%-44s %12.3f%n", "what-if: padding with a padding-aware split",
                awarePadding));
        rate(b, "what-if: model alone, padding-aware (seq)", awareModelAlone);
        return b.toString().stripTrailing();
    }

    /** One "label  per second" row of {@link #table()}. */
    private static void rate(StringBuilder b, String label, double perSecond) {
        b.append(String.format(Locale.ROOT, "%-44s %12.0f%n", label, perSecond));
    }

    /** One "label  ratio" row of {@link #table()}. */
    private static void ratio(StringBuilder b, String label, double value) {
        b.append(String.format(Locale.ROOT, "%-44s %12.2f%n", label, value));
    }
}
