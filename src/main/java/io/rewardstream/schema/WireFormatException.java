package io.rewardstream.schema;

import org.apache.kafka.common.errors.SerializationException;

/**
 * Bytes that are not a valid Confluent-framed Avro record for the reader: the deserializer never
 * returns a half-filled record, it throws this. Extends Kafka's {@link SerializationException} so
 * Kafka's deserialization exception handlers (and KIP-1034 dead-letter queues) treat it as a poison
 * record. {@link #reason()} is a stable code for dead-letter headers and metrics.
 */
public class WireFormatException extends SerializationException {
  private static final long serialVersionUID = 1L;

  /** What was wrong with the bytes. */
  public enum Reason {
    /** Zero bytes (a non-null empty array). */
    EMPTY,
    /** First byte is not the magic byte 0. */
    BAD_MAGIC_BYTE,
    /** Fewer than 5 bytes: no room for the magic byte and the 4-byte schema id. */
    TOO_SHORT,
    /** The registry does not know the schema id. */
    UNKNOWN_SCHEMA_ID,
    /** The Avro body ended before the record did. */
    TRUNCATED_BODY,
    /** The Avro body cannot be decoded with the writer schema (bad lengths, union index, enum index, UTF-8...). */
    MALFORMED_BODY,
    /** Bytes left over after the record. */
    TRAILING_BYTES,
    /** The writer schema cannot be read with the reader schema (incompatible, or a different record). */
    SCHEMA_MISMATCH
  }

  private final Reason reason;
  private final String topic;
  private final int schemaId;

  public WireFormatException(Reason reason, String topic, int schemaId, String detail, Throwable cause) {
    super(reason + " on topic " + topic + (schemaId >= 0 ? " (schema id " + schemaId + ")" : "") + ": " + detail, cause);
    this.reason = reason;
    this.topic = topic;
    this.schemaId = schemaId;
  }

  public Reason reason() {
    return reason;
  }

  public String topic() {
    return topic;
  }

  /** The schema id read from the bytes, or -1 when the bytes were too short to hold one. */
  public int schemaId() {
    return schemaId;
  }
}
