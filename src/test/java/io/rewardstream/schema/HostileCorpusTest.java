package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.rewardstream.avro.Rollout;
import io.rewardstream.it.HostileCorpus;
import io.rewardstream.it.RolloutGenerator;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.RolloutValidator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hostile corpus without Kafka: every entry through the registry-wire deserializer and the validator (the two steps
 * the scorer applies before scoring) ends in exactly one of its expected typed rejections, and the valid entries
 * (a future v2 writer schema) decode and validate. Also pins the corpus size (at least 15 kinds).
 */
class HostileCorpusTest {
  private FakeSchemaRegistry fake;
  private SchemaRegistryClient client;

  @BeforeEach
  void start() throws Exception {
    fake = new FakeSchemaRegistry();
    Map<String, Object> p = new HashMap<>();
    p.put("schema.registry.url", fake.url());
    client = new SchemaRegistryClient(SchemaRegistryConfig.from(p));
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  @Test
  void shouldRejectEveryHostileEntryWithItsReasonAndAcceptTheFutureSchema() {
    List<HostileCorpus.Entry> corpus = HostileCorpus.generate(client, "rollouts", new RolloutGenerator(7, "hc", 260, 128),
        260, 4096);
    assertThat(HostileCorpus.bad(corpus)).isGreaterThanOrEqualTo(15);
    assertThat(corpus.stream().map(HostileCorpus.Entry::key).distinct().count()).isEqualTo(corpus.size());
    AvroDeserializer<Rollout> d = new AvroDeserializer<>(Rollout.class, client);
    RolloutValidator v = new RolloutValidator(new RolloutValidator.Limits(260, 4096, 4096, 1024,
        RolloutValidator.Limits.DEFAULT_MAX_METADATA_ENTRIES, RolloutValidator.Limits.DEFAULT_MAX_METADATA_BYTES,
        RolloutValidator.Limits.DEFAULT_MAX_TEXT_BYTES));
    Set<String> kinds = new TreeSet<>();
    for (HostileCorpus.Entry e : corpus) {
      String reason = null;
      Rollout r = null;
      try {
        r = d.deserialize("rollouts", e.value());
        v.validate(r);
      } catch (WireFormatException ex) {
        reason = ex.reason().name();
      } catch (InvalidRolloutException ex) {
        reason = ex.reason().name();
      }
      if (e.valid()) {
        assertThat(reason).as("%s must be accepted", e.kind()).isNull();
        assertThat(r.getRolloutId()).isEqualTo(e.key());
      } else {
        assertThat(reason).as("reason of %s", e.kind()).isIn(e.reasons());
        kinds.add(e.kind());
      }
    }
    System.out.println("hostile kinds rejected (" + kinds.size() + "): " + kinds);
  }
}
