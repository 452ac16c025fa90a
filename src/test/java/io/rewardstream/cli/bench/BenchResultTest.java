package io.rewardstream.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ConstantRewardModel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchResultTest {

    @Test
    void shouldDeriveTheRatiosAndPromiseTheKeys() {
        BenchResult r = new BenchResult();
        r.modelVersion = "builtin-small:1";
        r.modelAlone.put(1, 100.0);
        r.modelAlone.put(64, 1000.0);
        r.pipeline = 900;
        r.perRecord = 90;
        r.passthrough = 50_000;
        r.nullModel = 30_000;
        r.padding = 0.9;
        r.pipelineSeconds = 10;
        r.modelSecondsInPipeline = 8;
        assertThat(r.pipelineEfficiency()).isCloseTo(0.9, within(1e-12));
        assertThat(r.batchingGain()).isCloseTo(10, within(1e-12));
        assertThat(r.kafkaEfficiency()).isCloseTo(0.6, within(1e-12));
        Map<String, Object> j = r.toJson();
        assertThat(j).containsKeys("pipeline_efficiency", "batching_gain", "kafka_efficiency", "padding_efficiency",
                "p50_latency_ms", "p99_latency_ms", "model_alone_seq_per_s", "model_busy_fraction");
        assertThat((double) j.get("model_busy_fraction")).isCloseTo(0.8, within(1e-12));
        assertThat(r.table()).contains("pipeline_efficiency").contains("0.90").contains("10.00");
    }

    @Test
    void shouldReportCpuPerRecordByComponentAndTheWorkRatio() {
        BenchResult r = new BenchResult();
        assertThat(r.topologyCpuEfficiency("total")).isNaN();
        r.cpuSeconds.put("streams_eos_passthrough", Map.of("broker", 0.6, "jit", 0.2, "app", 0.2));
        r.cpuRecords.put("streams_eos_passthrough", 20_000L);   // two repetitions of 10,000
        r.cpuSeconds.put("null_model_topology", Map.of("broker", 1.2, "jit", 0.8, "app", 0.5));
        r.cpuRecords.put("null_model_topology", 10_000L);

        assertThat(r.cpuPerRecord().get("streams_eos_passthrough").get("total")).isCloseTo(50.0, within(1e-9));
        assertThat(r.cpuPerRecord().get("null_model_topology").get("broker")).isCloseTo(120.0, within(1e-9));
        assertThat(r.topologyCpuEfficiency("total")).isCloseTo(50.0 / 250.0, within(1e-12));
        assertThat(r.topologyCpuEfficiency("total_without_jit")).isCloseTo(40.0 / 170.0, within(1e-12));
        assertThat(r.toJson()).containsKeys("cpu_us_per_record", "topology_cpu_efficiency",
                "topology_cpu_efficiency_without_jit");
        assertThat(r.table()).contains("CPU us/record, null_model_topology");
    }

    @Test
    void shouldSplitEveryRepetitionsWindowIntoSendingAndTheTailByStageInRunOrder() {
        BenchResult r = new BenchResult();
        String line = r.window("streams_eos_passthrough", 1_000, 1_180, 1_250);
        r.window("null_model_topology", 2_000, 2_300, 2_650);
        r.window("streams_eos_passthrough", 3_000, 3_150, 3_240);

        assertThat(line).contains("sent in 180 ms").contains("70 ms later");
        assertThat(r.runWindowsMs.get("streams_eos_passthrough"))
                .containsExactly(Map.of("send", 180L, "tail", 70L), Map.of("send", 150L, "tail", 90L));
        assertThat(r.runWindowsMs.get("null_model_topology")).containsExactly(Map.of("send", 300L, "tail", 350L));
        assertThat(r.toJson()).containsEntry("runs_window_ms", r.runWindowsMs);
    }

    @Test
    void shouldDeriveTheTopologyAndDeviceRatiosAndPromiseTheirKeys() {
        BenchResult r = new BenchResult();
        r.nullModel = 3_000;
        r.streamsPassthrough = 5_000;
        r.devicePipeline = 1_350;
        r.deviceAlone = 1_500;
        r.recordsPerRollout = 2.4;
        assertThat(r.topologyEfficiency()).isCloseTo(0.6, within(1e-12));
        assertThat(r.devicePipelineEfficiency()).isCloseTo(0.9, within(1e-12));
        assertThat(r.toJson()).containsKeys("topology_efficiency", "device_pipeline_efficiency", "records_per_rollout",
                "device_pipeline_time_s",
                "streams_eos_passthrough_per_s", "device_stand_in", "device_alone_at_pipeline_shapes_per_s",
                "padding_efficiency", "pipeline_efficiency", "kafka_efficiency", "batching_gain");
        assertThat(r.table()).contains("topology_efficiency").contains("device_pipeline_efficiency")
                .contains("records_per_rollout");
    }

    @Test
    void shouldHoldTheDeviceForAPlusBTimesPaddedTokensWithoutCpuAndOneCallAtATime() throws Exception {
        io.rewardstream.scoring.ModelManifest m = ConstantRewardModel.of(0f, 128, 260).manifest();
        DeviceStandIn d = new DeviceStandIn(m, 2_000_000, 10_000);   // 2 ms + 10 us x padded tokens
        DeviceStandIn.Shape s = new DeviceStandIn.Shape(10, 30);     // 300 padded tokens: 5 ms
        long t0 = System.nanoTime();
        Thread other = new Thread(() -> d.occupy(s));
        other.start();
        d.occupy(s);
        other.join();
        long both = System.nanoTime() - t0;
        assertThat(both).as("two calls queue for the one device").isGreaterThanOrEqualTo(10_000_000L);
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        // Ten calls of 12 ms: long enough that tick-based CPU accounting (some kernels and sandboxes charge a whole
        // 10 ms tick at a time) cannot make a parked thread look busy; a spinning stand-in would use ~120 ms.
        long cpu0 = mx.getCurrentThreadCpuTime();
        long wall0 = System.nanoTime();
        for (int i = 0; i < 10; i++) {
            d.occupy(new DeviceStandIn.Shape(10, 100));   // 12 ms parked
        }
        long wall = System.nanoTime() - wall0;
        assertThat(wall).isGreaterThanOrEqualTo(120_000_000L);
        assertThat(mx.getCurrentThreadCpuTime() - cpu0).as("no CPU while it computes").isLessThan(wall / 3);
    }

    @Test
    void shouldRunQueuedCallsBackToBackAndAccountForTheRunsDeviceTime() throws Exception {
        io.rewardstream.scoring.ModelManifest m = ConstantRewardModel.of(0f, 128, 260).manifest();
        DeviceStandIn d = new DeviceStandIn(m, 1_000_000, 10_000);   // 1 ms + 10 us x padded tokens
        // 4,000 padded tokens: 41 ms, so the second call is queued behind the first even if the first thread starts
        // late on a loaded machine (with 5 ms calls it once arrived after the first had ended)
        DeviceStandIn.Shape s = new DeviceStandIn.Shape(10, 400);
        long startMs = System.currentTimeMillis();
        DeviceStandIn.Call[] first = new DeviceStandIn.Call[1];
        Thread other = new Thread(() -> first[0] = d.occupy(s));
        other.start();
        Thread.sleep(1);
        DeviceStandIn.Call second = d.occupy(s);
        other.join();
        DeviceStandIn.Call a = first[0].startNanos() <= second.startNanos() ? first[0] : second;
        DeviceStandIn.Call b = a == second ? first[0] : second;
        assertThat(b.startNanos()).as("a call queued behind another starts when it ends").isEqualTo(a.endNanos());
        assertThat(b.endNanos() - b.startNanos()).isEqualTo(41_000_000L);
        Thread.sleep(20);
        long endMs = System.currentTimeMillis();

        // alone: the same shapes back to back, rows / sum(a + b x tokens)
        assertThat(d.aloneRowsPerSecond(List.of(s, s))).isCloseTo(20 / 0.082, within(1e-6));
        Map<String, Double> acc = d.accounting(startMs, endMs);
        assertThat(acc.get("busy")).isCloseTo(0.082, within(1e-9));
        assertThat(acc.get("idle_between")).isCloseTo(0.0, within(1e-9));
        assertThat(acc.get("head") + acc.get("busy") + acc.get("idle_between") + acc.get("tail"))
                .isCloseTo(acc.get("run"), within(1e-9));
        assertThat(acc.get("tail")).isGreaterThanOrEqualTo(0.015);
    }

    @Test
    void shouldCountTheDevicesIdleGapsOverAMillisecondAndTheLongest() throws Exception {
        io.rewardstream.scoring.ModelManifest m = ConstantRewardModel.of(0f, 128, 260).manifest();
        DeviceStandIn d = new DeviceStandIn(m, 200_000_000, 0);   // 200 ms per call
        DeviceStandIn.Shape s = new DeviceStandIn.Shape(1, 10);
        long startMs = System.currentTimeMillis();
        d.occupy(s);
        Thread.sleep(120);   // the device idles: one gap over 1 ms
        // two callers at once: the second call arrives while the first runs (it has 200 ms to), so it starts the
        // instant the first ends on the device's clock, however the host threads get scheduled: no gap
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<DeviceStandIn.Call>> calls = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                calls.add(callers.submit(() -> {
                    go.await();
                    return d.occupy(s);
                }));
            }
            go.countDown();
            for (var c : calls) {
                c.get();
            }
        } finally {
            callers.shutdownNow();
        }
        long endMs = System.currentTimeMillis();

        Map<String, Double> acc = d.accounting(startMs, endMs);
        assertThat(acc.get("idle_gaps_over_1ms")).isEqualTo(1.0);
        assertThat(acc.get("largest_idle_gap")).isBetween(0.119, acc.get("idle_between"));
    }

    @Test
    void shouldReportTheMedianOfTheRepetitionsAndTheTwoSinkRatio() {
        assertThat(PipelineBench.median(List.of(9.0, 1.0, 5.0))).isEqualTo(5.0);
        assertThat(PipelineBench.median(List.of(4.0, 2.0))).isEqualTo(2.0);
        assertThat(PipelineBench.median(List.of())).isNaN();
        BenchResult r = new BenchResult();
        r.nullModel = 3_000;
        r.streamsTwoSinkPassthrough = 10_000;
        r.streamsPassthroughRuns.addAll(List.of(20_000.0, 12_000.0, 15_000.0));
        assertThat(r.topologyEfficiencyVsTwoSinks()).isCloseTo(0.3, within(1e-12));   // no paired runs: the rates
        // paired: the median of each repetition's ratio (0.46, 0.43, 0.61), not the ratio of the medians (0.60)
        r.nullModelRuns.addAll(List.of(11_700.0, 5_660.0, 7_770.0));
        r.streamsPassthroughRuns.clear();
        r.streamsPassthroughRuns.addAll(List.of(25_580.0, 13_020.0, 12_690.0));
        assertThat(r.topologyEfficiency()).isCloseTo(11_700.0 / 25_580.0, within(1e-12));
        Map<String, Object> j = r.toJson();
        assertThat(j).containsKeys("streams_eos_two_sink_passthrough_per_s", "topology_efficiency_vs_two_sinks",
                "runs_per_s");
        @SuppressWarnings("unchecked")
        Map<String, Object> runs = (Map<String, Object>) j.get("runs_per_s");
        assertThat(runs).containsEntry("streams_eos_passthrough", List.of(25_580.0, 13_020.0, 12_690.0));
    }

    @Test
    void shouldPairTheUngroupedNullModelWithTheSameRepetitionsPassthrough() {
        BenchResult r = new BenchResult();
        r.streamsPassthroughRuns.addAll(List.of(40_000.0, 20_000.0, 30_000.0));
        r.nullModelUngroupedRuns.addAll(List.of(24_000.0, 8_000.0, 18_000.0));   // ratios 0.6, 0.4, 0.6
        r.nullModelRuns.addAll(List.of(16_000.0, 6_000.0, 12_000.0));            // ratios 0.4, 0.3, 0.4

        assertThat(r.topologyEfficiencyUngrouped()).isCloseTo(0.6, within(1e-12));
        assertThat(r.topologyEfficiency()).isCloseTo(0.4, within(1e-12));
        Map<String, Object> j = r.toJson();
        assertThat(j.get("topology_efficiency_ungrouped")).isEqualTo(r.topologyEfficiencyUngrouped());
        @SuppressWarnings("unchecked")
        Map<String, Object> runs = (Map<String, Object>) j.get("runs_per_s");
        assertThat(runs).containsEntry("null_model_ungrouped_topology", List.of(24_000.0, 8_000.0, 18_000.0));
        assertThat(r.table()).contains("same, rollouts without group_size");
    }

    @Test
    void shouldClearOnlyTheGroupSizeForTheUngroupedStage() {
        List<io.rewardstream.avro.Rollout> grouped = PipelineBench.rollouts(8, 1);
        List<io.rewardstream.avro.Rollout> plain = PipelineBench.withoutGroupSize(grouped);

        assertThat(grouped).allSatisfy(g -> assertThat(g.getGroupSize()).isNotNull());
        assertThat(plain).hasSize(8).allSatisfy(p -> assertThat(p.getGroupSize()).isNull());
        for (int i = 0; i < grouped.size(); i++) {
            io.rewardstream.avro.Rollout expected = io.rewardstream.avro.Rollout.newBuilder(grouped.get(i))
                    .setGroupSize(null).build();
            assertThat(plain.get(i)).isEqualTo(expected);
            assertThat(plain.get(i).getGroupId()).isEqualTo(grouped.get(i).getGroupId());
        }
    }

    @Test
    void shouldRefuseRepetitionsOutsideOneToNine() {
        assertThatThrownBy(() -> new PipelineBench.Options("small", 1000, 100, java.nio.file.Path.of("c"),
                java.nio.file.Path.of("w"), java.util.Set.of("null"), Map.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--reps");
    }

    @Test
    void shouldRefuseAnUnknownStage() {
        assertThatThrownBy(() -> new PipelineBench.Options("small", 1000, 100, java.nio.file.Path.of("c"),
                java.nio.file.Path.of("w"), java.util.Set.of("device", "gpu"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--stages").hasMessageContaining("gpu");
    }

    @Test
    void shouldSplitBimodalLengthsSoPaddingStaysAboveTheTarget() {
        java.util.List<io.rewardstream.scoring.EncodedSequence> seqs = new java.util.ArrayList<>();
        for (int i = 0; i < 60; i++) {
            seqs.add(io.rewardstream.scoring.EncodedSequence.of(new int[16]));
        }
        for (int i = 0; i < 4; i++) {
            seqs.add(io.rewardstream.scoring.EncodedSequence.of(new int[56]));
        }
        // the scorer's planner cuts the sorted flush where padding costs more than a call: two exact batches
        io.rewardstream.scoring.BatchPlanner planner = new io.rewardstream.scoring.BatchPlanner(
                new io.rewardstream.scoring.BatchingConfig(64, 1 << 20, 8, 200), 128, 0);
        assertThat(planner.plan(seqs).batches()).hasSize(2);
        assertThat(planner.plan(seqs).paddingEfficiency()).isEqualTo(1.0);
        // a planner told that calls are very expensive keeps one batch of 64 padded to 56
        io.rewardstream.scoring.BatchPlanner oneCall = new io.rewardstream.scoring.BatchPlanner(
                new io.rewardstream.scoring.BatchingConfig(64, 1 << 20, 8, 200, 1 << 20), 128, 0);
        assertThat(oneCall.plan(seqs).batches()).hasSize(1);
        assertThat(oneCall.plan(seqs).paddingEfficiency()).isLessThan(0.4);
        List<io.rewardstream.scoring.PaddedBatch> aware = ModelAloneBench.paddingAwarePlan(seqs, oneCall, 0.85);
        assertThat(aware).hasSize(2);
        assertThat(aware).allSatisfy(b -> assertThat(b.paddingEfficiency()).isGreaterThanOrEqualTo(0.85));
        assertThat(aware.stream().mapToInt(io.rewardstream.scoring.PaddedBatch::rows).sum()).isEqualTo(64);
    }

    @Test
    void shouldMeasureTheModelAloneOnPlannedBatches() {
        List<Rollout> rs = PipelineBench.rollouts(200, 1);
        assertThat(rs).hasSize(200);
        double sps = ModelAloneBench.modelAlone(ConstantRewardModel.of(0f, 128, 260) , rs, 64);
        assertThat(sps).isPositive();
    }
}
