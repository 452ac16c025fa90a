package io.rewardstream.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DemoStatsTest {

    @Test
    void shouldGiveOneForPerfectSeparationAndZeroForInverted() {
        double[] s = {0.1, 0.2, 0.8, 0.9};
        assertThat(DemoStats.auc(s, new boolean[]{false, false, true, true})).isEqualTo(1.0);
        assertThat(DemoStats.auc(s, new boolean[]{true, true, false, false})).isEqualTo(0.0);
    }

    @Test
    void shouldCountTiesAsOneHalf() {
        assertThat(DemoStats.auc(new double[]{1, 1, 1, 1}, new boolean[]{true, false, true, false})).isEqualTo(0.5);
        // pos {0.5, 0.7}, neg {0.5, 0.1}: pairs (0.5>0.5 tie=.5, 0.5>0.1=1, 0.7>0.5=1, 0.7>0.1=1) = 3.5/4
        assertThat(DemoStats.auc(new double[]{0.5, 0.7, 0.5, 0.1}, new boolean[]{true, true, false, false}))
                .isEqualTo(0.875);
    }

    @Test
    void shouldMatchTheQuadraticPairCountOnRandomData() {
        Random r = new Random(3);
        int n = 300;
        double[] s = new double[n];
        boolean[] y = new boolean[n];
        for (int i = 0; i < n; i++) {
            y[i] = r.nextBoolean();
            s[i] = Math.round((r.nextGaussian() + (y[i] ? 0.7 : 0)) * 4) / 4.0;   // coarse: many ties
        }
        double pairs = 0;
        long count = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (y[i] && !y[j]) {
                    pairs += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                    count++;
                }
            }
        }
        assertThat(DemoStats.auc(s, y)).isCloseTo(pairs / count, within(1e-12));
    }

    @Test
    void shouldReturnNanWithOneClassAndRefuseBadInput() {
        assertThat(DemoStats.auc(new double[]{1, 2}, new boolean[]{true, true})).isNaN();
        assertThatThrownBy(() -> DemoStats.auc(new double[]{1}, new boolean[]{true, false}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels");
        assertThatThrownBy(() -> DemoStats.auc(new double[]{Double.NaN, 1}, new boolean[]{true, false}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not finite");
    }

    @Test
    void shouldInterpolatePercentilesLikeNumpy() {
        double[] v = {10, 1, 4, 3, 2, 5, 6, 7, 9, 8};
        assertThat(DemoStats.percentile(v, 50)).isEqualTo(5.5);
        assertThat(DemoStats.percentile(v, 99)).isCloseTo(9.91, within(1e-9));
        assertThat(DemoStats.percentile(v, 0)).isEqualTo(1);
        assertThat(DemoStats.percentile(v, 100)).isEqualTo(10);
        assertThat(DemoStats.percentile(new double[0], 50)).isNaN();
        assertThatThrownBy(() -> DemoStats.percentile(v, 101)).isInstanceOf(IllegalArgumentException.class);
        assertThat(DemoStats.mean(new double[]{1, 2, 6})).isEqualTo(3);
    }
}
