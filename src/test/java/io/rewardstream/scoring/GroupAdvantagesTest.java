package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import static io.rewardstream.scoring.GroupAdvantages.Method.GRPO;
import static io.rewardstream.scoring.GroupAdvantages.Method.NONE;
import static io.rewardstream.scoring.GroupAdvantages.Method.RLOO;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class GroupAdvantagesTest {

    @Test
    void shouldWhitenWithSampleStdForGrpo() {
        double[] a = GroupAdvantages.compute(new double[]{1, 2, 3}, GRPO, 0);
        assertThat(a).containsExactly(new double[]{-1, 0, 1}, within(1e-12));
        double[] e = GroupAdvantages.compute(new double[]{1, 2, 3}, GRPO, 1);
        assertThat(e).containsExactly(new double[]{-0.5, 0, 0.5}, within(1e-12));
    }

    @Test
    void shouldSubtractLeaveOneOutMeanForRloo() {
        assertThat(GroupAdvantages.compute(new double[]{1, 2, 6}, RLOO, 1e-6))
                .containsExactly(new double[]{1 - 4, 2 - 3.5, 6 - 1.5}, within(1e-12));
    }

    @Test
    void shouldPassThroughForNoneAndNotModifyInput() {
        double[] r = {1, -2};
        double[] a = GroupAdvantages.compute(r, NONE, 1e-6);
        assertThat(a).containsExactly(1, -2);
        a[0] = 99;
        assertThat(r[0]).isEqualTo(1);
    }

    @Test
    void shouldGiveZeroForSingleMemberAndEqualRewards() {
        assertThat(GroupAdvantages.compute(new double[]{5}, GRPO, 1e-6)).containsExactly(0.0);
        assertThat(GroupAdvantages.compute(new double[]{5}, RLOO, 1e-6)).containsExactly(0.0);
        assertThat(GroupAdvantages.std(new double[]{5})).isZero();
        assertThat(GroupAdvantages.compute(new double[]{2, 2}, GRPO, 0)).containsExactly(0.0, 0.0);
    }

    @Test
    void shouldRejectEmptyNonFiniteAndBadEps() {
        assertThatThrownBy(() -> GroupAdvantages.compute(new double[0], GRPO, 1e-6)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GroupAdvantages.compute(new double[]{1, Double.NaN}, RLOO, 1e-6)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GroupAdvantages.compute(new double[]{1}, GRPO, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GroupAdvantages.Method.parse("ppo")).hasMessageContaining("grpo");
    }

    @Test
    void shouldRankBestFirstWithTiesSharingTheBestRank() {
        assertThat(GroupAdvantages.ranks(new double[]{0.5, 2.0, 0.5, -1.0, Double.NaN}))
                .containsExactly(2, 1, 2, 4, 5);
        assertThat(GroupAdvantages.ranks(new double[]{3.0})).containsExactly(1);
    }
}
