package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BatchPlannerTest {

    private static EncodedSequence seq(int len, int marker) {
        int[] ids = new int[len];
        Arrays.fill(ids, 5);
        ids[0] = marker;
        return EncodedSequence.of(ids);
    }

    @Test
    void shouldRespectSizeAndTokenLimitsAndCoverEverySequenceOnce() {
        BatchPlanner planner = new BatchPlanner(new BatchingConfig(16, 2048, 8, 200), 512, 0);
        Random rnd = new Random(7);
        List<EncodedSequence> seqs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            seqs.add(seq(1 + rnd.nextInt(512), i % 200 + 10));
        }
        BatchPlan plan = planner.plan(seqs);
        Set<Integer> seen = new HashSet<>();
        for (PaddedBatch b : plan.batches()) {
            assertThat(b.rows()).isLessThanOrEqualTo(16);
            assertThat(b.paddedTokens()).isLessThanOrEqualTo(2048);
            assertThat(b.paddedLength() % 8 == 0 || b.paddedLength() == 512).isTrue();
            int longest = Arrays.stream(b.originalIndex()).map(i -> seqs.get(i).length()).max().orElseThrow();
            assertThat(b.paddedLength()).isEqualTo(planner.paddedLength(longest)).isLessThan(longest + 8);
            for (int i : b.originalIndex()) {
                assertThat(seen.add(i)).as("index %d planned twice", i).isTrue();
            }
        }
        assertThat(seen).hasSize(1000);
        assertThat(plan.sequences()).isEqualTo(1000);
    }

    @Test
    void shouldPadOnTheRightWithPadIdAndMaskRealTokens() {
        BatchPlanner planner = new BatchPlanner(new BatchingConfig(4, 4096, 8, 200), 64, 7);
        BatchPlan plan = planner.plan(List.of(EncodedSequence.of(11, 12, 13), EncodedSequence.of(21)));
        assertThat(plan.batches()).hasSize(1);
        PaddedBatch b = plan.batches().get(0);
        assertThat(b.paddedLength()).isEqualTo(8);
        // sorted by length: the 1-token sequence (original index 1) comes first
        assertThat(b.originalIndex()).containsExactly(1, 0);
        assertThat(b.ids()[0]).containsExactly(21, 7, 7, 7, 7, 7, 7, 7);
        assertThat(b.mask()[0]).containsExactly(1, 0, 0, 0, 0, 0, 0, 0);
        assertThat(b.ids()[1]).containsExactly(11, 12, 13, 7, 7, 7, 7, 7);
        assertThat(b.mask()[1]).containsExactly(1, 1, 1, 0, 0, 0, 0, 0);
        assertThat(b.realTokens()).isEqualTo(4);
        assertThat(b.paddedTokens()).isEqualTo(16);
        assertThat(b.paddingEfficiency()).isEqualTo(0.25);
    }

    @Test
    void shouldCapPaddedLengthAtMaxSeqLen() {
        BatchPlanner planner = new BatchPlanner(new BatchingConfig(4, 4096, 8, 200), 13, 0);
        PaddedBatch b = planner.plan(List.of(seq(13, 9))).batches().get(0);
        assertThat(b.paddedLength()).isEqualTo(13);
    }

    @Test
    void shouldRestoreOriginalOrderWhenScoringAPlan() {
        BatchPlanner planner = new BatchPlanner(new BatchingConfig(3, 4096, 8, 200), 64, 0);
        Random rnd = new Random(3);
        List<EncodedSequence> seqs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            seqs.add(seq(1 + rnd.nextInt(64), 100 + i)); // first token identifies the sequence
        }
        RewardModel firstToken = new FakeFirstTokenModel();
        ModelOutput out = PlanScorer.score(firstToken, planner.plan(seqs));
        for (int i = 0; i < 50; i++) {
            assertThat(out.reward()[i]).isEqualTo(100f + i);
        }
        assertThat(out.heads()).isNull();
    }

    @Test
    void shouldPackALongTailedMixEfficiently() {
        BatchPlanner planner = new BatchPlanner(BatchingConfig.DEFAULTS, 1024, 0);
        List<EncodedSequence> seqs = PaddingBenchmark.logNormalLengths(2000, 11).stream()
                .map(len -> seq(len, 9)).toList();
        double bucketed = planner.plan(seqs).paddingEfficiency();
        double naive = planner.planInArrivalOrder(seqs).paddingEfficiency();
        assertThat(bucketed).isGreaterThanOrEqualTo(0.85);
        assertThat(bucketed).isGreaterThan(naive * 1.5);
    }

    @Test
    void shouldRejectSequencesLongerThanMaxSeqLenAndTooSmallTokenBudget() {
        BatchPlanner planner = new BatchPlanner(BatchingConfig.DEFAULTS, 16, 0);
        assertThatThrownBy(() -> planner.plan(List.of(seq(17, 9))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sequence 0 has 17 tokens, more than max_seq_len 16");
        assertThatThrownBy(() -> new BatchPlanner(new BatchingConfig(8, 100, 8, 0), 128, 0))
                .hasMessageContaining("batch.max.tokens (100) must be >= the model's max_seq_len (128)");
    }

    @Test
    void shouldReadBatchingConfigKeysAndNameBadOnes() {
        BatchingConfig cfg = BatchingConfig.from(Map.of("batch.max.size", "32", "batch.max.tokens", 8192,
                "batch.max.delay.ms", "50"));
        assertThat(cfg).isEqualTo(new BatchingConfig(32, 8192, 2, 50));
        assertThat(BatchingConfig.from(Map.of())).isEqualTo(BatchingConfig.DEFAULTS);
        assertThatThrownBy(() -> BatchingConfig.from(Map.of("batch.pad.multiple", "eight")))
                .hasMessageContaining("batch.pad.multiple");
        assertThatThrownBy(() -> BatchingConfig.from(Map.of("batch.max.size", "0")))
                .hasMessageContaining("batch.max.size must be >= 1");
    }

    /** Scores each row with its first token id, so the test can see where each row went. */
    @Test
    void shouldSplitAFlushOfShortAndLongAnswersIntoTwoCalls() {
        List<EncodedSequence> seqs = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            seqs.add(seq(i % 2 == 0 ? 11 : 60, i));
        }
        BatchPlan plan = new BatchPlanner(new BatchingConfig(64, 16384, 8, 200, 64), 128, 0).plan(seqs);

        assertThat(plan.batches()).hasSize(2);
        assertThat(plan.batches().get(0).ids()[0]).hasSize(16);
        assertThat(plan.batches().get(1).ids()[0]).hasSize(64);
        assertThat(plan.paddingEfficiency()).isGreaterThan(0.85);
    }

    @Test
    void shouldKeepOneCallWhenSplittingSavesLessThanTheCallOverhead() {
        List<EncodedSequence> seqs = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            seqs.add(seq(i % 2 == 0 ? 11 : 60, i));
        }
        BatchPlan oneCall = new BatchPlanner(new BatchingConfig(64, 16384, 8, 200, 100_000), 128, 0).plan(seqs);
        assertThat(oneCall.batches()).hasSize(1);

        List<EncodedSequence> similar = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            similar.add(seq(57 + i % 8, i));
        }
        // padded to a multiple of 8 they are all 64 long: nothing to save
        assertThat(new BatchPlanner(new BatchingConfig(64, 16384, 8, 200, 64), 128, 0).plan(similar).batches())
                .hasSize(1);
    }

    private static final class FakeFirstTokenModel implements RewardModel {
        private final ModelManifest manifest = new ModelManifest("fake", 1, 64, 0, 1000, "ids", null, null, null,
                null, null, null, 0, Map.of());

        @Override
        public ModelManifest manifest() {
            return manifest;
        }

        @Override
        public ModelOutput score(PaddedBatch batch) {
            float[] r = new float[batch.rows()];
            for (int i = 0; i < r.length; i++) {
                r[i] = batch.ids()[i][0];
            }
            return ModelOutput.of(r);
        }

        @Override
        public void close() {
        }
    }
}
