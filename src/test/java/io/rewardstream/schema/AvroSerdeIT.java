package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The serdes and the registry client on the real broker and the real Apicurio registry. */
@ExtendWith(SharedLocalStack.class)
class AvroSerdeIT {
  private static final Schema PROBE_V1 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").requiredInt("count").endRecord();
  private static final Schema PROBE_V2 = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
      .fields().requiredString("id").requiredInt("count")
      .name("label").type().unionOf().nullType().and().stringType().endUnion().nullDefault()
      .name("weight").type().doubleType().doubleDefault(1.0)
      .endRecord();

  private static LocalStack stack;

  @BeforeAll
  static void setUp(LocalStack s) {
    stack = s;
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static Map<String, Object> registryProps() {
    Map<String, Object> p = new HashMap<>();
    p.put("schema.registry.url", stack.schemaRegistryUrl());
    p.put("schema.registry.request.timeout.ms", 5000);
    p.put("schema.registry.retries", 1);
    return p;
  }

  private static SchemaRegistryClient client() {
    return new SchemaRegistryClient(SchemaRegistryConfig.from(registryProps()));
  }

  private static void createTopics(String... names) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", stack.bootstrapServers()))) {
      List<NewTopic> topics = new ArrayList<>();
      for (String n : names) {
        topics.add(new NewTopic(n, 1, (short) 1));
      }
      admin.createTopics(topics).all().get();
    }
  }

  private static Map<String, Object> producerProps() {
    Map<String, Object> p = new HashMap<>(registryProps());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return p;
  }

  private static Map<String, Object> consumerProps() {
    Map<String, Object> c = new HashMap<>(registryProps());
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
    c.put(ConsumerConfig.GROUP_ID_CONFIG, unique("it"));
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    return c;
  }

  private static <K, V> List<ConsumerRecord<K, V>> consume(KafkaConsumer<K, V> consumer, String topic, int n) {
    consumer.subscribe(List.of(topic));
    List<ConsumerRecord<K, V>> got = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (got.size() < n && System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(200)).forEach(got::add);
    }
    assertThat(got).as("records on " + topic).hasSize(n);
    return got;
  }

  @Test
  void shouldRoundTripEveryRecordTypeThroughABrokerConfiguredByClassName() throws Exception {
    Map<String, SpecificRecord> examples = new LinkedHashMap<>();
    TestRecords.everyType().forEach((topic, record) -> examples.put(unique(topic), record));
    createTopics(examples.keySet().toArray(String[]::new));

    // Configured exactly like Confluent's serde, with only the class names changed.
    Map<String, Object> pp = producerProps();
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, AvroSerializer.class.getName());
    try (KafkaProducer<String, Object> producer = new KafkaProducer<>(pp)) {
      for (Map.Entry<String, SpecificRecord> e : examples.entrySet()) {
        producer.send(new ProducerRecord<>(e.getKey(), "k", e.getValue())).get();
      }
    }
    Map<String, Object> cp = consumerProps();
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, AvroDeserializer.class.getName());
    for (Map.Entry<String, SpecificRecord> e : examples.entrySet()) {
      cp.put(ConsumerConfig.GROUP_ID_CONFIG, unique("it"));
      try (KafkaConsumer<String, Object> consumer = new KafkaConsumer<>(cp)) {
        Object value = consume(consumer, e.getKey(), 1).get(0).value();
        assertThat(value).as(e.getKey()).isInstanceOf(e.getValue().getClass()).isEqualTo(e.getValue());
      }
      // The typed serde reads the same bytes into the same record.
      @SuppressWarnings("unchecked")
      Class<SpecificRecord> type = (Class<SpecificRecord>) e.getValue().getClass();
      try (AvroSerde<SpecificRecord> serde = new AvroSerde<>(type)) {
        serde.configure(registryProps(), false);
        byte[] bytes = serde.serializer().serialize(e.getKey(), e.getValue());
        assertThat(serde.deserializer().deserialize(e.getKey(), bytes)).isEqualTo(e.getValue());
      }
    }
  }

  @Test
  void shouldReadV1WritersWithV2ReadersAndTheReverseUnderBackwardCompatibility() throws Exception {
    String topic = unique("evolution");
    createTopics(topic);
    SchemaRegistryClient client = client();
    client.setCompatibility(TopicNameStrategy.valueSubject(topic), CompatibilityLevel.BACKWARD);
    GenericRecord v1 = new GenericData.Record(PROBE_V1);
    v1.put("id", "old");
    v1.put("count", 1);
    GenericRecord v2 = new GenericData.Record(PROBE_V2);
    v2.put("id", "new");
    v2.put("count", 2);
    v2.put("label", "fresh");
    v2.put("weight", 0.5);
    try (KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(producerProps(),
        new StringSerializer(), new AvroSerializer<>(client, registryProps(), false))) {
      producer.send(new ProducerRecord<>(topic, "a", v1)).get();
      producer.send(new ProducerRecord<>(topic, "b", v2)).get();
    }
    assertThat(client.latest(TopicNameStrategy.valueSubject(topic)).version()).isEqualTo(2);

    List<byte[]> raw;
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerProps(), new StringDeserializer(),
        new ByteArrayDeserializer())) {
      raw = consume(consumer, topic, 2).stream().map(ConsumerRecord::value).toList();
    }
    AvroDeserializer<GenericRecord> v2Reader = AvroDeserializer.generic(PROBE_V2, client());
    GenericRecord oldAsV2 = v2Reader.deserialize(topic, raw.get(0));
    assertThat(oldAsV2.get("id").toString()).isEqualTo("old");
    assertThat(oldAsV2.get("label")).isNull();
    assertThat(oldAsV2.get("weight")).isEqualTo(1.0);
    assertThat(v2Reader.deserialize(topic, raw.get(1)).get("label").toString()).isEqualTo("fresh");

    AvroDeserializer<GenericRecord> v1Reader = AvroDeserializer.generic(PROBE_V1, client());
    GenericRecord newAsV1 = v1Reader.deserialize(topic, raw.get(1));
    assertThat(newAsV1.get("id").toString()).isEqualTo("new");
    assertThat(newAsV1.get("count")).isEqualTo(2);
    assertThat(newAsV1.getSchema().getField("label")).isNull();
  }

  @Test
  void shouldRefuseAnIncompatibleChangeWith409() {
    String subject = TopicNameStrategy.valueSubject(unique("incompatible"));
    SchemaRegistryClient client = client();
    client.setCompatibility(subject, CompatibilityLevel.BACKWARD);
    client.register(subject, PROBE_V1);
    Schema requiredWithoutDefault = SchemaBuilder.record("Probe").namespace("io.rewardstream.test")
        .fields().requiredString("id").requiredInt("count").requiredLong("must").endRecord();

    CompatibilityResult check = client.testCompatibility(subject, requiredWithoutDefault);
    assertThat(check.compatible()).isFalse();
    assertThat(client.testCompatibility(subject, PROBE_V2).compatible()).isTrue();

    assertThatThrownBy(() -> client.register(subject, requiredWithoutDefault))
        .isInstanceOfSatisfying(SchemaRegistryException.class, e -> {
          assertThat(e.httpStatus()).isEqualTo(409);
          assertThat(e.isIncompatible()).isTrue();
          assertThat(e.subject()).isEqualTo(subject);
        })
        .hasMessageContaining(stack.schemaRegistryUrl())
        .hasMessageContaining(subject);

    // The serializer surfaces the same refusal as a Kafka SerializationException.
    GenericRecord r = new GenericData.Record(requiredWithoutDefault);
    r.put("id", "x");
    r.put("count", 1);
    r.put("must", 2L);
    String topic = subject.substring(0, subject.length() - "-value".length());
    AvroSerializer<GenericRecord> s = new AvroSerializer<>(client, Map.of(), false);
    assertThatThrownBy(() -> s.serialize(topic, r))
        .isInstanceOf(org.apache.kafka.common.errors.SerializationException.class)
        .hasCauseInstanceOf(SchemaRegistryException.class);
  }

  @Test
  void shouldRejectEveryKindOfBadBytesFromTheBrokerWithItsReason() throws Exception {
    String topic = unique("bad-bytes");
    createTopics(topic);
    SchemaRegistryClient client = client();
    AvroSerializer<Rollout> serializer = new AvroSerializer<>(client, Map.of(), false);
    byte[] good = serializer.serialize(topic, TestRecords.rollout("r-1"));

    Map<WireFormatException.Reason, byte[]> bad = new EnumMap<>(WireFormatException.Reason.class);
    bad.put(WireFormatException.Reason.EMPTY, new byte[0]);
    byte[] magic = good.clone();
    magic[0] = 1;
    bad.put(WireFormatException.Reason.BAD_MAGIC_BYTE, magic);
    bad.put(WireFormatException.Reason.TOO_SHORT, new byte[] {0, 0, 1});
    byte[] unknown = good.clone();
    ByteBuffer.wrap(unknown).putInt(1, 2_000_000_000);
    bad.put(WireFormatException.Reason.UNKNOWN_SCHEMA_ID, unknown);
    bad.put(WireFormatException.Reason.TRUNCATED_BODY, Arrays.copyOf(good, good.length - 4));
    byte[] malformed = good.clone();
    malformed[5] = 3; // zig-zag -2: a negative string length
    bad.put(WireFormatException.Reason.MALFORMED_BODY, malformed);
    bad.put(WireFormatException.Reason.TRAILING_BYTES, Arrays.copyOf(good, good.length + 1));
    bad.put(WireFormatException.Reason.SCHEMA_MISMATCH, foreignRollout(client, topic));
    assertThat(bad).hasSize(WireFormatException.Reason.values().length);

    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(), new StringSerializer(),
        new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topic, "GOOD", good)).get();
      for (Map.Entry<WireFormatException.Reason, byte[]> e : bad.entrySet()) {
        producer.send(new ProducerRecord<>(topic, e.getKey().name(), e.getValue())).get();
      }
    }
    List<ConsumerRecord<String, byte[]>> records;
    try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(consumerProps(), new StringDeserializer(),
        new ByteArrayDeserializer())) {
      records = consume(consumer, topic, bad.size() + 1);
    }
    AvroDeserializer<Rollout> reader = new AvroDeserializer<>(Rollout.class, client());
    for (ConsumerRecord<String, byte[]> r : records) {
      if (r.key().equals("GOOD")) {
        assertThat(reader.deserialize(topic, r.value())).isEqualTo(TestRecords.rollout("r-1"));
        continue;
      }
      assertThatThrownBy(() -> reader.deserialize(topic, r.value()))
          .as(r.key())
          .isInstanceOfSatisfying(WireFormatException.class,
              e -> assertThat(e.reason().name()).isEqualTo(r.key()))
          .hasMessageContaining(topic);
    }

    // Through a consumer configured with the deserializer, Kafka reports the record and keeps the cause.
    Map<String, Object> cp = consumerProps();
    try (KafkaConsumer<String, Rollout> consumer = new KafkaConsumer<>(cp, new StringDeserializer(),
        new AvroDeserializer<>(Rollout.class, client()))) {
      consumer.subscribe(List.of(topic));
      RecordDeserializationException failure = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      int good1 = 0;
      while (failure == null && System.nanoTime() < deadline) {
        try {
          good1 += consumer.poll(Duration.ofMillis(200)).count();
        } catch (RecordDeserializationException e) {
          failure = e;
        }
      }
      assertThat(good1).isEqualTo(1);
      assertThat(failure).isNotNull();
      assertThat(failure.offset()).isEqualTo(1);
      assertThat(failure.getCause()).isInstanceOf(WireFormatException.class);
      String firstBadKey = new String(failure.keyBuffer() == null ? new byte[0] : toArray(failure.keyBuffer()),
          StandardCharsets.UTF_8);
      assertThat(((WireFormatException) failure.getCause()).reason().name()).isEqualTo(firstBadKey);
    }
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  /** A record named io.rewardstream.avro.Rollout whose rollout_id is an int: same name, unreadable as a Rollout. */
  private static byte[] foreignRollout(SchemaRegistryClient client, String topic) throws Exception {
    Schema other = SchemaBuilder.record("Rollout").namespace("io.rewardstream.avro").fields()
        .requiredInt("rollout_id").endRecord();
    int id = client.register(TopicNameStrategy.valueSubject(unique(topic + "-foreign")), other);
    GenericRecord r = new GenericData.Record(other);
    r.put("rollout_id", 5);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(ByteBuffer.allocate(4).putInt(id).array());
    BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(other).write(r, enc);
    enc.flush();
    return out.toByteArray();
  }
}
