package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class RewardWindowTest {

    @Test
    void shouldKeepNegativeRewardsInTheMeanAndSpread() {
        RewardWindow w = new RewardWindow(1_000, 16);
        w.add(0, -3.0, 1.0, 10, null);
        w.add(0, -1.0, 3.0, 20, null);
        RewardWindow.Stats s = w.stats(0);
        assertThat(s.count()).isEqualTo(2);
        assertThat(s.rewardMean()).isEqualTo(-2.0);
        assertThat(s.rewardStd()).isCloseTo(1.0, within(1e-12));
        assertThat(s.klMean()).isEqualTo(2.0);
        assertThat(s.uncertaintyMean()).isNaN();
    }

    @Test
    void shouldCorrelateLengthAndRewardAndAverageUncertainty() {
        RewardWindow w = new RewardWindow(1_000, 16);
        for (int len = 1; len <= 5; len++) {
            w.add(0, 0.5 * len - 1, 0, len, 0.1 * len);
        }
        RewardWindow.Stats s = w.stats(0);
        assertThat(s.lengthRewardCorrelation()).isCloseTo(1.0, within(1e-12));
        assertThat(s.uncertaintyMean()).isCloseTo(0.3, within(1e-12));
        w.add(0, 10, 0, 3, null); // an outlier that is not longer breaks the perfect correlation
        assertThat(w.stats(0).lengthRewardCorrelation()).isLessThan(0.5);
        assertThat(w.stats(0).uncertaintyMean()).as("rewards without uncertainty are not averaged in")
                .isCloseTo(0.3, within(1e-12));
    }

    @Test
    void shouldForgetRewardsOlderThanTheWindowAndBeyondCapacity() {
        RewardWindow w = new RewardWindow(1_000, 3);
        w.add(0, 100, 0, 1, null);
        w.add(900, 1, 0, 1, null);
        assertThat(w.stats(1_500).count()).isEqualTo(1);
        assertThat(w.stats(1_500).rewardMean()).isEqualTo(1.0);
        w.add(1_600, 2, 0, 1, null);
        w.add(1_700, 3, 0, 1, null);
        w.add(1_800, 4, 0, 1, null); // capacity 3: the reward of 900 goes
        assertThat(w.stats(1_800).rewardMean()).isEqualTo(3.0);
        assertThat(w.isIdle(5_000)).isTrue();
        assertThat(w.stats(5_000).rewardMean()).isNaN();
    }
}
