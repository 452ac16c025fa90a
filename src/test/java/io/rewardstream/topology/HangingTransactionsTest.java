package io.rewardstream.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.Set;

import io.rewardstream.topology.HangingTransactions.CoordinatorView;
import io.rewardstream.topology.HangingTransactions.OpenTransaction;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class HangingTransactionsTest {

    private static final TopicPartition OFFSETS_3 = new TopicPartition("__consumer_offsets", 3);
    private static final long T0 = 1_000_000L;
    private static final String ID = "soak-scorer-298fa255-4645-4878-bf11-095229c58652-2";

    // producer 6 left epoch 168 open on __consumer_offsets-3 at offset 1891 when the broker stopped (soak of 4 Dec)
    private static final OpenTransaction OPEN = new OpenTransaction(OFFSETS_3, 6, 168, 0, 1891, T0);

    private static CoordinatorView view(long pid, int epoch, TransactionState state, Set<TopicPartition> parts) {
        return new CoordinatorView(ID, pid, epoch, state, parts, 10_000);
    }

    @Test
    void shouldReportTheSoakCaseWhereTheCoordinatorHasMovedOnToAnEmptyLaterEpoch() {
        Optional<String> r = HangingTransactions.classify(OPEN,
                Optional.of(view(6, 176, TransactionState.EMPTY, Set.of())), T0 + 60_000, 0);
        assertThat(r).hasValueSatisfying(s -> assertThat(s).contains("Empty").contains("176").contains("168"));
    }

    @Test
    void shouldNotReportAnOngoingTransactionOfTheSameEpochOnThatPartition() {
        assertThat(HangingTransactions.classify(OPEN,
                Optional.of(view(6, 168, TransactionState.ONGOING, Set.of(OFFSETS_3))), T0 + 60_000, 0)).isEmpty();
        // transactions v2: the epoch is bumped while the markers are written
        assertThat(HangingTransactions.classify(OPEN,
                Optional.of(view(6, 169, TransactionState.PREPARE_COMMIT, Set.of(OFFSETS_3))), T0 + 60_000, 0))
                .isEmpty();
    }

    @Test
    void shouldReportAnOngoingTransactionThatNoLongerHoldsThePartitionOrIsOfAnotherEpoch() {
        assertThat(HangingTransactions.classify(OPEN, Optional.of(view(6, 180, TransactionState.ONGOING,
                Set.of(new TopicPartition("soak-rewards", 3)))), T0 + 60_000, 0)).isPresent();
        assertThat(HangingTransactions.classify(OPEN, Optional.of(view(6, 180, TransactionState.ONGOING,
                Set.of(OFFSETS_3))), T0 + 60_000, 0)).isPresent();
    }

    @Test
    void shouldReportWhenTheTransactionalIdHasAnotherProducerIdOrNoneMapsToIt() {
        assertThat(HangingTransactions.classify(OPEN, Optional.of(view(9, 0, TransactionState.ONGOING,
                Set.of(OFFSETS_3))), T0 + 60_000, 0)).isPresent();
        assertThat(HangingTransactions.classify(OPEN, Optional.empty(), T0 + 60_000, 30_000))
                .hasValueSatisfying(s -> assertThat(s).contains("producer id 6"));
    }

    @Test
    void shouldNeverReportATransactionYoungerThanItsTimeoutOrTheMinimumAge() {
        CoordinatorView empty = view(6, 176, TransactionState.EMPTY, Set.of());
        assertThat(HangingTransactions.classify(OPEN, Optional.of(empty), T0 + 9_000, 0)).isEmpty();
        assertThat(HangingTransactions.classify(OPEN, Optional.empty(), T0 + 20_000, 30_000)).isEmpty();
        assertThat(HangingTransactions.classify(OPEN, Optional.of(empty), T0 + 20_000, 30_000)).isEmpty();
        assertThat(HangingTransactions.classify(OPEN, Optional.of(empty), T0 + 30_001, 30_000)).isPresent();
    }
}
