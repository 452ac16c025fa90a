package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

  @Test
  void shouldKeepOriginalBytesAndHeadersAndAddTheConventionHeaders() {
    byte[] key = "g-1".getBytes(StandardCharsets.UTF_8);
    byte[] value = {7, 1, 2};
    RecordHeaders original = new RecordHeaders();
    original.add("traceparent", "00-abc".getBytes(StandardCharsets.UTF_8));
    original.add(DeadLetters.REASON, "OLD".getBytes(StandardCharsets.UTF_8));
    WireFormatException error = new WireFormatException(WireFormatException.Reason.BAD_MAGIC_BYTE, "rollouts", -1, "x", null);

    ProducerRecord<byte[], byte[]> dl = DeadLetters.deadLetter("rollouts-dlq", "rollouts", 2, 41L, key, value,
        original, DeadLetters.reasonOf(new RuntimeException(error)), "d".repeat(5000), error);

    assertThat(dl.topic()).isEqualTo("rollouts-dlq");
    assertThat(dl.key()).isSameAs(key);
    assertThat(dl.value()).isSameAs(value);
    assertThat(dl.partition()).isNull();
    assertThat(DeadLetters.header(dl.headers(), "traceparent")).isEqualTo("00-abc");
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.EXCEPTION)).isEqualTo(WireFormatException.class.getName());
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.MESSAGE)).contains("BAD_MAGIC_BYTE");
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.TOPIC)).isEqualTo("rollouts");
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.PARTITION)).isEqualTo("2");
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.OFFSET)).isEqualTo("41");
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.REASON)).isEqualTo("BAD_MAGIC_BYTE");
    assertThat(dl.headers().headers(DeadLetters.REASON)).hasSize(1);
    assertThat(DeadLetters.header(dl.headers(), DeadLetters.DETAIL)).hasSize(DeadLetters.MAX_DETAIL_CHARS);
  }

  @Test
  void shouldFallBackWhenNoWireFormatReasonIsInTheChain() {
    assertThat(DeadLetters.reasonOf(new IllegalStateException("boom"), "SCORING_FAILED")).isEqualTo("SCORING_FAILED");
    assertThat(DeadLetters.reasonOf(null)).isEqualTo("UNKNOWN");
  }
}
