package io.rewardstream.topology;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The dedupe window's store: entries bounded in size, rebuilt after a restart, expired as a whole. */
class RewardedIdsTest {

    private static KeyValueStore<String, byte[]> store() {
        KeyValueStore<String, byte[]> s = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("rewarded-ids"),
                Serdes.String(), Serdes.ByteArray()).withLoggingDisabled().build();
        MockProcessorContext<Object, Object> ctx = new MockProcessorContext<>();
        s.init(ctx.getStateStoreContext(), s);
        return s;
    }

    private static List<byte[]> values(KeyValueStore<String, byte[]> s) {
        List<byte[]> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = s.all()) {
            it.forEachRemaining(kv -> out.add(kv.value));
        }
        return out;
    }

    @Test
    void shouldSplitALargeFlushIntoBoundedEntriesThatSurviveARestartAndExpireTogether() {
        KeyValueStore<String, byte[]> s = store();
        RewardedIds ids = new RewardedIds(s, 10_000, 1_000);
        List<String> flush = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            flush.add("r-" + "x".repeat(1_000) + "-" + i);   // ids near the 1,024-byte limit
        }
        ids.record(flush, 1_000);

        List<byte[]> entries = values(s);
        assertThat(entries).hasSize(3);
        assertThat(entries).allSatisfy(v -> assertThat(v.length).as("one entry").isLessThan(300_000));

        RewardedIds restarted = new RewardedIds(s, 10_000, 2_000);
        assertThat(restarted.size()).isEqualTo(600);
        assertThat(restarted.rewardedAt(flush.get(599), 2_000)).isEqualTo(1_000L);
        assertThat(restarted.rewardedAt(flush.get(0), 2_000)).isEqualTo(1_000L);

        restarted.expire(11_000);
        assertThat(restarted.size()).isZero();
        assertThat(values(s)).isEmpty();
    }
}
