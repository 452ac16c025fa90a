package io.rewardstream.topology;

import io.rewardstream.avro.Rollout;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The buffer's hold and return for a flush in flight: held entries leave the index (the next batch) but not the
 * store; a failed call returns them; outputs that failed midway return only what is still stored.
 */
class RolloutBufferTest {
    private KeyValueStore<String, byte[]> store;
    private RolloutBuffer b;

    /** A buffer over an in-memory store holding "a" (arrived at 1) and "c" (at 2). */
    @BeforeEach
    void setUp() {
        store = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("b"), Serdes.String(), Serdes.ByteArray())
                .withLoggingDisabled().build();
        store.init(new MockProcessorContext<>().getStateStoreContext(), store);
        b = new RolloutBuffer(store, (t, bytes) -> null, "rollouts");
        put(b, "a", 1);
        put(b, "c", 2);
    }

    private static void put(RolloutBuffer b, String id, long arrival) {
        Rollout r = ScorerTopologyTest.rollout(id, "g", null, 4, 5, true, true);
        b.put(id, new BufferedRollout(arrival, 9, "rollouts", 0, arrival, "g", new RecordHeaders(), new byte[]{1},
                true), r);
    }

    private static List<RolloutBuffer.Item> items(RolloutBuffer b) {
        return b.inArrivalOrder().stream().map(b::read).toList();
    }

    @Test
    void shouldHoldEntriesOutOfTheNextBatchButInTheStoreAndReturnThem() {
        List<RolloutBuffer.Item> held = items(b);

        b.hold(held);
        assertThat(b.isEmpty()).isTrue();
        assertThat(store.approximateNumEntries()).isEqualTo(2);

        b.unhold(held);
        assertThat(b.inArrivalOrder()).extracting(BufferIndex.Pending::rolloutId).containsExactly("a", "c");
        assertThat(b.oldestArrivalMs()).isEqualTo(1);
    }

    @Test
    void shouldReturnOnlyTheHeldEntriesStillStoredWhenWritingOutputsFailedMidway() {
        List<RolloutBuffer.Item> held = items(b);
        b.hold(held);
        b.drop("a");   // its reward was written before the failure

        b.unholdStored(held);
        assertThat(b.inArrivalOrder()).extracting(BufferIndex.Pending::rolloutId).containsExactly("c");
        assertThat(store.approximateNumEntries()).isEqualTo(1);
    }
}
