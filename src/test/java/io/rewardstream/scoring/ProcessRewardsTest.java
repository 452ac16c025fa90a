package io.rewardstream.scoring;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Process rewards (the optional {@code token_rewards} output) through the runtime and the whole scoring pipeline, on a
 * real tiny SavedModel whose per-token reward is a known function of the token id ({@link TinySavedModels#tokenReward})
 * and whose sequence score equals the plain tiny model of the same seed. Expected values are computed here from the
 * formulas in {@link RewardShaper}'s comment, not with the shaper.
 */
class ProcessRewardsTest {
    private static final BatchingConfig BATCHING = new BatchingConfig(16, 1024, 8, 200);
    private static final RuntimeConfig CFG = RuntimeConfig.from(Map.of("model.intra.op.threads", "1",
            "model.inter.op.threads", "1"));
    private static final double BETA = 0.05;
    private static final double CLIP = 0.5;

    @TempDir
    static Path tmp;
    static Path prm;
    static Path plain;

    @BeforeAll
    static void buildModels() {
        prm = TinySavedModels.build(tmp.resolve("prm"), TinySavedModels.Spec.valid("prm", 1, 11).withTokenRewards());
        plain = TinySavedModels.build(tmp.resolve("plain"), TinySavedModels.Spec.valid("plain", 1, 11));
    }

    private static ScoringInput input(String id, int promptLen, int responseLen, long seed) {
        Random rnd = new Random(seed);
        int[] prompt = new int[promptLen];
        int[] response = new int[responseLen];
        double[] lp = new double[responseLen];
        double[] lr = new double[responseLen];
        for (int i = 0; i < promptLen; i++) {
            prompt[i] = 4 + rnd.nextInt(256);
        }
        for (int i = 0; i < responseLen; i++) {
            response[i] = 4 + rnd.nextInt(256);
            lp[i] = -rnd.nextDouble();
            lr[i] = -rnd.nextDouble();
        }
        return new ScoringInput(id, new SequenceParts(prompt, response, null, null), lp, lr, true);
    }

    @Test
    void shouldFetchTokenRewardsPerPositionWithZerosOnPadding() {
        try (SavedModelRewardModel model = ModelLoader.load(prm, CFG, BATCHING)) {
            int[][] ids = {{5, 6, 7}, {10, 11, 12, 13, 14, 15, 16, 17}};
            PaddedBatch batch = PaddedBatch.of(ids, new int[]{0, 1}, 8, 0);
            ModelOutput out = model.score(batch);
            assertThat(out.hasTokenRewards()).isTrue();
            for (int r = 0; r < 2; r++) {
                for (int t = 0; t < 8; t++) {
                    float expected = t < ids[r].length ? TinySavedModels.tokenReward(ids[r][t]) : 0f;
                    assertThat(out.tokenRewards()[r][t]).as("row %d pos %d", r, t).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void shouldPlaceClippedProcessRewardsOverTheResponseAndKeepTheRewardTheirSum() {
        ShapingConfig shaping = ShapingConfig.from(Map.of("scoring.score.clip", String.valueOf(CLIP)));
        // lengths: short, prompt truncated (150 > 128), response alone longer than max_seq_len (140 > 128)
        List<ScoringInput> inputs = List.of(input("a", 5, 6, 1), input("b", 30, 1, 2), input("c", 100, 50, 3),
                input("d", 10, 140, 4), input("e", 1, 20, 5));
        ScoringPipeline.Settings settings = new ScoringPipeline.Settings(shaping, BATCHING,
                RolloutValidator.Limits::withVocab);
        try (SavedModelRewardModel prmModel = ModelLoader.load(prm, CFG, BATCHING);
             SavedModelRewardModel plainModel = ModelLoader.load(plain, CFG, BATCHING)) {
            ScoringPipeline withTokens = ScoringPipeline.forModel(prmModel, settings);
            ScoringPipeline without = ScoringPipeline.forModel(plainModel, settings);
            ShapingState state = withTokens.initialState(null);
            List<ScoringPipeline.Scored> got = withTokens.score(inputs, state).scored();
            List<ScoringPipeline.Scored> ref = without.score(inputs, state).scored();
            assertThat(got).hasSize(inputs.size());
            for (int i = 0; i < inputs.size(); i++) {
                ScoringInput in = inputs.get(i);
                ShapedReward sh = got.get(i).shaped();
                int[] resp = in.parts().responseIds();
                int l = resp.length;
                int visible = Math.min(l, TinySavedModels.MAX_SEQ_LEN);
                // the sequence score is the plain model's, shaped as before
                double s = ref.get(i).shaped().score();
                assertThat(sh.score()).as(in.id()).isEqualTo(s);
                double sPrime = Math.max(-CLIP, Math.min(CLIP, s));
                double sum = 0;
                for (int t = 0; t < l; t++) {
                    double kl = in.policyLogprobs()[t] - in.referenceLogprobs()[t];
                    double p = t < l - visible ? 0 : Math.max(-CLIP, Math.min(CLIP, TinySavedModels.tokenReward(resp[t])));
                    double expected = -BETA * kl + p + (t == l - 1 ? sPrime : 0);
                    assertThat(sh.tokenRewards()[t]).as("%s token %d", in.id(), t).isCloseTo(expected, within(1e-9));
                    sum += expected;
                }
                assertThat(sh.reward()).as(in.id()).isCloseTo(sum, within(1e-9));
                double tokenSum = 0;
                for (double v : sh.tokenRewards()) {
                    tokenSum += v;
                }
                assertThat(sh.reward()).as(in.id()).isCloseTo(tokenSum, within(1e-9));
                // the plain model's rewards carry no process term
                assertThat(ref.get(i).shaped().reward()).as(in.id())
                        .isCloseTo(sPrime - BETA * ref.get(i).shaped().klSum(), within(1e-9));
            }
            // token 0 of "d" was cut off (response longer than max_seq_len): only -beta * kl
            double[] lpD = inputs.get(3).policyLogprobs();
            double[] lrD = inputs.get(3).referenceLogprobs();
            assertThat(got.get(3).shaped().tokenRewards()[0]).isCloseTo(-BETA * (lpD[0] - lrD[0]), within(1e-12));
        }
    }

    @Test
    void shouldWeightProcessRewardsByTheRoutesModelWeight() {
        ShapingConfig shaping = ShapingConfig.defaults();
        RouteConfig routes = RouteConfig.from(Map.of("scoring.routes.half.weights", "model=0.5,length=1",
                "scoring.routes.none.weights", "length=1", "scoring.verifier.length.max.tokens", "100"));
        ScoringPipeline.Settings settings = new ScoringPipeline.Settings(shaping, BATCHING,
                RolloutValidator.Limits::withVocab, routes);
        ScoringInput base = input("x", 4, 5, 9);
        List<ScoringInput> inputs = new ArrayList<>();
        for (String task : List.of("half", "none")) {
            inputs.add(new ScoringInput(task, base.parts(), base.policyLogprobs(), base.referenceLogprobs(), true,
                    Map.of("task", task)));
        }
        try (SavedModelRewardModel prmModel = ModelLoader.load(prm, CFG, BATCHING)) {
            ScoringPipeline p = ScoringPipeline.forModel(prmModel, settings);
            List<ScoringPipeline.Scored> got = p.score(inputs, p.initialState(null)).scored();
            int[] resp = base.parts().responseIds();
            double pSum = 0;
            for (int id : resp) {
                pSum += TinySavedModels.tokenReward(id);
            }
            double klSum = got.get(0).shaped().klSum();
            assertThat(got.get(0).shaped().reward()).isCloseTo(got.get(0).shaped().shapedScore() - BETA * klSum
                    + 0.5 * pSum, within(1e-6));
            assertThat(got.get(1).shaped().reward()).isCloseTo(got.get(1).shaped().shapedScore() - BETA * klSum,
                    within(1e-9));
        }
    }

    @Test
    void shouldAverageTokenRewardsOverAnEnsembleOnlyWhenEveryMemberHasThem() {
        int[][] ids = {{5, 6, 7}, {10, 11, 12, 13}};
        PaddedBatch batch = PaddedBatch.of(ids, new int[]{0, 1}, 8, 0);
        try (Ensemble both = Ensemble.of(List.of(ModelLoader.load(prm, CFG, BATCHING), ModelLoader.load(prm, CFG, BATCHING)));
             Ensemble mixed = Ensemble.of(List.of(ModelLoader.load(prm, CFG, BATCHING), ModelLoader.load(plain, CFG, BATCHING)))) {
            ModelOutput out = both.score(batch);
            assertThat(out.hasTokenRewards()).isTrue();
            assertThat(out.tokenRewards()[1][3]).isCloseTo(TinySavedModels.tokenReward(13), within(1e-6f));
            assertThat(out.tokenRewards()[0][3]).isEqualTo(0f);
            assertThat(mixed.score(batch).hasTokenRewards()).isFalse();
        }
    }

    @Test
    void shouldScaleProcessRewardsByTheStaticStdWithoutShiftingThem() {
        RewardShaper shaper = new RewardShaper(ShapingConfig.from(Map.of("scoring.normalization", "static",
                "scoring.kl.coef", "0")), new ModelManifest.Normalization(1.0, 2.0));
        ShapedReward sh = shaper.shape(3.0, new double[]{-1, -1, -1}, null, true, 0.0, RunningStats.EMPTY,
                new double[]{0.4, -1.0, 2.0});
        // s' = (3 - 1) / 2 = 1; p' = p / 2
        assertThat(sh.tokenRewards()).containsExactly(0.2, -0.5, 1.0 + 1.0);
        assertThat(sh.reward()).isCloseTo(1.0 + 0.2 - 0.5 + 1.0, within(1e-12));
    }

    @Test
    void shouldRefuseTokenRewardsForATokenizerOtherThanIds() {
        Path dir = TinySavedModels.build(tmp.resolve("prm-bytes"), TinySavedModels.Spec.valid("prmb", 1, 11)
                .withTokenRewards().withTokenizer("bytes"));
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("token_rewards").hasMessageContaining("tokenizer 'ids'");
    }
}
