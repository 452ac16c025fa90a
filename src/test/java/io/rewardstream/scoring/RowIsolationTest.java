package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** A model call that fails on one row must not stall the batch: {@link ScoringPipeline} + {@link RowIsolation}. */
class RowIsolationTest {
    private static final int POISON = 99;
    private static final ShapingConfig SHAPING = ShapingConfig.from(Map.of("scoring.normalization", "running",
            "scoring.kl.coef", "0.05"));

    /**
     * FAKE model for this test only: the reward of a row is the mean of its real ids / 100; a call whose batch holds
     * the token {@link #POISON} fails the way TF's Gather fails on an id outside its table. With {@code flakyAlone},
     * a single-row call fails only the first time (a flaky device, not a poison row). With {@code down}, every call
     * fails.
     */
    private static final class PoisonTokenModel implements RewardModel {
        private final ModelManifest manifest = ConstantRewardModel.of(0f, 128, 260).manifest();
        final AtomicInteger calls = new AtomicInteger();
        private final AtomicInteger singleRowFailures = new AtomicInteger();
        private final boolean flakyAlone;
        private final boolean down;
        /** Calls that fail whatever they hold, before the model works (a device hiccup). */
        private final int hiccupCalls;

        PoisonTokenModel(boolean flakyAlone, boolean down) {
            this(flakyAlone, down, 0);
        }

        PoisonTokenModel(boolean flakyAlone, boolean down, int hiccupCalls) {
            this.flakyAlone = flakyAlone;
            this.down = down;
            this.hiccupCalls = hiccupCalls;
        }

        @Override
        public ModelManifest manifest() {
            return manifest;
        }

        @Override
        public ModelOutput score(PaddedBatch batch) {
            if (calls.incrementAndGet() <= hiccupCalls || down) {
                throw new ModelScoringException("device lost");
            }
            float[] r = new float[batch.rows()];
            for (int i = 0; i < batch.rows(); i++) {
                int n = 0;
                long sum = 0;
                for (int c = 0; c < batch.paddedLength() && batch.mask()[i][c] == 1; c++) {
                    if (batch.ids()[i][c] == POISON
                            && !(flakyAlone && batch.rows() == 1 && singleRowFailures.getAndIncrement() > 0)) {
                        throw new ModelScoringException("indices[" + i + "," + c + "] = " + POISON
                                + " is not in [0, 99)");
                    }
                    sum += batch.ids()[i][c];
                    n++;
                }
                r[i] = sum / (100f * n);
            }
            return ModelOutput.of(r);
        }

        @Override
        public void close() {
        }
    }

    private static ScoringInput input(int k, boolean poison) {
        int[] response = {10 + k, 20 + k % 5, poison ? POISON : 30};
        double[] lp = new double[response.length];
        double[] ref = new double[response.length];
        java.util.Arrays.fill(lp, -1.0 - k * 0.01);
        java.util.Arrays.fill(ref, -1.2);
        return new ScoringInput("r" + k, new SequenceParts(new int[]{5, 6 + k % 3}, response, null, null), lp, ref,
                true);
    }

