package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.rewardstream.scoring.RewardShaperTest.assertReason;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ScoreCombinerTest {

    private static final ModelManifest TWO_HEADS = new ModelManifest("m", 1, 16, 0, 260, "ids", null,
            List.of(new ModelManifest.Head("a", 1.0), new ModelManifest.Head("b", 0.5)), null, null, null, null, 0, null);

    @Test
    void shouldSumHeadsWithManifestOrConfigWeights() {
        assertThat(new ScoreCombiner(ShapingConfig.defaults(), TWO_HEADS).weightedSum(Map.of("a", 2.0, "b", 4.0))).isEqualTo(4.0);
        ScoreCombiner over = new ScoreCombiner(ShapingConfig.from(Map.of("scoring.head.weights", "b:-1")), TWO_HEADS);
        assertThat(over.weightedSum(Map.of("a", 2.0, "b", 4.0))).isEqualTo(-2.0);
    }

    @Test
    void shouldRejectUnknownOverrideMissingHeadAndNonFiniteHead() {
        assertThatThrownBy(() -> new ScoreCombiner(ShapingConfig.from(Map.of("scoring.head.weights", "c:1")), TWO_HEADS))
                .hasMessageContaining("scoring.head.weights");
        ScoreCombiner c = new ScoreCombiner(ShapingConfig.defaults(), TWO_HEADS);
        assertReason(() -> c.weightedSum(Map.of("a", 1.0)), InvalidRolloutException.Reason.MISSING_FIELD);
        Map<String, Double> nan = new HashMap<>(Map.of("a", 1.0, "b", Double.NaN));
        assertReason(() -> c.weightedSum(nan), InvalidRolloutException.Reason.NON_FINITE_SCORE);
    }

    @Test
    void shouldPenalizeEnsembleUncertainty() {
        ScoreCombiner c = new ScoreCombiner(ShapingConfig.from(Map.of("scoring.uncertainty.penalty", "2")), null);
        ScoreCombiner.EnsembleScore e = c.ensemble(new double[]{1, 3});
        assertThat(e.mean()).isEqualTo(2.0);
        // population std (divide by n): the two members are 1 away from their mean
        assertThat(e.std()).isCloseTo(1.0, within(1e-12));
        assertThat(e.score()).isCloseTo(0.0, within(1e-12));
        assertReason(() -> c.ensemble(new double[]{1, Double.POSITIVE_INFINITY}), InvalidRolloutException.Reason.NON_FINITE_SCORE);
        assertReason(() -> c.ensemble(new double[0]), InvalidRolloutException.Reason.MISSING_FIELD);
    }

    @Test
    void shouldRefuseANegativeOrNonFiniteModelStd() {
        ScoreCombiner c = new ScoreCombiner(ShapingConfig.from(Map.of("scoring.uncertainty.penalty", "0.5")), null);
        assertThat(c.penalized(1.0, 0.5)).isEqualTo(0.75);
        assertReason(() -> c.penalized(1.0, -0.1), InvalidRolloutException.Reason.NON_FINITE_SCORE);
        assertReason(() -> c.penalized(1.0, Double.NaN), InvalidRolloutException.Reason.NON_FINITE_SCORE);
    }
}
