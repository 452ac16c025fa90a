package io.rewardstream.schema;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The dead-letter convention (schemas/README.md): a dead letter carries the original key and value
 * bytes untouched, the original headers, the headers Kafka Streams' KIP-1034 handlers write, and two
 * rewardstream headers with a short reason code and a human-readable detail. All header values are
 * UTF-8 strings. Stateless; thread-safe.
 */
public final class DeadLetters {
  /** Fully-qualified class name of the exception (KIP-1034). */
  public static final String EXCEPTION = "__streams.errors.exception";
  /** The exception message (KIP-1034). */
  public static final String MESSAGE = "__streams.errors.message";
  /** The exception stack trace (KIP-1034 writes it; {@link #deadLetter} does not). */
  public static final String STACKTRACE = "__streams.errors.stacktrace";
  /** Source topic (KIP-1034). */
  public static final String TOPIC = "__streams.errors.topic";
  /** Source partition, decimal (KIP-1034). */
  public static final String PARTITION = "__streams.errors.partition";
  /** Source offset, decimal (KIP-1034). */
  public static final String OFFSET = "__streams.errors.offset";
  /** Short upper-case reason code, e.g. BAD_MAGIC_BYTE, SCHEMA_MISMATCH, INVALID_ROLLOUT, SCORING_FAILED. */
  public static final String REASON = "rewardstream.dlq.reason";
  /** Free-text detail for humans (bounded to {@link #MAX_DETAIL_CHARS}). */
  public static final String DETAIL = "rewardstream.dlq.detail";

  public static final int MAX_DETAIL_CHARS = 2000;

  private DeadLetters() {}

  /**
   * Builds a dead letter for {@code dlqTopic}.
   *
   * @param originalHeaders the source record's headers (copied; null for none). Any previous
   *     dead-letter headers in them are replaced, so a re-dead-lettered record carries one set.
   * @param reason short code (for a {@link WireFormatException}, use {@link #reasonOf(Throwable)})
   * @param error the failure, or null (then the exception headers are absent)
   * @param partition source partition, or -1 when unknown; {@code offset} likewise
   */
  public static ProducerRecord<byte[], byte[]> deadLetter(String dlqTopic, String sourceTopic, int partition,
      long offset, byte[] key, byte[] value, Headers originalHeaders, String reason, String detail, Throwable error) {
    Objects.requireNonNull(dlqTopic, "dlqTopic");
    Objects.requireNonNull(reason, "reason");
    RecordHeaders headers = new RecordHeaders();
    if (originalHeaders != null) {
      for (Header h : originalHeaders) {
        if (!isDeadLetterHeader(h.key())) {
          headers.add(h.key(), h.value());
        }
      }
    }
    if (error != null) {
      put(headers, EXCEPTION, error.getClass().getName());
      put(headers, MESSAGE, String.valueOf(error.getMessage()));
    }
    if (sourceTopic != null) {
      put(headers, TOPIC, sourceTopic);
    }
    put(headers, PARTITION, Integer.toString(partition));
    put(headers, OFFSET, Long.toString(offset));
    put(headers, REASON, reason);
    if (detail != null) {
      put(headers, DETAIL, detail.length() <= MAX_DETAIL_CHARS ? detail : detail.substring(0, MAX_DETAIL_CHARS));
    }
    return new ProducerRecord<>(dlqTopic, null, null, key, value, headers);
  }

  /** The reason code for a failure: the {@link WireFormatException.Reason} name if any in the cause chain, else {@code fallback}. */
  public static String reasonOf(Throwable error, String fallback) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof WireFormatException w) {
        return w.reason().name();
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return fallback;
  }

  /** Same as {@code reasonOf(error, "UNKNOWN")}. */
  public static String reasonOf(Throwable error) {
    return reasonOf(error, "UNKNOWN");
  }

  /** A header's value as a UTF-8 string, or null when absent. */
  public static String header(Headers headers, String key) {
    Header h = headers.lastHeader(key);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static boolean isDeadLetterHeader(String key) {
    return key.startsWith("__streams.errors.") || key.equals(REASON) || key.equals(DETAIL);
  }

  private static void put(RecordHeaders headers, String key, String value) {
    headers.add(key, value.getBytes(StandardCharsets.UTF_8));
  }
}
