package io.rewardstream.schema;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.rewardstream.avro.Rollout;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * Fuzzes the registry-wire {@link AvroDeserializer} for {@link Rollout} (against {@link FakeSchemaRegistry}, which
 * knows the Rollout schema under one id): whatever the bytes, the only failure allowed is a typed
 * {@link WireFormatException} (unknown ids included, as UNKNOWN_SCHEMA_ID) or {@link SchemaRegistryException}; a decoded
 * record must re-serialize. Half the inputs are framed with the known id so the fuzzer reaches the Avro body.
 *
 * <p>In a normal build ({@code mvn test}) Jazzer runs in regression mode: the seeds in
 * {@code src/test/resources/io/rewardstream/schema/AvroDeserializerFuzzTestInputs/} plus an empty input, in well under a
 * second. Real fuzzing: {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=AvroDeserializerFuzzTest} (bounded by maxDuration;
 * findings are written as new seed files to reproduce).
 */
class AvroDeserializerFuzzTest {
  private static FakeSchemaRegistry fake;
  private static SchemaRegistryClient client;
  private static AvroDeserializer<Rollout> deserializer;
  private static AvroSerializer<Rollout> serializer;
  private static int rolloutId;

  private static synchronized void init() throws Exception {
    if (fake != null) {
      return;
    }
    fake = new FakeSchemaRegistry();
    Runtime.getRuntime().addShutdownHook(new Thread(fake::close));
    client = new SchemaRegistryClient(SchemaRegistryConfig.from(Map.of("schema.registry.url", fake.url(),
        "schema.registry.retry.backoff.ms", 1)));
    rolloutId = client.register("rollouts-value", AvroSchemas.withoutJavaProperties(Rollout.getClassSchema()));
    deserializer = new AvroDeserializer<>(Rollout.class, client);
    serializer = new AvroSerializer<>(client, Map.of("auto.register.schemas", false, "use.latest.version", false),
        false);
  }

  @FuzzTest(maxDuration = "30s")
  void shouldOnlyFailWithTypedWireErrors(FuzzedDataProvider data) throws Exception {
    init();
    byte[] value;
    if (data.consumeBoolean()) {
      byte[] body = data.consumeRemainingAsBytes();
      value = ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(rolloutId).put(body).array();
    } else {
      value = data.consumeRemainingAsBytes();
    }
    Rollout r;
    try {
      r = deserializer.deserialize("rollouts", value);
    } catch (WireFormatException | SchemaRegistryException expected) {
      return;
    }
    if (r != null) {
      serializer.serialize("rollouts", r); // a decoded record is a real record
    }
  }
}
