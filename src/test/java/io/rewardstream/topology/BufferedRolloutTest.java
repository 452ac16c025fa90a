package io.rewardstream.topology;

import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BufferedRolloutTest {

    @Test
    void shouldReadBackEveryFieldIncludingHeadersAndNulls() {
        RecordHeaders headers = new RecordHeaders();
        headers.add("trace", "t-1".getBytes(StandardCharsets.UTF_8));
        headers.add("empty", null);
        headers.add("é", new byte[]{0, 1, 2});
        byte[] value = {0, 0, 0, 0, 7, 42, -1};
        BufferedRollout b = new BufferedRollout(1_700_000_000_123L, 17, "rollouts", 5, 123_456_789_012L, "grp-ü",
                headers, value, true);

        BufferedRollout back = BufferedRollout.fromBytes(b.toBytes());

        assertThat(back.arrivalMs()).isEqualTo(1_700_000_000_123L);
        assertThat(back.tokens()).isEqualTo(17);
        assertThat(back.sourceTopic()).isEqualTo("rollouts");
        assertThat(back.partition()).isEqualTo(5);
        assertThat(back.offset()).isEqualTo(123_456_789_012L);
        assertThat(back.key()).isEqualTo("grp-ü");
        assertThat(back.value()).containsExactly(value);
        assertThat(back.original()).isTrue();
        assertThat(back.headers().toArray()).hasSize(3);
        assertThat(back.headers().lastHeader("trace").value()).containsExactly("t-1".getBytes(StandardCharsets.UTF_8));
        assertThat(back.headers().lastHeader("empty").value()).isNull();
        assertThat(back.headers().lastHeader("é").value()).containsExactly(0, 1, 2);

        BufferedRollout bare = BufferedRollout.fromBytes(
                new BufferedRollout(1, 2, null, -1, -1, null, null, value, true).toBytes());
        assertThat(bare.sourceTopic()).isNull();
        assertThat(bare.key()).isNull();
        assertThat(bare.headers().toArray()).isEmpty();
        assertThat(bare.value()).containsExactly(value);
    }

    @Test
    void shouldRefuseTruncatedBytes() {
        byte[] ok = new BufferedRollout(1, 2, "t", 0, 0, "k", null, new byte[]{1, 2, 3}, true).toBytes();
        byte[] cut = java.util.Arrays.copyOf(ok, ok.length - 2);
        assertThatThrownBy(() -> BufferedRollout.fromBytes(cut)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldKeyRewardedIdsByZeroPaddedTimeSoTheySortByTime() {
        assertThat(RewardedIds.timeKey(1_700_000_000_000L)).isEqualTo("1700000000000");
        assertThat(RewardedIds.timeKey(42)).isEqualTo("0000000000042");
        assertThat(RewardedIds.timeKey(99)).isLessThan(RewardedIds.timeKey(100));
    }
}
