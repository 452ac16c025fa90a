package io.rewardstream.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.training.ArithmeticTask;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoPiecesTest {

    private static final ArithmeticTask ADD = new ArithmeticTask(ArithmeticTask.Config.defaults());

    @Test
    void shouldDrawGroupsWithCorrectnessMatchingTheVerifier() {
        SimulatedPolicy p = new SimulatedPolicy(1, 0.5, 4, 0.5);
        int correct = 0;
        int total = 0;
        for (int g = 0; g < 200; g++) {
            List<SimulatedPolicy.Sample> group = p.group(ADD, "add", "policy-1", 1000L);
            assertThat(group).hasSize(4);
            assertThat(group).extracting(s -> s.rollout().getGroupId()).containsOnly(group.get(0).rollout().getGroupId());
            for (SimulatedPolicy.Sample s : group) {
                Rollout r = s.rollout();
                assertThat(ArithmeticTask.isCorrect(r.getPromptText(), r.getResponseText())).isEqualTo(s.correct());
                assertThat(r.getResponseTokenIds()).hasSize(r.getPolicyLogprobs().size())
                        .hasSize(r.getReferenceLogprobs().size());
                assertThat(r.getResponseTokenIds().get(0)).isEqualTo(ByteTokenizer.encode(r.getResponseText())[0]);
                assertThat(r.getGroupSize()).isEqualTo(4);
                assertThat(r.getCreatedAt()).isEqualTo(Instant.ofEpochMilli(1000));
                correct += s.correct() ? 1 : 0;
                total++;
            }
        }
        assertThat((double) correct / total).isBetween(0.42, 0.58);
    }

    @Test
    void shouldKeepGroupIdsOfTwoPoliciesOnOneTaskApartAndPadWhenDrifting() {
        SimulatedPolicy a = new SimulatedPolicy(1, 0.5, 4, 0.0);
        SimulatedPolicy b = new SimulatedPolicy(2, 0.5, 4, 0.0).padding(1.0, 1.0);
        String ga = a.group(ADD, "add", "p", 0).get(0).rollout().getGroupId();
        List<SimulatedPolicy.Sample> bs = b.group(ADD, "add", "p", 0);
        assertThat(bs.get(0).rollout().getGroupId()).isNotEqualTo(ga);
        for (SimulatedPolicy.Sample s : bs) {
            assertThat(s.padded()).isTrue();
            assertThat(s.rollout().getResponseText().length()).isGreaterThan(20);
            // the verifier still reads the number (it comes last)
            assertThat(ArithmeticTask.isCorrect(s.rollout().getPromptText(), s.rollout().getResponseText()))
                    .isEqualTo(s.correct());
        }
    }

    @Test
    void shouldMakeKlPositiveOnAverageAndFollowTheDrift() {
        SimulatedPolicy p = new SimulatedPolicy(2, 0.5, 1, 0.5);
        assertThat(meanK1(p.drift(0.01))).isBetween(0.005, 0.015);
        assertThat(meanK1(p.drift(0.08))).isBetween(0.07, 0.09);
        assertThatThrownBy(() -> p.drift(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SimulatedPolicy(1, 1.5, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private static double meanK1(SimulatedPolicy p) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < 500; i++) {
            Rollout r = p.group(ADD, "add", "p", 0).get(0).rollout();
            for (int t = 0; t < r.getPolicyLogprobs().size(); t++) {
                sum += r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t);
                n++;
            }
        }
        return sum / n;
    }

    private static Reward reward(String id, String version, double score, long created) {
        return Reward.newBuilder().setRolloutId(id).setGroupId("g").setPolicyVersion("p").setModelVersion(version)
                .setScore(score).setShapedScore(score).setKl(0.5).setKlCoef(0.05).setTokenRewards(List.of(0f))
                .setReward(score - 0.025).setRolloutCreatedAt(Instant.ofEpochMilli(created))
                .setScoredAt(Instant.ofEpochMilli(created + 5)).build();
    }

    @Test
    void shouldSplitBeforeAndAfterTheReleaseOnTheShiftedTask() {
        DemoRecorder rec = new DemoRecorder(0);
        // original task under v1: perfectly separated
        rec.produced("a1", true, "add", false);
        rec.produced("a2", false, "add", false);
        rec.observe(reward("a1", "m:1", 1.0, 100), 110);
        rec.observe(reward("a2", "m:1", -1.0, 100), 120);
        // shifted task under v1: inverted; under v2: separated
        rec.produced("m1", true, "mul", true);
        rec.produced("m2", false, "mul", true);
        rec.observe(reward("m1", "m:1", -1.0, 200), 230);
        rec.observe(reward("m2", "m:1", 1.0, 200), 240);
        rec.produced("m3", true, "mul", true);
        rec.produced("m4", false, "mul", true);
        rec.observe(reward("m3", "m:2", 2.0, 300), 350);
        rec.observe(reward("m4", "m:2", 0.0, 300), 360);
        rec.observe(reward("m4", "m:2", 0.0, 300), 370);   // duplicate: not counted
        rec.observe(reward("zz", "m:2", 0.0, 300), 370);   // not ours: not counted

        DemoSummary s = rec.summary(3, 2.0);
        assertThat(s.rollouts()).isEqualTo(6);
        assertThat(s.rewards()).isEqualTo(6);
        assertThat(rec.duplicates()).isEqualTo(1);
        assertThat(rec.unknown()).isEqualTo(1);
        assertThat(s.modelVersions()).containsExactly("m:1", "m:2");
        assertThat(s.original().auc()).isEqualTo(1.0);
        assertThat(s.before().auc()).isEqualTo(0.0);
        assertThat(s.after().auc()).isEqualTo(1.0);
        assertThat(s.after().meanRewardCorrect()).isEqualTo(2.0 - 0.025);
        assertThat(s.throughput()).isEqualTo(3.0);
        assertThat(s.p50LatencyMs()).isEqualTo(35.0);   // latencies 10,20,30,40,50,60

        Map<String, Object> json = s.toJson();
        assertThat(json).containsKeys("rollouts", "rewards", "dead_letters", "model_versions", "auc_before",
                "auc_after", "throughput_per_s", "p99_latency_ms");
        assertThat(json.get("dead_letters")).isEqualTo(3L);
        assertThat(s.text()).contains("shifted, after").contains("m:2");
    }

    @Test
    void shouldReportTheExploitAndTheOriginalTaskBeforeAndAfterTheRelease() {
        DemoRecorder rec = new DemoRecorder(0);
        rec.produced("o1", true, "add", false, false, false);
        rec.produced("o2", false, "add", false, false, false);
        rec.observe(reward("o1", "m:1", 1.0, 0), 1);
        rec.observe(reward("o2", "m:1", -1.0, 0), 2);
        // drifted under v1: the exploit (wrong + padded) pays more than the correct answer
        rec.produced("d1", true, "add", true, false, false);
        rec.produced("d2", false, "add", true, true, false);
        rec.observe(reward("d1", "m:1", 1.0, 0), 3);
        rec.observe(reward("d2", "m:1", 3.0, 0), 4);
        // under v2: it does not; a probe of the original policy is scored too
        rec.produced("d3", true, "add", true, true, false);
        rec.produced("d4", false, "add", true, true, false);
        rec.produced("p1", true, "add", false, false, true);
        rec.produced("p2", false, "add", false, false, true);
        rec.observe(reward("d3", "m:2", 2.0, 0), 5);
        rec.observe(reward("d4", "m:2", -2.0, 0), 6);
        rec.observe(reward("p1", "m:2", 1.5, 0), 7);
        rec.observe(reward("p2", "m:2", -1.5, 0), 8);
        DemoSummary s = rec.summary(0, 1, "reward-hacking");
        Map<String, Object> j = s.toJson();
        assertThat(j.get("scenario")).isEqualTo("reward-hacking");
        assertThat(j.get("auc_before")).isEqualTo(0.0);
        assertThat(j.get("auc_after")).isEqualTo(1.0);
        assertThat(j.get("original_auc_before")).isEqualTo(1.0);
        assertThat(j.get("original_auc_after")).isEqualTo(1.0);
        assertThat((double) j.get("exploit_reward_before")).isEqualTo(3.0 - 0.025);
        assertThat((double) j.get("exploit_reward_after")).isEqualTo(-2.0 - 0.025);
        assertThat(j.get("uncertainty_in_distribution")).isNull();   // the scorer leaves Reward.uncertainty null
        assertThat(s.originalAfter().n()).isEqualTo(2);
        assertThat(s.timeline()).isNotEmpty();
        assertThat(s.text()).contains("exploit").contains("original, after");
    }

    @Test
    void shouldLeaveAfterEmptyAndAucNullWithoutASecondVersion() {
        DemoRecorder rec = new DemoRecorder(0);
        rec.produced("m1", true, "mul", true);
        rec.produced("m2", false, "mul", true);
        rec.observe(reward("m1", "m:1", 1.0, 0), 1);
        rec.observe(reward("m2", "m:1", 0.0, 0), 1);
        DemoSummary s = rec.summary(0, 1);
        assertThat(s.after().n()).isZero();
        assertThat(s.toJson().get("auc_after")).isNull();
        assertThat(s.toJson().get("auc_before")).isEqualTo(1.0);
    }

    @Test
    void shouldWritePlotsAndPage(@TempDir Path dir) throws Exception {
        DemoRecorder rec = new DemoRecorder(0);
        for (int i = 0; i < 200; i++) {
            String id = "r" + i;
            boolean shifted = i >= 100;
            rec.produced(id, i % 2 == 0, shifted ? "mul" : "add", shifted);
            rec.observe(reward(id, i < 150 ? "m:1" : "m:2", (i % 2 == 0 ? 1 : -1) * (i / 200.0), i), i + 10 + i % 7);
        }
        DemoSummary s = rec.summary(0, 1);
        Path index = DemoReport.write(dir, s, "{}");
        for (String f : List.of(DemoReport.REWARDS_PNG, DemoReport.KL_PNG, DemoReport.LATENCY_PNG)) {
            byte[] png = Files.readAllBytes(dir.resolve(f));
            assertThat(png.length).isGreaterThan(1000);
            assertThat(new String(png, 1, 3, StandardCharsets.US_ASCII)).isEqualTo("PNG");
        }
        assertThat(Files.readString(index)).contains("<img src=\"" + DemoReport.KL_PNG + "\"").contains("auc_after");
    }

    @Test
    void shouldPlotTheSampledMonitorGaugesPerPolicyAndModel(@TempDir Path dir) throws Exception {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(0);
        io.rewardstream.topology.OveroptimizationMonitor m = new io.rewardstream.topology.OveroptimizationMonitor(
                registry, 60_000, 100, now::get);
        MonitorSampler sampler = new MonitorSampler(registry, 3_600_000);
        for (int i = 0; i < 20; i++) {
            m.reward("policy-1", "m:1", -1.0 + 0.1 * i, 0.2, 10 + i, 0.05);
            m.reward("policy-2", "m:2", 0.5, 0.1, 12, null);
            sampler.sample();
        }
        sampler.close();
        List<MonitorSampler.Point> points = sampler.points();
        assertThat(points).anyMatch(p -> p.metric().equals("rewardstream.monitor.reward.mean")
                && p.series().equals("policy-1 / m:1") && p.value() < 0);
        Path index = DemoReport.write(dir, new DemoRecorder(0).summary(0, 1), "{}", points);
        assertThat(Files.readString(index)).contains("monitor-reward-mean.png")
                .contains("monitor-length-reward-correlation.png").contains(DemoReport.MONITORS_CSV);
        assertThat(Files.size(dir.resolve("monitor-reward-mean.png"))).isGreaterThan(1000);
        assertThat(Files.readString(dir.resolve(DemoReport.MONITORS_CSV)))
                .contains("rewardstream.monitor.uncertainty.mean,\"policy-1 / m:1\",0.05");
    }

    @Test
    void shouldPrintProgressLinesPerDecileWithoutATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        StatusLine bar = new StatusLine(new PrintStream(buf, true, StandardCharsets.UTF_8), false, true);
        List<String> phases = new ArrayList<>();
        for (int i = 0; i <= 100; i++) {
            bar.update(i, 100, i, "m:1", 50, "", false);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertThat(out.lines().count()).isEqualTo(11);
        assertThat(out).contains("[####################] rollouts in 100/100 | rewards out 100 | model m:1 | 50/s");
        assertThat(phases).isEmpty();
        ByteArrayOutputStream quiet = new ByteArrayOutputStream();
        new StatusLine(new PrintStream(quiet), false, false).update(1, 1, 1, "m", 1, "", true);
        assertThat(quiet.size()).isZero();
    }
}
