package io.rewardstream.schema;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serializer writing Avro records (generated {@link SpecificRecord}s or {@code GenericRecord}s)
 * in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.
 * Subject: {@link TopicNameStrategy}.
 *
 * <p>The schema registered and looked up is the record's schema without the Java-only properties
 * the Avro compiler adds ({@link AvroSchemas#withoutJavaProperties}), i.e. exactly the .avsc: this is
 * Confluent's {@code avro.remove.java.properties=true}, made the only behaviour.
 *
 * <p>Configured with Confluent's keys (see {@link SchemaRegistryConfig}):
 * <ul>
 *   <li>{@code auto.register.schemas=true} (default): registers the record's own schema, uses its id;</li>
 *   <li>{@code auto.register.schemas=false}: looks the record's schema up in the subject, fails when absent;</li>
 *   <li>{@code use.latest.version=true}: writes with the subject's latest schema and its id (looked up
 *   once per subject and kept); with {@code latest.compatibility.strict=true} (default) the latest schema must be
 *   able to read the record's schema, else the record is refused.</li>
 * </ul>
 *
 * <p>Thread-safe after {@link #configure}. Registry failures surface as
 * {@link SerializationException} whose cause is the {@link SchemaRegistryException}.
 */
public class AvroSerializer<T extends IndexedRecord> implements Serializer<T> {
  private SchemaRegistryClient client;
  private SchemaRegistryConfig.SerdeFlags flags = new SchemaRegistryConfig.SerdeFlags(true, false, true);
  private boolean isKey;
  private final Map<Schema, DatumWriter<Object>> specificWriters = new ConcurrentHashMap<>();
  private final Map<Schema, DatumWriter<Object>> genericWriters = new ConcurrentHashMap<>();
  private final Map<String, RegisteredSchema> latestBySubject = new ConcurrentHashMap<>();
  private final Map<Schema, Schema> wireSchemas = new ConcurrentHashMap<>();

  /** For configuration by class name: {@link #configure} creates the registry client. */
  public AvroSerializer() {}

  /** With an injected client; {@link #configure} then only reads the serde flags. */
  public AvroSerializer(SchemaRegistryClient client) {
    this.client = Objects.requireNonNull(client, "client");
  }

  /** Ready to use without {@link #configure}: the given client and flags, values (not keys). */
  public AvroSerializer(SchemaRegistryClient client, Map<String, ?> configs, boolean isKey) {
    this(client);
    configure(configs, isKey);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    if (client == null) {
      SchemaRegistryConfig config = SchemaRegistryConfig.from(configs);
      client = new SchemaRegistryClient(config);
      flags = config.serdeFlags();
    } else {
      flags = SchemaRegistryConfig.SerdeFlags.from(configs);
    }
  }

  @Override
  public byte[] serialize(String topic, T data) {
    if (data == null) {
      return null;
    }
    if (client == null) {
      throw new IllegalStateException("AvroSerializer used before configure() and without a client");
    }
    String subject = TopicNameStrategy.subject(topic, isKey);
    Schema own = data.getSchema();
    // Registered without the Java-only properties, so Java and Python producers share ids.
    Schema wire = wireSchemas.computeIfAbsent(own, AvroSchemas::withoutJavaProperties);
    int id;
    Object datum = data;
    Schema writeWith = own;
    try {
      if (flags.useLatestVersion()) {
        RegisteredSchema latest = latestBySubject.computeIfAbsent(subject, client::latest);
        id = latest.id();
        if (!latest.schema().equals(wire) && !latest.schema().equals(own)) {
          if (flags.latestCompatibilityStrict()) {
            var compat = SchemaCompatibility.checkReaderWriterCompatibility(latest.schema(), own);
            if (compat.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
              throw new SerializationException("topic " + topic + ": latest schema of subject " + subject
                  + " (id " + id + ") cannot read the record's schema " + own.getFullName() + ": "
                  + compat.getResult().getIncompatibilities());
            }
          }
          datum = convert(data, own, latest.schema());
          writeWith = latest.schema();
        }
      } else {
        id = registeredId(subject, wire);
      }
    } catch (SchemaRegistryException e) {
      throw noId(topic, subject, e);
    }
    Bytes out = new Bytes(256);
    out.write(0);
    out.write(id >>> 24);
    out.write(id >>> 16);
    out.write(id >>> 8);
    out.write(id);
    try {
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      (datum == data ? writerFor(data) : genericWriter(writeWith)).write(datum, encoder);
      encoder.flush();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("topic " + topic + ": cannot encode " + own.getFullName()
          + " with schema id " + id + ": " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  /**
   * Obtains now, and caches, the schema id this serializer will write {@code schema}'s records to {@code topic} with
   * (the subject's latest version, or registered, or looked up, as {@link #serialize} would), so the first record
   * does not wait on the registry.
   *
   * @throws SerializationException as {@link #serialize} would: registry unreachable, schema refused or absent
   */
  public void prepare(String topic, Schema schema) {
    if (client == null) {
      throw new IllegalStateException("AvroSerializer used before configure() and without a client");
    }
    String subject = TopicNameStrategy.subject(topic, isKey);
    try {
      if (flags.useLatestVersion()) {
        latestBySubject.computeIfAbsent(subject, client::latest);
      } else {
        registeredId(subject, wireSchemas.computeIfAbsent(schema, AvroSchemas::withoutJavaProperties));
      }
    } catch (SchemaRegistryException e) {
      throw noId(topic, subject, e);
    }
  }

  /** Registers (auto.register.schemas) or looks up {@code wire} in {@code subject}; the client caches the id. */
  private int registeredId(String subject, Schema wire) {
    return flags.autoRegisterSchemas() ? client.register(subject, wire) : client.lookup(subject, wire).id();
  }

  private static SerializationException noId(String topic, String subject, SchemaRegistryException e) {
    return new SerializationException("topic " + topic + ": cannot obtain a schema id for subject " + subject
        + ": " + e.getMessage(), e);
  }

  /** A writer for a record in its own schema (with its class's logical-type conversions). */
  private DatumWriter<Object> writerFor(T sample) {
    if (sample instanceof SpecificRecord) {
      return specificWriters.computeIfAbsent(sample.getSchema(),
          s -> new SpecificDatumWriter<>(s, SpecificData.getForClass(sample.getClass())));
    }
    return genericWriter(sample.getSchema());
  }

  /** A writer without logical-type conversions (timestamps stay longs), for converted records. */
  private DatumWriter<Object> genericWriter(Schema schema) {
    return genericWriters.computeIfAbsent(schema, s -> new GenericDatumWriter<>(s, GenericData.get()));
  }

  /** Re-shapes a record into the latest schema's layout by Avro schema resolution (fields matched by name). */
  private Object convert(T data, Schema own, Schema latest) throws SchemaRegistryException {
    try {
      ByteArrayOutputStream tmp = new ByteArrayOutputStream(256);
      BinaryEncoder enc = EncoderFactory.get().directBinaryEncoder(tmp, null);
      writerFor(data).write(data, enc);
      enc.flush();
      GenericDatumReader<Object> reader = new GenericDatumReader<>(own, latest, GenericData.get());
      return reader.read(null, DecoderFactory.get().binaryDecoder(tmp.toByteArray(), null));
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot convert " + own.getFullName() + " to the subject's latest schema: "
          + e.getMessage(), e);
    }
  }

  /**
   * {@link ByteArrayOutputStream} without its lock: the direct encoder writes byte by byte, and an uncontended lock per
   * byte was a visible share of the scorer's Reward encode. Confined to one {@link #serialize} call.
   */
  private static final class Bytes extends java.io.OutputStream {
    private byte[] buf;
    private int n;

    Bytes(int capacity) {
      buf = new byte[capacity];
    }

    @Override
    public void write(int b) {
      if (n == buf.length) {
        buf = java.util.Arrays.copyOf(buf, buf.length * 2);
      }
      buf[n++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (n + len > buf.length) {
        buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, n + len));
      }
      System.arraycopy(b, off, buf, n, len);
      n += len;
    }

    byte[] toByteArray() {
      return java.util.Arrays.copyOf(buf, n);
    }
  }

  @Override
  public void close() {
    // The client holds no resources that need closing.
  }
}
