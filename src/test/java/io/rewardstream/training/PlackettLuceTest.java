package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class PlackettLuceTest {

    private static float plLoss(float[][] scores) {
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1)));
            Operand<TFloat32> loss = RewardGraph.plackettLuceLoss(tf, x);
            float[] flat = new float[scores.length * scores[0].length];
            for (int i = 0; i < scores.length; i++) {
                System.arraycopy(scores[i], 0, flat, i * scores[0].length, scores[0].length);
            }
            try (TFloat32 in = TFloat32.tensorOf(Shape.of(scores.length, scores[0].length), DataBuffers.of(flat));
                 Result r = s.runner().feed(x, in).fetch(loss).run()) {
                return ((TFloat32) r.get(0)).getFloat();
            }
        }
    }

    private static double lse(double... v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            m = Math.max(m, d);
        }
        double s = 0;
        for (double d : v) {
            s += Math.exp(d - m);
        }
        return m + Math.log(s);
    }

    @Test
    void shouldEqualBradleyTerryForTwoItems() {
        float a = 1.3f;
        float b = -0.4f;
        double softplus = Math.log1p(Math.exp(-(a - b)));
        assertThat((double) plLoss(new float[][]{{a, b}})).isCloseTo(softplus, within(1e-5));
    }

    @Test
    void shouldMatchTheHandComputedLikelihoodForThreeItems() {
        // best first: P = e^s0/(e^s0+e^s1+e^s2) * e^s1/(e^s1+e^s2)
        double expected1 = (lse(2, 1, 0) - 2) + (lse(1, 0) - 1);
        double expected2 = (lse(0, 1, 2) - 0) + (lse(1, 2) - 1);
        assertThat((double) plLoss(new float[][]{{2, 1, 0}, {0, 1, 2}}))
                .isCloseTo((expected1 + expected2) / 2, within(1e-5));
        // the right order has the lower loss, and extreme scores do not overflow
        assertThat(plLoss(new float[][]{{2, 1, 0}})).isLessThan(plLoss(new float[][]{{0, 1, 2}}));
        assertThat(Float.isFinite(plLoss(new float[][]{{500, -500, 0}}))).isTrue();
    }

    @Test
    void shouldTrainTheModelOnRankedLists() {
        ArithmeticTask task = new ArithmeticTask(ArithmeticTask.Config.defaults());
        List<RankedExample> rankings = task.generateRanked(400, 3, ArithmeticTask.Part.TRAIN);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(150).withProgress(false);
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY), tc)) {
            List<Double> losses = new ArrayList<>();
            for (int step = 0; step < 150; step++) {
                int from = (step * 16) % rankings.size();
                losses.add(m.trainRankedStep(rankings.subList(from, from + 16)));
            }
            double first = losses.subList(0, 10).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            double last = losses.subList(140, 150).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
            // a random scorer has loss log(3!) = 1.79 per ranking
            assertThat(first).isCloseTo(Math.log(6), within(0.3));
            assertThat(last).isLessThan(first - 0.3);
        }
    }
}
