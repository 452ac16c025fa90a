package io.rewardstream.gateway;

import io.rewardstream.schema.SchemaRegistryException;
import io.rewardstream.schema.WireFormatException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How the listener decodes a reward or dead letter while the schema registry is away. */
class RewardListenerTest {

    @Test
    void shouldWaitOutARegistryOutageInsteadOfDroppingTheReward() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        String decoded = RewardListener.decodeWaitingOutRegistry(() -> {
            if (calls.incrementAndGet() <= 3) {
                throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, -1, null, "connection refused",
                        null);
            }
            return "reward r-1";
        }, () -> true);
        assertThat(decoded).isEqualTo("reward r-1");
        assertThat(calls.get()).isEqualTo(4);
    }

    @Test
    void shouldNotWaitForARecordThatIsItselfUnreadableOrWhenClosing() {
        AtomicInteger calls = new AtomicInteger();
        assertThatThrownBy(() -> RewardListener.decodeWaitingOutRegistry(() -> {
            calls.incrementAndGet();
            throw new WireFormatException(WireFormatException.Reason.BAD_MAGIC_BYTE, "rewards", -1, "not ours", null);
        }, () -> true)).isInstanceOf(WireFormatException.class);
        assertThat(calls.get()).isEqualTo(1);
        assertThatThrownBy(() -> RewardListener.decodeWaitingOutRegistry(() -> {
            throw new SchemaRegistryException(503, 503, null, "down", null);
        }, () -> false)).as("closing: no wait").isInstanceOf(SchemaRegistryException.class);
    }
}
