package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rewardstream.avro.Rollout;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {
  private static final String TOPIC = "rollouts";
  private static final Schema PROBE_V1 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").endRecord();
  private static final Schema PROBE_V2 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").name("n").type().intType().intDefault(7).endRecord();

  private FakeSchemaRegistry fake;
  private SchemaRegistryClient client;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeSchemaRegistry();
    client = newClient();
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  private SchemaRegistryClient newClient() {
    return new SchemaRegistryClient(SchemaRegistryConfig.from(Map.of(
        "schema.registry.url", fake.url(), "schema.registry.request.timeout.ms", 2000,
        "schema.registry.retries", 0)));
  }

  private AvroSerde<Rollout> serde() {
    AvroSerde<Rollout> serde = new AvroSerde<>(Rollout.class, client);
    serde.configure(Map.of(), false);
    return serde;
  }

  private byte[] rolloutBytes() {
    return serde().serializer().serialize(TOPIC, TestRecords.rollout("r-1"));
  }

  private static WireFormatException.Reason reasonOf(Runnable r) {
    try {
      r.run();
    } catch (WireFormatException e) {
      assertThat(e.getMessage()).contains(TOPIC);
      assertThat(e).isInstanceOf(SerializationException.class);
      return e.reason();
    }
    throw new AssertionError("no WireFormatException");
  }

  private WireFormatException.Reason decode(byte[] bytes) {
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, newClient());
    return reasonOf(() -> d.deserialize(TOPIC, bytes));
  }

  @Test
  void shouldObtainTheSchemaIdAheadSoTheFirstRecordMakesNoRegistryCall() {
    AvroSerde<Rollout> serde = serde();
    long before = client.requestCount();
    serde.serializer().prepare(TOPIC, Rollout.getClassSchema());
    assertThat(client.requestCount()).as("prepare registered the schema").isGreaterThan(before);

    long prepared = client.requestCount();
    byte[] bytes = serde.serializer().serialize(TOPIC, TestRecords.rollout("r-1"));
    assertThat(client.requestCount()).as("serialize after prepare").isEqualTo(prepared);

    SchemaRegistryClient other = newClient();
    AvroDeserializer<Rollout> reader = new AvroDeserializer<>(Rollout.class, other);
    assertThat(reader.prepare(TOPIC)).isTrue();
    long read = other.requestCount();
    assertThat(reader.deserialize(TOPIC, bytes).getRolloutId()).isEqualTo("r-1");
    assertThat(other.requestCount()).as("deserialize after prepare").isEqualTo(read);
    assertThat(reader.prepare("no-such-topic")).as("a subject without versions").isFalse();
  }

  @Test
  void shouldReportAnUnreachableRegistryFromPrepareAsSerializeWould() {
    AvroSerde<Rollout> serde = serde();
    fake.close();
    assertThatThrownBy(() -> serde.serializer().prepare(TOPIC, Rollout.getClassSchema()))
        .isInstanceOf(SerializationException.class).hasMessageContaining("rollouts-value");
  }

  @Test
  void shouldRoundTripEveryRecordTypeInTheConfluentWireFormat() {
    for (Map.Entry<String, SpecificRecord> e : TestRecords.everyType().entrySet()) {
      @SuppressWarnings("unchecked")
      Class<SpecificRecord> type = (Class<SpecificRecord>) e.getValue().getClass();
      AvroSerde<SpecificRecord> serde = new AvroSerde<>(type, client);
      serde.configure(Map.of("schema.registry.url", "http://unused:1"), false);
      byte[] bytes = serde.serializer().serialize(e.getKey(), e.getValue());
      assertThat(bytes[0]).isZero();
      int id = ByteBuffer.wrap(bytes, 1, 4).getInt();
      assertThat(client.getById(id).toString())
          .isEqualTo(AvroSchemas.withoutJavaProperties(e.getValue().getSchema()).toString())
          .doesNotContain("avro.java.string");
      // A fresh client: the reader must fetch the writer schema by id.
      AvroDeserializer<SpecificRecord> reader = new AvroDeserializer<>(type, newClient());
      assertThat(reader.deserialize(e.getKey(), bytes)).isEqualTo(e.getValue());
    }
    assertThat(fake.requests()).filteredOn(r -> r.startsWith("POST /subjects/")).hasSize(6)
        .contains("POST /subjects/rollouts-value/versions", "POST /subjects/model-releases-value/versions");
  }

  @Test
  void shouldUseKeySubjectForKeys() {
    AvroSerializer<Rollout> s = new AvroSerializer<>(client, Map.of(), true);
    s.serialize(TOPIC, TestRecords.rollout("r-1"));
    assertThat(fake.requests()).containsExactly("POST /subjects/rollouts-key/versions");
  }

  @Test
  void shouldMapNullToNull() {
    AvroSerde<Rollout> serde = serde();
    assertThat(serde.serializer().serialize(TOPIC, null)).isNull();
    assertThat(serde.deserializer().deserialize(TOPIC, null)).isNull();
  }

  @Test
  void shouldFetchTheWriterSchemaOncePerIdAndReuseTheReader() {
    byte[] bytes = rolloutBytes();
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, newClient());
    for (int i = 0; i < 5; i++) {
      assertThat(d.deserialize(TOPIC, bytes).getRolloutId()).isEqualTo("r-1");
    }
    assertThat(fake.count("GET /schemas/ids/")).isEqualTo(1);
  }

  @Test
  void shouldServeManyThreadsFromOneInstance() throws Exception {
    AvroSerde<Rollout> serde = serde();
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, newClient());
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<Integer>> results = new java.util.ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        results.add(pool.submit(() -> {
          int ok = 0;
          for (int i = 0; i < 500; i++) {
            Rollout r = TestRecords.rollout("r-" + thread + "-" + i);
            if (d.deserialize(TOPIC, serde.serializer().serialize(TOPIC, r)).equals(r)) {
              ok++;
            }
          }
          return ok;
        }));
      }
      for (java.util.concurrent.Future<Integer> f : results) {
        assertThat(f.get()).isEqualTo(500);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(fake.count("GET /schemas/ids/")).isLessThanOrEqualTo(4);
    assertThat(fake.count("POST /subjects/rollouts-value/versions")).isLessThanOrEqualTo(4);
  }

  @Test
  void shouldLookUpInsteadOfRegisteringWhenAutoRegisterIsOff() {
    AvroSerializer<Rollout> s = new AvroSerializer<>(client, Map.of("auto.register.schemas", "false"), false);
    assertThatThrownBy(() -> s.serialize(TOPIC, TestRecords.rollout("r-1")))
        .isInstanceOf(SerializationException.class)
        .hasCauseInstanceOf(SchemaRegistryException.class)
        .hasMessageContaining("rollouts-value");
    int id = fake.preRegister("rollouts-value", AvroSchemas.withoutJavaProperties(Rollout.getClassSchema()));
    byte[] bytes = s.serialize(TOPIC, TestRecords.rollout("r-1"));
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(id);
    assertThat(fake.count("POST /subjects/rollouts-value/versions")).isZero();
  }

  @Test
  void shouldWriteWithTheLatestVersionWhenConfigured() {
    fake.preRegister("probe-value", PROBE_V1);
    int v2 = fake.preRegister("probe-value", PROBE_V2);
    AvroSerializer<GenericRecord> s = new AvroSerializer<>(client, Map.of("use.latest.version", "true"), false);
    GenericRecord old = new GenericData.Record(PROBE_V1);
    old.put("id", "a");
    byte[] bytes = s.serialize("probe", old);
    assertThat(ByteBuffer.wrap(bytes, 1, 4).getInt()).isEqualTo(v2);
    GenericRecord back = AvroDeserializer.generic(PROBE_V2, newClient()).deserialize("probe", bytes);
    assertThat(back.get("id").toString()).isEqualTo("a");
    assertThat(back.get("n")).isEqualTo(7);
    s.serialize("probe", old);
    assertThat(fake.count("GET /subjects/probe-value/versions/latest")).isEqualTo(1);
  }

  @Test
  void shouldRefuseARecordTheLatestVersionCannotReadWhenStrict() {
    Schema needsM = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
        .fields().requiredString("id").requiredLong("m").endRecord();
    fake.preRegister("probe-value", needsM);
    AvroSerializer<GenericRecord> s = new AvroSerializer<>(client, Map.of("use.latest.version", true), false);
    GenericRecord old = new GenericData.Record(PROBE_V1);
    old.put("id", "a");
    assertThatThrownBy(() -> s.serialize("probe", old))
        .isInstanceOf(SerializationException.class).hasMessageContaining("cannot read");
  }

  @Test
  void shouldDecodeOldWritersWithNewReadersAndTheReverse() {
    AvroSerializer<GenericRecord> s = new AvroSerializer<>(client, Map.of(), false);
    GenericRecord v1 = new GenericData.Record(PROBE_V1);
    v1.put("id", "old");
    GenericRecord v2 = new GenericData.Record(PROBE_V2);
    v2.put("id", "new");
    v2.put("n", 3);
    byte[] fromV1 = s.serialize("probe", v1);
    byte[] fromV2 = s.serialize("probe", v2);
    GenericRecord readV2 = AvroDeserializer.generic(PROBE_V2, newClient()).deserialize("probe", fromV1);
    assertThat(readV2.get("n")).isEqualTo(7);
    GenericRecord readV1 = AvroDeserializer.generic(PROBE_V1, newClient()).deserialize("probe", fromV2);
    assertThat(readV1.get("id").toString()).isEqualTo("new");
    assertThat(readV1.getSchema().getFields()).hasSize(1);
  }

  @Test
  void shouldFindTheGeneratedClassFromTheWriterSchemaWithTheNoArgumentSerde() {
    byte[] bytes = rolloutBytes();
    AvroSerde<Rollout> byName = new AvroSerde<>();
    byName.configure(Map.of("schema.registry.url", fake.url(), "schema.registry.request.timeout.ms", "2000"), false);
    Rollout r = byName.deserializer().deserialize(TOPIC, bytes);
    assertThat(r).isEqualTo(TestRecords.rollout("r-1"));
    assertThat(byName.serializer().serialize(TOPIC, r)).isEqualTo(bytes);
  }

  // --- bad bytes ---------------------------------------------------------------------------------

  @Test
  void shouldRejectEmptyBytes() {
    assertThat(decode(new byte[0])).isEqualTo(WireFormatException.Reason.EMPTY);
  }

  @Test
  void shouldRejectABadMagicByte() {
    byte[] bytes = rolloutBytes();
    bytes[0] = 1;
    assertThat(decode(bytes)).isEqualTo(WireFormatException.Reason.BAD_MAGIC_BYTE);
    assertThat(decode("{\"json\":1}".getBytes())).isEqualTo(WireFormatException.Reason.BAD_MAGIC_BYTE);
  }

  @Test
  void shouldRejectFewerThanFiveBytes() {
    assertThat(decode(new byte[] {0, 0, 0, 1})).isEqualTo(WireFormatException.Reason.TOO_SHORT);
  }

  @Test
  void shouldRejectAnUnknownSchemaId() {
    byte[] bytes = rolloutBytes();
    ByteBuffer.wrap(bytes).putInt(1, 777_777);
    assertThat(decode(bytes)).isEqualTo(WireFormatException.Reason.UNKNOWN_SCHEMA_ID);
  }

  @Test
  void shouldRejectARecordWhoseSchemaIdIsAnotherFormatsAsAMismatchNotAnOutage() {
    // a producer with Confluent's Protobuf serializer: same framing, a PROTOBUF schema. The registry answered: the
    // record is at fault (dead letter), not the registry (which failed the stream thread, forever)
    fake.putForeignSchema(888_888, "PROTOBUF", "syntax = \"proto3\"; message Rollout { string id = 1; }");
    byte[] bytes = rolloutBytes();
    ByteBuffer.wrap(bytes).putInt(1, 888_888);
    assertThat(decode(bytes)).isEqualTo(WireFormatException.Reason.SCHEMA_MISMATCH);
  }

  @Test
  void shouldAskTheRegistryAboutAnUnknownIdOnlyOnceWhileItsAnswerIsCached() {
    byte[] bytes = rolloutBytes();
    ByteBuffer.wrap(bytes).putInt(1, 777_778);
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, client);
    for (int i = 0; i < 50; i++) {
      assertThat(reasonOf(() -> d.deserialize(TOPIC, bytes))).isEqualTo(WireFormatException.Reason.UNKNOWN_SCHEMA_ID);
    }
    assertThat(fake.count("GET /schemas/ids/777778")).isEqualTo(1);
  }

  @Test
  void shouldRejectInvalidUtf8InAString() {
    Rollout r = TestRecords.rollout("r-utf8");
    r.setPromptText("@@@@");
    byte[] bytes = serde().serializer().serialize(TOPIC, r);
    for (int i = 0; i + 4 <= bytes.length; i++) {
      if (bytes[i] == '@' && bytes[i + 1] == '@' && bytes[i + 2] == '@' && bytes[i + 3] == '@') {
        bytes[i] = (byte) 0xC3;
        bytes[i + 1] = 0x28; // 0xC3 must be followed by a continuation byte
        break;
      }
    }
    assertThat(decode(bytes)).isEqualTo(WireFormatException.Reason.MALFORMED_BODY);
  }

  @Test
  void shouldRejectATruncatedBody() {
    byte[] bytes = rolloutBytes();
    assertThat(decode(Arrays.copyOf(bytes, bytes.length - 3))).isEqualTo(WireFormatException.Reason.TRUNCATED_BODY);
    assertThat(decode(Arrays.copyOf(bytes, 5))).isEqualTo(WireFormatException.Reason.TRUNCATED_BODY);
  }

  @Test
  void shouldRejectAMalformedBody() {
    byte[] bytes = rolloutBytes();
    // rollout_id length prefix: zig-zag varint -1 (negative length)
    byte[] negative = Arrays.copyOf(bytes, bytes.length);
    negative[5] = 1;
    assertThat(decode(negative)).isEqualTo(WireFormatException.Reason.MALFORMED_BODY);
    // eleven continuation bytes: not a varint
    byte[] longVarint = Arrays.copyOf(bytes, bytes.length);
    Arrays.fill(longVarint, 5, 16, (byte) 0xff);
    assertThat(decode(longVarint)).isEqualTo(WireFormatException.Reason.MALFORMED_BODY);
  }

  @Test
  void shouldRejectAHugeLengthPrefixWithoutAllocatingIt() {
    byte[] bytes = rolloutBytes();
    // rollout_id length 1e9 (zig-zag varint of 2e9) in a 40-byte record: refused before allocation
    byte[] huge = new byte[40];
    System.arraycopy(bytes, 0, huge, 0, 5);
    byte[] len = {(byte) 0x80, (byte) 0xa8, (byte) 0xd6, (byte) 0xb9, 0x07};
    System.arraycopy(len, 0, huge, 5, len.length);
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, newClient());
    assertThatThrownBy(() -> d.deserialize(TOPIC, huge))
        .isInstanceOfSatisfying(WireFormatException.class,
            e -> assertThat(e.reason()).isEqualTo(WireFormatException.Reason.TRUNCATED_BODY))
        .hasMessageContaining("length 1000000000 exceeds the 30 bytes left");
  }

  @Test
  void shouldRejectAnOutOfRangeUnionOrEnumIndex() {
    Schema s = SchemaBuilder.record("U").namespace("io.rewardstream.test").fields()
        .name("e").type().enumeration("E").symbols("A", "B").noDefault().endRecord();
    int id = fake.preRegister("u-value", s);
    byte[] bytes = {0, 0, 0, 0, (byte) id, 0x14}; // enum index 10
    assertThat(reasonOf(() -> AvroDeserializer.generic(s, newClient()).deserialize(TOPIC, bytes)))
        .isEqualTo(WireFormatException.Reason.MALFORMED_BODY);
  }

  @Test
  void shouldRejectTrailingBytes() {
    byte[] bytes = rolloutBytes();
    assertThat(decode(Arrays.copyOf(bytes, bytes.length + 2))).isEqualTo(WireFormatException.Reason.TRAILING_BYTES);
  }

  @Test
  void shouldRejectAWriterSchemaTheReaderCannotResolve() throws Exception {
    Schema other = SchemaBuilder.record("Rollout").namespace("io.rewardstream.avro").fields()
        .requiredInt("rollout_id").endRecord();
    int id = fake.preRegister("rollouts-value", other);
    GenericRecord r = new GenericData.Record(other);
    r.put("rollout_id", 5);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {0, 0, 0, 0, (byte) id});
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(other).write(r, enc);
    enc.flush();
    assertThat(decode(out.toByteArray())).isEqualTo(WireFormatException.Reason.SCHEMA_MISMATCH);
  }

  @Test
  void shouldNotTreatAnUnreachableRegistryAsABadRecord() {
    byte[] bytes = rolloutBytes();
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, newClient());
    fake.failNext(1, 503);
    assertThatThrownBy(() -> d.deserialize(TOPIC, bytes))
        .isInstanceOf(SchemaRegistryException.class)
        .isNotInstanceOf(SerializationException.class);
    assertThat(d.deserialize(TOPIC, bytes).getRolloutId()).isEqualTo("r-1");
  }

  @Test
  void shouldConfigureFromConfluentPropertiesOnly() {
    Map<String, Object> props = new HashMap<>();
    props.put("schema.registry.url", fake.url());
    props.put("auto.register.schemas", false);
    AvroSerde<Rollout> serde = new AvroSerde<>(Rollout.class);
    serde.configure(props, false);
    assertThatThrownBy(() -> serde.serializer().serialize(TOPIC, TestRecords.rollout("x")))
        .isInstanceOf(SerializationException.class);
    assertThat(fake.requests()).containsExactly("POST /subjects/rollouts-value");
  }
}
