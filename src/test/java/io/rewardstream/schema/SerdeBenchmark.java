package io.rewardstream.schema;

import io.rewardstream.avro.Rollout;
import java.util.Map;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;

/**
 * Side-by-side cost of the serde against bare Avro on one Rollout (3+3 tokens, small maps):
 * serialize, deserialize (bounded decoder + resolution + wire checks) and Avro's own
 * SpecificDatumReader on the same body. Run: java -cp target/classes:target/test-classes:$(cat
 * target/classpath.txt) io.rewardstream.schema.SerdeBenchmark [iterations]
 */
public final class SerdeBenchmark {
  private SerdeBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    try (FakeSchemaRegistry fake = new FakeSchemaRegistry()) {
      SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.of(fake.url()));
      AvroSerde<Rollout> serde = new AvroSerde<>(Rollout.class, client);
      serde.configure(Map.of(), false);
      Rollout r = TestRecords.rollout("bench");
      byte[] bytes = serde.serializer().serialize("rollouts", r);
      SpecificDatumReader<Rollout> bare = new SpecificDatumReader<>(Rollout.class);
      for (int round = 0; round < 3; round++) {
        long t0 = System.nanoTime();
        long sink = 0;
        for (int i = 0; i < n; i++) {
          sink += serde.serializer().serialize("rollouts", r).length;
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          sink += serde.deserializer().deserialize("rollouts", bytes).getPromptTokenIds().size();
        }
        long t2 = System.nanoTime();
        BinaryDecoder reuse = null;
        for (int i = 0; i < n; i++) {
          reuse = DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, reuse);
          sink += bare.read(null, reuse).getPromptTokenIds().size();
        }
        long t3 = System.nanoTime();
        double ser = n / ((t1 - t0) / 1e9);
        double de = n / ((t2 - t1) / 1e9);
        double raw = n / ((t3 - t2) / 1e9);
        System.out.printf("round %d (%d records of %d bytes): serialize %.0f rec/s | deserialize %.0f rec/s"
            + " | bare Avro read %.0f rec/s | serde/bare %.2f  [%d]%n",
            round, n, bytes.length, ser, de, raw, de / raw, sink % 7);
      }
    }
  }
}
