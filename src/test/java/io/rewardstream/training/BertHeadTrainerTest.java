package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The Bradley-Terry head fit and its folding into graph constants, on synthetic features (no backbone). */
class BertHeadTrainerTest {
    static final int D = 24;

    /** Pairs whose chosen side is shifted along a hidden direction u, with per-feature scales 0.01..100. */
    static float[][][] pairs(int n, long seed) {
        Random rnd = new Random(seed);
        float[][] c = new float[n][D];
        float[][] r = new float[n][D];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < D; j++) {
                double scale = Math.pow(10, (j % 5) - 2);
                double base = rnd.nextGaussian() * scale + 3 * scale;
                double shift = j < 3 ? 0.8 * scale : 0;   // only the first three features carry preference
                c[i][j] = (float) (base + shift + 0.3 * scale * rnd.nextGaussian());
                r[i][j] = (float) (base + 0.3 * scale * rnd.nextGaussian());
            }
        }
        return new float[][][]{c, r};
    }

    static double accuracy(LinearHead h, float[][][] p) {
        int ok = 0;
        for (int i = 0; i < p[0].length; i++) {
            ok += h.score(p[0][i]) > h.score(p[1][i]) ? 1 : 0;
        }
        return ok / (double) p[0].length;
    }

    @Test
    void shouldLearnThePreferenceDirectionAndGeneralise() {
        float[][][] train = pairs(200, 1);
        LinearHead h = BertHeadTrainer.fit(train[0], train[1], new double[200], BertHeadTrainer.Config.defaults(), null);
        assertThat(accuracy(h, pairs(300, 2))).isGreaterThan(0.9);
    }

    @Test
    void shouldFoldStandardisationIntoGraphConstants() {
        float[][][] train = pairs(50, 3);
        LinearHead h = BertHeadTrainer.fit(train[0], train[1], new double[50], BertHeadTrainer.Config.defaults(), null);
        float[] w = h.foldedWeights();
        for (float[] x : train[0]) {
            double folded = h.foldedBias();
            for (int j = 0; j < D; j++) {
                folded += (double) w[j] * x[j];
            }
            assertThat(folded).isCloseTo(h.score(x), within(1e-3 * Math.max(1, Math.abs(h.score(x)))));
        }
    }

    @Test
    void shouldStayNearTheParentHeadWithStrongRegularisation() {
        float[][][] a = pairs(100, 4);
        LinearHead parent = BertHeadTrainer.fit(a[0], a[1], new double[100], BertHeadTrainer.Config.defaults(), null);
        float[][][] few = pairs(5, 5);
        LinearHead tight = BertHeadTrainer.fit(few[0], few[1], new double[5], new BertHeadTrainer.Config(100, 0.01, 100),
                parent);
        LinearHead loose = BertHeadTrainer.fit(few[0], few[1], new double[5], new BertHeadTrainer.Config(100, 0.01, 0),
                parent);
        assertThat(distance(tight, parent)).isLessThan(distance(loose, parent) / 5);
        assertThat(tight.mean()).isSameAs(parent.mean());   // the parent's standardisation is kept
    }

    @Test
    void shouldRoundTripThroughHeadJsonAndRejectBadShapes(@TempDir Path dir) throws Exception {
        float[][][] a = pairs(20, 6);
        LinearHead h = BertHeadTrainer.fit(a[0], a[1], new double[20], BertHeadTrainer.Config.defaults(), null);
        h.write(dir);
        LinearHead back = LinearHead.read(dir);
        assertThat(back.w()).containsExactly(h.w());
        assertThat(back.score(a[0][0])).isEqualTo(h.score(a[0][0]));
        assertThatThrownBy(() -> new LinearHead(new float[2], new float[]{1, 1}, new double[3], 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new LinearHead(new float[1], new float[]{0}, new double[1], 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BertHeadTrainer.Config(0, 0.01, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private static double distance(LinearHead x, LinearHead y) {
        double s = 0;
        for (int j = 0; j < x.dim(); j++) {
            s += (x.w()[j] - y.w()[j]) * (x.w()[j] - y.w()[j]);
        }
        return Math.sqrt(s);
    }
}
