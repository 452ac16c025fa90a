package io.rewardstream.scoring;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.InvalidRolloutException.Reason;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class RewardShaperTest {

    private static final double[] LP = {-1.0, -2.0, -0.5};
    private static final double[] LR = {-1.5, -1.0, -0.5}; // d = 0.5, -1, 0

    private static RewardShaper shaper(Map<String, ?> cfg) {
        return new RewardShaper(ShapingConfig.from(cfg));
    }

    @Test
    void shouldComputeDefaultRewardAsScoreMinusBetaTimesSumOfLogRatio() {
        ShapedReward r = new RewardShaper(ShapingConfig.defaults()).shape(2.0, LP, LR, true, 0.05);
        assertThat(r.klSum()).isCloseTo(-0.5, within(1e-12));
        assertThat(r.reward()).isCloseTo(2.0 - 0.05 * -0.5, within(1e-12));
        assertThat(r.tokenRewards()).containsExactly(new double[]{-0.025, 0.05, 2.0}, within(1e-12));
        assertThat(r.shapedScore()).isEqualTo(2.0);
        assertThat(r.score()).isEqualTo(2.0);
        assertThat(r.beta()).isEqualTo(0.05);
        assertThat(r.flags()).isEmpty();
    }

    @Test
    void shouldMakeTokenRewardsSumToSequenceReward() {
        ShapedReward r = shaper(Map.of("scoring.kl.estimator", "k3")).shape(0.7, LP, LR, true, 0.3);
        double sum = 0;
        for (double v : r.tokenRewards()) {
            sum += v;
        }
        assertThat(sum).isCloseTo(r.reward(), within(1e-12));
        assertThat(r.length()).isEqualTo(3);
    }

    @Test
    void shouldApplyEachEstimator() {
        double d = -1.0;
        assertThat(KlEstimator.K1.estimate(d)).isEqualTo(-1.0);
        assertThat(KlEstimator.K2.estimate(d)).isEqualTo(0.5);
        assertThat(KlEstimator.K3.estimate(d)).isCloseTo(Math.E - 2.0, within(1e-12));
        assertThat(KlEstimator.ABS.estimate(d)).isEqualTo(1.0);
        assertThat(KlEstimator.K3.estimate(0.0)).isEqualTo(0.0);
    }

    @Test
    void shouldClampPerTokenKlBothWays() {
        ShapedReward r = shaper(Map.of("scoring.kl.clamp", "3")).shape(0, new double[]{-0.5, -20}, new double[]{-20, -0.5}, true, 1);
        assertThat(r.klPerToken()).containsExactly(3.0, -3.0);
        // k3 overflows exp(-d) to infinity for very negative d; the clamp must still give a number
        ShapedReward k3 = shaper(Map.of("scoring.kl.estimator", "k3")).shape(0, new double[]{-1000}, new double[]{0}, true, 1);
        assertThat(k3.klPerToken()).containsExactly(10.0);
    }

    @Test
    void shouldFlagAndZeroKlWithoutReference() {
        ShapedReward r = shaper(Map.of()).shape(1.0, LP, null, true, 0.05);
        assertThat(r.flags()).containsExactly(RewardFlags.NO_REFERENCE);
        assertThat(r.klPerToken()).containsOnly(0.0);
        assertThat(r.klSum()).isZero();
        assertThat(r.reward()).isEqualTo(1.0);
    }

    @Test
    void shouldFlagMissingEosAlwaysButPenalizeOnlyWhenConfigured() {
        ShapedReward off = shaper(Map.of()).shape(1.0, LP, LR, false, 0.0);
        assertThat(off.flags()).containsExactly(RewardFlags.MISSING_EOS);
        assertThat(off.shapedScore()).isEqualTo(1.0);
        ShapedReward on = shaper(Map.of("scoring.missing.eos.penalty", "0.75")).shape(1.0, LP, LR, false, 0.0);
        assertThat(on.shapedScore()).isEqualTo(0.25);
        assertThat(on.score()).isEqualTo(1.0);
        ShapedReward stopped = shaper(Map.of("scoring.missing.eos.penalty", "0.75")).shape(1.0, LP, LR, true, 0.0);
        assertThat(stopped.shapedScore()).isEqualTo(1.0);
        assertThat(stopped.flags()).isEmpty();
    }

    @Test
    void shouldNormalizeStaticallyThenClip() {
        RewardShaper s = new RewardShaper(ShapingConfig.from(Map.of("scoring.normalization", "static", "scoring.score.clip", "1.5")),
                new ModelManifest.Normalization(1.0, 2.0));
        assertThat(s.shape(2.0, LP, LR, true, 0).shapedScore()).isEqualTo(0.5);
        assertThat(s.shape(9.0, LP, LR, true, 0).shapedScore()).isEqualTo(1.5);
        assertThat(s.shape(-9.0, LP, LR, true, 0).shapedScore()).isEqualTo(-1.5);
    }

    @Test
    void shouldRefuseStaticNormalizationWithoutManifestStats() {
        assertThatThrownBy(() -> new RewardShaper(ShapingConfig.from(Map.of("scoring.normalization", "static"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scoring.normalization");
    }

    @Test
    void shouldIncludeCurrentScoreInRunningNormalizationAndReturnUpdatedStats() {
        RewardShaper s = shaper(Map.of("scoring.normalization", "running"));
        ShapedReward first = s.shape(5.0, LP, LR, true, 0, RunningStats.EMPTY);
        assertThat(first.shapedScore()).isZero(); // whitened with itself: s - mean = 0
        assertThat(first.runningStats()).isEqualTo(new RunningStats(1, 5.0, 0.0));
        ShapedReward second = s.shape(7.0, LP, LR, true, 0, first.runningStats());
        // stats {5, 7}: mean 6, sample std sqrt(2)
        assertThat(second.shapedScore()).isCloseTo(1.0 / Math.sqrt(2), within(1e-12));
        assertThat(second.runningStats().count()).isEqualTo(2);
    }

    @Test
    void shouldTrackRawScoreNotPenalizedScoreInRunningStats() {
        RewardShaper s = shaper(Map.of("scoring.normalization", "running", "scoring.missing.eos.penalty", "1"));
        ShapedReward r = s.shape(5.0, LP, LR, false, 0, RunningStats.EMPTY);
        assertThat(r.runningStats().mean()).isEqualTo(5.0);
        assertThat(r.shapedScore()).isEqualTo(-1.0);
    }

    @Test
    void shouldLeaveRunningStatsUntouchedWhenNotRunning() {
        RunningStats st = new RunningStats(3, 1, 2);
        assertThat(shaper(Map.of()).shape(5.0, LP, LR, true, 0, st).runningStats()).isSameAs(st);
    }

    @Test
    void shouldRejectEmptyResponse() {
        assertReason(() -> shaper(Map.of()).shape(1, new double[0], new double[0], true, 0.05), Reason.EMPTY_RESPONSE);
    }

    @Test
    void shouldRejectReferenceLengthMismatch() {
        assertReason(() -> shaper(Map.of()).shape(1, LP, new double[]{-1}, true, 0.05), Reason.REFERENCE_LENGTH_MISMATCH);
    }

    @Test
    void shouldRejectNonFiniteLogprobs() {
        assertReason(() -> shaper(Map.of()).shape(1, new double[]{-1, Double.NaN}, null, true, 0.05), Reason.NON_FINITE_LOGPROB);
        assertReason(() -> shaper(Map.of()).shape(1, LP, new double[]{-1, Double.NEGATIVE_INFINITY, 0}, true, 0.05), Reason.NON_FINITE_LOGPROB);
    }

    @Test
    void shouldRejectNonFiniteScore() {
        assertReason(() -> shaper(Map.of()).shape(Double.NaN, LP, LR, true, 0.05), Reason.NON_FINITE_SCORE);
        assertReason(() -> shaper(Map.of()).shape(Double.POSITIVE_INFINITY, LP, LR, true, 0.05), Reason.NON_FINITE_SCORE);
    }

    @Test
    void shouldRejectNullPolicyLogprobsAndBadBeta() {
        assertReason(() -> shaper(Map.of()).shape(1, null, null, true, 0.05), Reason.MISSING_FIELD);
        assertThatThrownBy(() -> shaper(Map.of()).shape(1, LP, LR, true, -0.1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beta");
    }

    @Test
    void shouldShapeAvroRolloutAndCheckLogprobLength() {
        Rollout r = rollout(List.of(5, 6, 7), List.of(-1f, -2f, -0.5f), List.of(-1.5f, -1f, -0.5f), FinishReason.LENGTH);
        ShapedReward out = shaper(Map.of()).shape(2.0, r, 0.05, null);
        assertThat(out.reward()).isCloseTo(2.025, within(1e-12));
        assertThat(out.flags()).containsExactly(RewardFlags.MISSING_EOS);
        assertThat(out.tokenRewardsAsFloats()).hasSize(3);
        Rollout bad = rollout(List.of(5, 6), List.of(-1f, -2f, -0.5f), null, FinishReason.STOP);
        assertReason(() -> shaper(Map.of()).shape(2.0, bad, 0.05, null), Reason.LOGPROB_LENGTH_MISMATCH);
    }

    static Rollout rollout(List<Integer> response, List<Float> lp, List<Float> lr, FinishReason finish) {
        return Rollout.newBuilder().setRolloutId("r1").setGroupId("g1").setPolicyVersion("p1")
                .setPromptTokenIds(List.of(1, 2)).setResponseTokenIds(response).setPolicyLogprobs(lp)
                .setReferenceLogprobs(lr).setFinishReason(finish).setCreatedAt(Instant.ofEpochMilli(1)).build();
    }

    static void assertReason(Runnable r, Reason reason) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(InvalidRolloutException.class,
                e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
