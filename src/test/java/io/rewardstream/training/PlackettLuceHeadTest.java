package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The Java Plackett-Luce loss of the BERT head trainer: value, gradient, and a head learned from rankings alone. */
class PlackettLuceHeadTest {

    @Test
    void shouldEqualBradleyTerryForTwoItems() {
        double[] g = new double[2];
        double loss = BertHeadTrainer.plackettLuce(new double[]{0.7, -0.4}, g);
        double bt = Math.log1p(Math.exp(-(0.7 + 0.4)));
        assertThat(loss).isCloseTo(bt, within(1e-12));
        double sig = 1 / (1 + Math.exp(0.7 + 0.4));
        assertThat(g[0]).isCloseTo(-sig, within(1e-12));
        assertThat(g[1]).isCloseTo(sig, within(1e-12));
    }

    @Test
    void shouldMatchFiniteDifferencesForFourItems() {
        double[] s = {0.3, 1.2, -0.5, 0.1};
        double[] g = new double[4];
        double loss = BertHeadTrainer.plackettLuce(s, g);
        // hand-computed: sum_i logsumexp(s_i..) - s_i
        double expect = 0;
        for (int i = 0; i < 4; i++) {
            double z = 0;
            for (int j = i; j < 4; j++) {
                z += Math.exp(s[j]);
            }
            expect += Math.log(z) - s[i];
        }
        assertThat(loss).isCloseTo(expect, within(1e-12));
        for (int j = 0; j < 4; j++) {
            double[] up = s.clone();
            double[] dn = s.clone();
            up[j] += 1e-6;
            dn[j] -= 1e-6;
            double fd = (BertHeadTrainer.plackettLuce(up, new double[4]) - BertHeadTrainer.plackettLuce(dn, new double[4]))
                    / 2e-6;
            assertThat(g[j]).as("dL/ds_%d", j).isCloseTo(fd, within(1e-6));
        }
    }

    @Test
    void shouldLearnAHeadFromRankingsAlone() {
        // features: 8 dims; the true score is feature 0; rankings of 4 best first by it
        Random rnd = new Random(3);
        int lists = 200;
        float[][][] ranked = new float[lists][4][8];
        for (int l = 0; l < lists; l++) {
            for (int r = 0; r < 4; r++) {
                for (int j = 0; j < 8; j++) {
                    ranked[l][r][j] = (float) rnd.nextGaussian();
                }
            }
            java.util.Arrays.sort(ranked[l], (a, b) -> Float.compare(b[0], a[0]));
        }
        LinearHead head = BertHeadTrainer.fit(new float[0][], new float[0][], new double[0], ranked,
                new BertHeadTrainer.Config(200, 0.05, 0.0), null, new java.util.ArrayList<>());
        double[] w = head.w();
        assertThat(w[0]).isGreaterThan(0);
        for (int j = 1; j < 8; j++) {
            assertThat(Math.abs(w[j])).as("weight %d", j).isLessThan(w[0] / 4);
        }
        List<Double> losses = new java.util.ArrayList<>();
        BertHeadTrainer.fit(new float[0][], new float[0][], new double[0], ranked,
                new BertHeadTrainer.Config(50, 0.05, 0.0), null, losses);
        assertThat(losses.get(losses.size() - 1)).isLessThan(losses.get(0) * 0.5);
    }
}