    private static List<ScoringInput> batch(int n, List<Integer> poisoned) {
        List<ScoringInput> out = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            out.add(input(k, poisoned.contains(k)));
        }
        return out;
    }

    private static ScoringPipeline pipeline(RewardModel m) {
        return ScoringPipeline.forModel(m, ScoringPipeline.Settings.of(SHAPING, BatchingConfig.DEFAULTS));
    }

    @Test
    void shouldRefuseOnlyThePoisonRowsAndScoreTheRestAsIfTheyWereNotThere() {
        // one; three; and one in each quarter, so two levels of halves all fail and single rows are probed
        for (List<Integer> poisoned : List.of(List.of(6), List.of(0, 17, 31), List.of(3, 12, 20, 29))) {
            PoisonTokenModel model = new PoisonTokenModel(false, false);
            ScoringPipeline p = pipeline(model);
            List<ScoringInput> inputs = batch(32, poisoned);
            ScoringPipeline.Result r = p.score(inputs, p.initialState(null));

            List<ScoringInput> clean = new ArrayList<>(inputs);
            clean.removeIf(in -> poisoned.contains(Integer.parseInt(in.id().substring(1))));
            ScoringPipeline.Result alone = pipeline(new PoisonTokenModel(false, false)).score(clean,
                    p.initialState(null));
            int c = 0;
            for (int k = 0; k < inputs.size(); k++) {
                ScoringPipeline.Row row = r.rows().get(k);
                if (poisoned.contains(k)) {
                    assertThat(row).isInstanceOfSatisfying(ScoringPipeline.Failed.class, f -> {
                        assertThat(f.reason()).isEqualTo(InvalidRolloutException.Reason.MODEL_REJECTED);
                        assertThat(f.detail()).contains("fails on this rollout alone").contains("is not in [0, 99)");
                    });
                } else {
                    ScoringPipeline.Scored s = (ScoringPipeline.Scored) row;
                    ScoringPipeline.Scored expected = (ScoringPipeline.Scored) alone.rows().get(c++);
                    assertThat(s.input().id()).isEqualTo(expected.input().id());
                    assertThat(s.shaped().reward()).as(s.input().id()).isCloseTo(expected.shaped().reward(),
                            within(1e-12));
                }
            }
            assertThat(r.state()).as("running stats see the scored rows only").isEqualTo(alone.state());
            assertThat(model.calls.get()).as("bisection, not one call per row (%s)", poisoned)
                    .isLessThanOrEqualTo(1 + poisoned.size() * (2 * 5 + 2));
        }
    }

    @Test
    void shouldLeaveTheWholeBatchToTheRetryWhenTheModelFailsEveryPart() {
        PoisonTokenModel model = new PoisonTokenModel(false, true);
        ScoringPipeline p = pipeline(model);
        assertThatThrownBy(() -> p.score(batch(32, List.of()), p.initialState(null)))
                .isInstanceOf(BatchNotScoredException.class).hasMessageContaining("device lost")
                .hasMessageContaining("every part of them");
        assertThat(model.calls.get()).as("the failing call, the isolation's budget and its probes, no more")
                .isEqualTo(1 + RowIsolation.MAX_FAILED_CALLS_BEFORE_A_SCORE + RowIsolation.PROBES);
    }

    @Test
    void shouldNotRefuseARowThatFailedAloneOnlyBeforeTheModelRecovered() {
        // a hiccup: the batch's call, then row 0 alone twice, fail; then the device works again. Row 0 is not a
        // poison row: nothing had scored when it failed, so it is tried once more after row 1 scored
        PoisonTokenModel model = new PoisonTokenModel(false, false, 3);
        ScoringPipeline p = pipeline(model);
        ScoringPipeline.Result r = p.score(batch(2, List.of()), p.initialState(null));
        assertThat(r.rows()).allSatisfy(row -> assertThat(row).isInstanceOf(ScoringPipeline.Scored.class));
        assertThat(model.calls.get()).isEqualTo(5);
    }

    @Test
    void shouldNotRefuseALoneRowWhoseModelFailsOnlyOnce() {
        // the batch's call fails (it holds token 99); so does the row's first call alone, its second succeeds
        PoisonTokenModel model = new PoisonTokenModel(true, false);
        ScoringPipeline p = pipeline(model);
        ScoringPipeline.Result r = p.score(batch(8, List.of(3)), p.initialState(null));
        assertThat(r.rows()).allSatisfy(row -> assertThat(row).isInstanceOf(ScoringPipeline.Scored.class));
    }

    @Test
    void shouldNotRefuseTheOnlyRowOfABatch() {
        PoisonTokenModel model = new PoisonTokenModel(false, false);
        ScoringPipeline p = pipeline(model);
        assertThatThrownBy(() -> p.score(batch(1, List.of(0)), p.initialState(null)))
                .as("nothing shows that the model works: the row stays for the retry")
                .isInstanceOf(BatchNotScoredException.class);
    }

    @Test
    void shouldRefuseTheRowARealSavedModelFailsOnWhenItsManifestClaimsALargerVocabulary(@TempDir Path tmp) {
        // a packaging bug: the manifest says 300 ids, the embedding has 260 rows. TF's Gather (CPU) fails a call
        // holding id 280; the validator lets it through, since the manifest allows it
        Path dir = TinySavedModels.claimVocab(TinySavedModels.build(tmp.resolve("m"), "tiny", 1, 7), 300);
        try (SavedModelRewardModel m = ModelLoader.load(dir, RuntimeConfig.from(Map.of(
                "model.intra.op.threads", "1", "model.inter.op.threads", "1")), BatchingConfig.DEFAULTS)) {
            ScoringPipeline p = pipeline(m);
            List<ScoringInput> inputs = new ArrayList<>();
            for (int k = 0; k < 6; k++) {
                int[] response = {40 + k, k == 4 ? 280 : 41, 42};
                double[] lp = new double[response.length];
                inputs.add(new ScoringInput("r" + k, new SequenceParts(new int[]{7}, response, null, null), lp,
                        lp.clone(), true));
            }
            ScoringPipeline.Result r = p.score(inputs, p.initialState(null));
            assertThat(r.rows().get(4)).isInstanceOfSatisfying(ScoringPipeline.Failed.class, f ->
                    assertThat(f.reason()).isEqualTo(InvalidRolloutException.Reason.MODEL_REJECTED));
            ScoringPipeline.Result clean = p.score(List.of(inputs.get(0), inputs.get(5)), p.initialState(null));
            assertThat(((ScoringPipeline.Scored) r.rows().get(5)).shaped().score()).as("the same score as alone")
                    .isCloseTo(((ScoringPipeline.Scored) clean.rows().get(1)).shaped().score(), within(1e-6));
            for (int k : new int[]{0, 1, 2, 3, 5}) {
                assertThat(r.rows().get(k)).isInstanceOf(ScoringPipeline.Scored.class);
            }
        }
    }
}
