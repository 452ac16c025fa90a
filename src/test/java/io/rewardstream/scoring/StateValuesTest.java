package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** RunningStats, KlControllerState and KlController. */
class StateValuesTest {

    @Test
    void shouldMatchTwoPassMeanAndSampleVariance() {
        double[] xs = {3.5, -1.25, 8.0, 0.0, 2.5, 1e3, -7.75};
        RunningStats s = RunningStats.EMPTY;
        for (double x : xs) {
            s = s.plus(x);
        }
        double mean = Arrays.stream(xs).average().orElseThrow();
        double var = Arrays.stream(xs).map(x -> (x - mean) * (x - mean)).sum() / (xs.length - 1);
        assertThat(s.count()).isEqualTo(xs.length);
        assertThat(s.mean()).isCloseTo(mean, within(1e-9));
        assertThat(s.variance()).isCloseTo(var, within(1e-9));
        assertThat(s.whiten(mean + Math.sqrt(var))).isCloseTo(1.0, within(1e-9));
    }

    @Test
    void shouldDefineZeroVarianceBelowTwoValues() {
        assertThat(RunningStats.EMPTY.variance()).isZero();
        RunningStats one = RunningStats.EMPTY.plus(4);
        assertThat(one.std()).isZero();
        assertThat(one.whiten(6)).isEqualTo(2.0);
    }

    @Test
    void shouldRoundTripRunningStatsThroughBytes() {
        RunningStats s = RunningStats.EMPTY.plus(1).plus(2.5).plus(-3);
        byte[] b = s.toBytes();
        assertThat(b).hasSize(RunningStats.BYTES);
        assertThat(RunningStats.fromBytes(b)).isEqualTo(s);
    }

    @Test
    void shouldRejectCorruptOrInvalidStats() {
        assertThatThrownBy(() -> RunningStats.fromBytes(new byte[3])).isInstanceOf(IllegalArgumentException.class);
        byte[] b = RunningStats.EMPTY.plus(1).toBytes();
        b[0] = 9;
        assertThatThrownBy(() -> RunningStats.fromBytes(b)).hasMessageContaining("version");
        assertThatThrownBy(() -> RunningStats.EMPTY.plus(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RunningStats(2, 0, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRoundTripControllerStateThroughBytes() {
        KlControllerState s = new KlControllerState(0.0625, 3, 17.5);
        assertThat(KlControllerState.fromBytes(s.toBytes())).isEqualTo(s);
        assertThatThrownBy(() -> KlControllerState.fromBytes(new byte[24])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new KlControllerState(-1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private static KlController adaptive(int window) {
        return new KlController(ShapingConfig.from(Map.of("scoring.kl.controller", "adaptive", "scoring.kl.coef", "0.1",
                "scoring.kl.target", "4", "scoring.kl.horizon", "100", "scoring.kl.window", Integer.toString(window))));
    }

    @Test
    void shouldRaiseBetaWhenKlAboveTargetAndClipTheError() {
        KlController c = adaptive(2);
        KlControllerState s = c.observe(c.initial(), 5.0);
        assertThat(s.beta()).isEqualTo(0.1); // window still open
        assertThat(s.count()).isEqualTo(1);
        s = c.observe(s, 5.0); // K = 5: error 0.25 clipped to 0.2
        assertThat(s.beta()).isCloseTo(0.1 * (1 + 0.2 * 2 / 100.0), within(1e-15));
        assertThat(s.count()).isZero();
        assertThat(s.klSum()).isZero();
    }

    @Test
    void shouldLowerBetaWhenKlBelowTarget() {
        KlController c = adaptive(1);
        KlControllerState s = c.observe(c.initial(), 3.6); // error -0.1
        assertThat(s.beta()).isCloseTo(0.1 * (1 - 0.1 / 100.0), within(1e-15));
    }

    @Test
    void shouldKeepBetaFixedAndSkipNoReferenceRewards() {
        KlController fixed = new KlController(ShapingConfig.defaults());
        KlControllerState s0 = fixed.initial();
        assertThat(fixed.observe(s0, 1000.0)).isEqualTo(s0);
        assertThat(s0.beta()).isEqualTo(0.05);

        KlController c = adaptive(1);
        ShapedReward noRef = new RewardShaper(ShapingConfig.defaults()).shape(1, new double[]{-1}, null, true, 0.1);
        assertThat(c.observe(c.initial(), noRef)).isEqualTo(c.initial());
        assertThatThrownBy(() -> c.observe(c.initial(), Double.NaN)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldAccumulateObservationsAndUpdateBetaOnlyWhenTheWindowIsClosedAndFull() {
        KlController c = adaptive(10);
        KlControllerState s = c.accumulate(c.initial(), 4, 16.0);
        assertThat(s.beta()).as("accumulating never moves beta").isEqualTo(0.1);
        assertThat(c.closeWindow(s)).as("4 < window 10: nothing to close").isSameAs(s);
        s = c.accumulate(s, 8, 36.0); // 12 rewards, mean KL 52/12 = 4.333: error 0.0833
        KlControllerState next = c.closeWindow(s);
        assertThat(next.beta()).isCloseTo(0.1 * (1 + (52.0 / 12 / 4 - 1) * 12 / 100.0), within(1e-15));
        assertThat(next.count()).isZero();
        assertThat(c.closeWindow(next)).isSameAs(next);

        KlController fixed = new KlController(ShapingConfig.defaults());
        assertThat(fixed.closeWindow(fixed.accumulate(fixed.initial(), 100, 1e6))).isEqualTo(fixed.initial());
        assertThatThrownBy(() -> c.accumulate(c.initial(), -1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
