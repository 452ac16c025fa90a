package io.rewardstream.schema;

import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.FastReaderBuilder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka deserializer for the Confluent Avro wire format (magic byte 0, 4-byte big-endian schema id,
 * Avro binary). Reads with the writer schema fetched by id and the reader's compiled schema (Avro
 * schema resolution), so records written with an older or newer compatible schema decode; one
 * resolving reader is cached per writer schema id.
 *
 * <p>Reader type: the class given to the constructor; with the no-argument constructor (class-name
 * configuration, like Confluent's {@code SpecificAvroDeserializer}) the generated class named by the
 * writer schema; with {@link #generic(Schema, SchemaRegistryClient)} a {@link GenericRecord} of the
 * given reader schema.
 *
 * <p>{@code null} bytes give {@code null}. Any other bytes that cannot become a complete record throw
 * {@link WireFormatException} with its {@link WireFormatException.Reason}; a half-filled record is
 * never returned. A registry that cannot be reached is not a property of the record: that surfaces as
 * {@link SchemaRegistryException} (not a Kafka {@code SerializationException}), so handlers can tell
 * an outage from a poison record. Thread-safe after {@link #configure}.
 */
public class AvroDeserializer<T extends IndexedRecord> implements Deserializer<T> {
  private final Class<T> type;
  private final Schema genericReaderSchema;
  private SchemaRegistryClient client;
  private boolean isKey;
  private final Map<Integer, DatumReader<T>> readers = new ConcurrentHashMap<>();
  /**
   * Ids the registry answered 404 for, with the System.nanoTime after which to ask again: a replayed or repeated
   * poison id costs one registry lookup per {@link #UNKNOWN_ID_RETRY_NANOS} instead of one per record (bounded).
   */
  private final LruCache<Integer, Long> unknownIds = new LruCache<>(4096);
  static final long UNKNOWN_ID_RETRY_NANOS = 30_000_000_000L;

  /** For configuration by class name: the reader class is the generated class the writer schema names. */
  public AvroDeserializer() {
    this(null, null, null);
  }

  /** Reads into {@code type}; {@link #configure} creates the registry client. */
  public AvroDeserializer(Class<T> type) {
    this(Objects.requireNonNull(type, "type"), null, null);
  }

  /** Reads into {@code type} with an injected client; {@link #configure} is then optional. */
  public AvroDeserializer(Class<T> type, SchemaRegistryClient client) {
    this(Objects.requireNonNull(type, "type"), null, Objects.requireNonNull(client, "client"));
  }

  private AvroDeserializer(Class<T> type, Schema genericReaderSchema, SchemaRegistryClient client) {
    this.type = type;
    this.genericReaderSchema = genericReaderSchema;
    this.client = client;
  }

  /** A deserializer producing {@link GenericRecord}s of {@code readerSchema} (tools, tests, evolution checks). */
  public static AvroDeserializer<GenericRecord> generic(Schema readerSchema, SchemaRegistryClient client) {
    return new AvroDeserializer<>(null, Objects.requireNonNull(readerSchema, "readerSchema"), client);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (client == null) {
      client = new SchemaRegistryClient(SchemaRegistryConfig.from(configs));
    }
    this.isKey = isKey;
  }

  /**
   * Reads now the newest schema of {@code topic}'s subject into the client's id cache (what producers most likely
   * write with), so the first record of that schema does not wait on the registry.
   *
   * @return false when the subject has no versions yet (nothing to read ahead)
   * @throws SchemaRegistryException when the registry cannot be reached or answers an error other than 404
   */
  public boolean prepare(String topic) {
    if (client == null) {
      throw new IllegalStateException("AvroDeserializer used before configure() and without a client");
    }
    try {
      client.latest(TopicNameStrategy.subject(topic, isKey));
      return true;
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        return false;
      }
      throw e;
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null;
    }
    if (client == null) {
      throw new IllegalStateException("AvroDeserializer used before configure() and without a client");
    }
    if (data.length == 0) {
      throw new WireFormatException(WireFormatException.Reason.EMPTY, topic, -1, "zero bytes", null);
    }
    if (data[0] != 0) {
      throw new WireFormatException(WireFormatException.Reason.BAD_MAGIC_BYTE, topic, -1,
          String.format("first byte is 0x%02x, expected 0x00 (%d bytes)", data[0] & 0xff, data.length), null);
    }
    if (data.length < 5) {
      throw new WireFormatException(WireFormatException.Reason.TOO_SHORT, topic, -1,
          data.length + " bytes, at least 5 needed for the magic byte and schema id", null);
    }
    int id = ((data[1] & 0xff) << 24) | ((data[2] & 0xff) << 16) | ((data[3] & 0xff) << 8) | (data[4] & 0xff);
    DatumReader<T> reader = readers.get(id);
    if (reader == null) {
      Long retryAfter = unknownIds.get(id);
      if (retryAfter != null && System.nanoTime() - retryAfter < 0) {
        throw new WireFormatException(WireFormatException.Reason.UNKNOWN_SCHEMA_ID, topic, id,
            "the registry did not know this id (answer cached for 30 s)", null);
      }
      reader = readerFor(topic, id);
      readers.putIfAbsent(id, reader);
    }
    // Lengths and counts are checked against the bytes left before anything is allocated.
    BoundedDecoder decoder = new BoundedDecoder(data, 5, data.length - 5);
    T record;
    try {
      record = reader.read(null, decoder);
    } catch (EOFException e) {
      throw new WireFormatException(WireFormatException.Reason.TRUNCATED_BODY, topic, id,
          "body of " + (data.length - 5) + " bytes ended inside the record: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      // Garbage shows up as negative lengths, varints over 10 bytes, bad union or enum indexes
      // (AvroRuntimeException, IndexOutOfBounds), or lengths beyond Avro's limits.
      throw new WireFormatException(WireFormatException.Reason.MALFORMED_BODY, topic, id,
          "cannot decode the body with the writer schema: " + e, e);
    }
    if (decoder.remaining() > 0) {
      throw new WireFormatException(WireFormatException.Reason.TRAILING_BYTES, topic, id,
          decoder.remaining() + " bytes left after the record", null);
    }
    return record;
  }

  private DatumReader<T> readerFor(String topic, int id) {
    Schema writer;
    try {
      writer = client.getById(id);
    } catch (SchemaRegistryException e) {
      if (e.isNotFound()) {
        unknownIds.put(id, System.nanoTime() + UNKNOWN_ID_RETRY_NANOS);
        throw new WireFormatException(WireFormatException.Reason.UNKNOWN_SCHEMA_ID, topic, id,
            "the registry does not know this id: " + e.getMessage(), e);
      }
      if (e.httpStatus() >= 200 && e.httpStatus() < 300) {
        // the registry answered, with a schema that is not Avro (a Protobuf or JSON-Schema producer) or that this Avro
        // cannot parse: a property of the record, not an outage (which fails the stream thread, here forever)
        throw new WireFormatException(WireFormatException.Reason.SCHEMA_MISMATCH, topic, id,
            "the registry's schema for this id cannot be read as Avro: " + e.getMessage(), e);
      }
      throw e;
    }
    Schema reader;
    GenericData model;
    if (genericReaderSchema != null) {
      reader = genericReaderSchema;
      model = GenericData.get();
    } else {
      Class<?> cls = type;
      if (cls == null) {
        cls = SpecificData.get().getClass(writer);
        if (cls == null || !SpecificRecord.class.isAssignableFrom(cls)) {
          throw new WireFormatException(WireFormatException.Reason.SCHEMA_MISMATCH, topic, id,
              "no generated class " + writer.getFullName() + " on the classpath", null);
        }
      }
      SpecificData sd = SpecificData.getForClass(cls);
      model = sd;
      reader = sd.getSchema(cls);
    }
    var compat = SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
    if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      throw new WireFormatException(WireFormatException.Reason.SCHEMA_MISMATCH, topic, id,
          "writer schema " + writer.getFullName() + " cannot be read as " + reader.getFullName() + ": "
              + compat.getResult().getIncompatibilities(), null);
    }
    try {
      DatumReader<?> r = model instanceof SpecificData sd && genericReaderSchema == null
          ? specificReader(writer, reader, sd)
          : new GenericDatumReader<>(writer, reader, model);
      @SuppressWarnings("unchecked")
      DatumReader<T> typed = (DatumReader<T>) r;
      return typed;
    } catch (AvroRuntimeException e) {
      throw new WireFormatException(WireFormatException.Reason.SCHEMA_MISMATCH, topic, id, e.getMessage(), e);
    }
  }

  /**
   * Avro's FastReader (resolution planned once per writer schema instead of interpreted per record): about 3x faster
   * than {@link SpecificDatumReader} on a rollout, and the decode is the largest per-record cost of the scorer's
   * arrival path. Same records (checked by the serde tests), same decoder, so the same bounds checks on hostile input.
   * Falls back to the classic reader if Avro cannot build one.
   */
  private static DatumReader<?> specificReader(Schema writer, Schema reader, SpecificData sd) {
    try {
      return new FastReaderBuilder(sd).createDatumReader(writer, reader);
    } catch (IOException | RuntimeException e) {
      return new SpecificDatumReader<>(writer, reader, sd);
    }
  }

  @Override
  public void close() {
    // The client holds no resources that need closing.
  }
}
