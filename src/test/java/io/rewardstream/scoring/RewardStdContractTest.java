package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The optional {@code reward_std} output of the model contract: validated at load when present, fetched by the
 * runtime, carried to the row as its uncertainty and penalized ({@code mean - lambda * std}); a negative std is that
 * row's refusal (NON_FINITE_SCORE), not the batch's.
 */
class RewardStdContractTest {
    private static final RuntimeConfig CFG = RuntimeConfig.from(Map.of("model.warmup", "false"));

    @TempDir
    Path tmp;

    /** reward = (sum of ids) / 100 per row; reward_std = f(reward) with the given shape. */
    private static Path build(Path dir, String kind) throws Exception {
        try (Graph g = new Graph(); Session s = new Session(g)) {
            Ops tf = Ops.create(g);
            Placeholder<TInt32> ids = tf.withName("input_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
            Placeholder<TInt32> mask = tf.withName("attention_mask").placeholder(TInt32.class,
                    Placeholder.shape(Shape.of(-1, -1)));
            Operand<TFloat32> x = tf.dtypes.cast(tf.math.mul(ids, mask), TFloat32.class);
            Operand<TFloat32> reward = tf.math.div(tf.sum(x, tf.constant(1)), tf.constant(100f));          // [B]
            Operand<TFloat32> std = switch (kind) {
                case "valid" -> tf.math.div(reward, tf.constant(10f));                                     // [B]
                case "column" -> tf.expandDims(tf.math.div(reward, tf.constant(10f)), tf.constant(1));     // [B,1]
                case "negative" -> tf.math.sub(tf.constant(0.05f), tf.math.div(reward, tf.constant(10f))); // < 0 for big ids
                case "rank3" -> tf.reshape(reward, tf.constant(new int[]{-1, 1, 1}));
                default -> throw new IllegalArgumentException(kind);
            };
            Signature sig = Signature.builder().key("serving_default").input("input_ids", ids)
                    .input("attention_mask", mask).output("reward", tf.withName("reward").identity(reward))
                    .output("reward_std", tf.withName("reward_std").identity(std)).build();
            SavedModelBundle.exporter(dir.toString()).withSession(s).withSignatures(sig).export();
            new ModelManifest("std", 1, 64, 0, 260, "ids", null, List.of(), null, null, null, null,
                    1_700_000_000_000L, null).withDigestsOf(dir).write(dir);
        }
        return dir;
    }

    @Test
    void shouldFetchRewardStdAndPenalizeTheMeanInThePipeline() throws Exception {
        for (String kind : List.of("valid", "column")) {
            try (SavedModelRewardModel m = ModelLoader.load(build(tmp.resolve(kind), kind), CFG)) {
                assertThat(m.servesUncertainty()).isTrue();
                ScoringPipeline p = ScoringPipeline.forModel(m, ScoringPipeline.Settings.of(ShapingConfig.from(Map.of(
                        "scoring.uncertainty.penalty", "2", "scoring.kl.coef", "0")), BatchingConfig.DEFAULTS));
                ScoringPipeline.Result r = p.score(List.of(input("a", new int[]{10, 20}, new int[]{30}),
                        input("b", new int[]{100}, new int[]{50, 50})), p.initialState(null));
                ScoringPipeline.Scored a = (ScoringPipeline.Scored) r.rows().get(0);
                ScoringPipeline.Scored b = (ScoringPipeline.Scored) r.rows().get(1);
                assertThat(a.uncertainty()).isCloseTo(0.06, within(1e-6));            // reward 0.6, std 0.06
                assertThat(a.shaped().reward()).isCloseTo(0.6 - 2 * 0.06, within(1e-6));
                assertThat(b.uncertainty()).isCloseTo(0.2, within(1e-6));             // reward 2.0, std 0.2
                assertThat(b.shaped().reward()).isCloseTo(2.0 - 2 * 0.2, within(1e-6));
            }
        }
    }

    @Test
    void shouldRefuseAModelWhoseRewardStdBreaksTheContract() throws Exception {
        Path dir = build(tmp.resolve("rank3"), "rank3");
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("'reward_std' must be [B] or [B,1]")
                .satisfies(e -> assertThat(((ModelLoadException) e).reason()).isEqualTo(ModelLoadException.Reason.SIGNATURE));
    }

    @Test
    void shouldRefuseOnlyTheRowWithANegativeStd() throws Exception {
        try (SavedModelRewardModel m = ModelLoader.load(build(tmp.resolve("neg"), "negative"), CFG)) {
            ScoringPipeline p = ScoringPipeline.forModel(m, ScoringPipeline.Settings.of(ShapingConfig.defaults(),
                    BatchingConfig.DEFAULTS));
            ScoringPipeline.Result r = p.score(List.of(input("ok", new int[]{1}, new int[]{2}),
                    input("bad", new int[]{100}, new int[]{100})), p.initialState(null));
            assertThat(r.rows().get(0)).isInstanceOf(ScoringPipeline.Scored.class);
            assertThat(((ScoringPipeline.Scored) r.rows().get(0)).uncertainty()).isCloseTo(0.047, within(1e-6));
            assertThat(r.rows().get(1)).isInstanceOfSatisfying(ScoringPipeline.Failed.class, f ->
                    assertThat(f.reason()).isEqualTo(InvalidRolloutException.Reason.NON_FINITE_SCORE));
        }
    }

    private static ScoringInput input(String id, int[] prompt, int[] response) {
        double[] lp = new double[response.length];
        return new ScoringInput(id, new SequenceParts(prompt, response, null, null), lp, lp.clone(), true);
    }
}
