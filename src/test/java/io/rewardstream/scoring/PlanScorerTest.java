package io.rewardstream.scoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PlanScorerTest {

    /** FAKE for this test only: the reward of a row is its first token id; each call sleeps and counts overlap. */
    private static final class SlowFirstTokenModel implements RewardModel {
        private final ModelManifest manifest = ConstantRewardModel.of(0f, 128, 260).manifest();
        private final AtomicInteger inFlight = new AtomicInteger();
        private final AtomicInteger mostInFlight = new AtomicInteger();
        private final int failOnRows;

        SlowFirstTokenModel(int failOnRows) {
            this.failOnRows = failOnRows;
        }

        @Override
        public ModelManifest manifest() {
            return manifest;
        }

        @Override
        public ModelOutput score(PaddedBatch batch) {
            mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            try {
                Thread.sleep(30);
                if (batch.rows() == failOnRows) {
                    throw new ModelScoringException("device lost");
                }
                float[] r = new float[batch.rows()];
                for (int i = 0; i < r.length; i++) {
                    r[i] = batch.ids()[i][0];
                }
                return ModelOutput.of(r);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            } finally {
                inFlight.decrementAndGet();
            }
        }

        @Override
        public void close() {
        }
    }

    /** Batches of 1, 2, 3 and 4 rows; row k (original index) starts with token 10 + k. */
    private static BatchPlan plan() {
        List<PaddedBatch> batches = new ArrayList<>();
        int next = 0;
        for (int rows = 1; rows <= 4; rows++) {
            int[][] ids = new int[rows][];
            int[] index = new int[rows];
            for (int r = 0; r < rows; r++) {
                index[r] = 9 - next;   // reversed, so mapping back is visible
                ids[r] = new int[]{10 + index[r], 5};
                next++;
            }
            batches.add(PaddedBatch.of(ids, index, 2, 0));
        }
        return new BatchPlan(batches, 10);
    }

    @Test
    void shouldKeepEveryBatchOfAPlanInFlightTogetherAndMapRewardsBackToTheirRows() {
        SlowFirstTokenModel model = new SlowFirstTokenModel(-1);
        ModelOutput out = PlanScorer.score(model, plan());
        assertThat(out.rows()).isEqualTo(10);
        for (int k = 0; k < 10; k++) {
            assertThat(out.reward()[k]).isEqualTo(10f + k);
        }
        assertThat(model.mostInFlight.get()).as("every batch of the plan in flight at once, whatever the core count "
                + "(the common fork-join pool had one worker on two cores: at most two)").isEqualTo(4);
    }

    @Test
    void shouldFailThePlanWhenOneOfItsBatchesFails() {
        assertThatThrownBy(() -> PlanScorer.score(new SlowFirstTokenModel(3), plan()))
                .isInstanceOf(ModelScoringException.class).hasMessageContaining("device lost");
    }
}
