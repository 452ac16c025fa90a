package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every contract in schemas/*.avsc on the real Apicurio registry under BACKWARD compatibility:
 * accepted against itself, registered idempotently, and accepted as the next version after its
 * baseline (the evolution rules of schemas/README.md, as the registry enforces them).
 */
@ExtendWith(SharedLocalStack.class)
class SchemaContractIT {

  @Test
  void shouldAcceptEverySchemaAgainstItselfAndAfterItsBaseline(LocalStack stack) throws Exception {
    SchemaRegistryClient client = new SchemaRegistryClient(SchemaRegistryConfig.from(Map.of(
        "schema.registry.url", stack.schemaRegistryUrl(), "schema.registry.request.timeout.ms", "5000")));
    for (Path p : SchemaContractTest.schemaFiles()) {
      Schema current = SchemaContractTest.parse(p);
      Schema baseline;
      try (InputStream in = getClass().getResourceAsStream("/schema-baseline/" + p.getFileName())) {
        baseline = new Schema.Parser().parse(in);
      }
      String subject = "contract-" + UUID.randomUUID().toString().substring(0, 8) + "-" + current.getName() + "-value";
      client.setCompatibility(subject, CompatibilityLevel.BACKWARD);
      client.register(subject, baseline);

      CompatibilityResult self = client.testCompatibility(subject, baseline);
      assertThat(self.compatible()).as(p + " against itself: " + self.messages()).isTrue();
      CompatibilityResult next = client.testCompatibility(subject, current);
      assertThat(next.compatible()).as(p + " after its baseline: " + next.messages()).isTrue();

      int id = client.register(subject, current);
      // A fresh client (no cache) gets the same id back: registration is idempotent on the registry.
      SchemaRegistryClient fresh = new SchemaRegistryClient(client.config());
      assertThat(fresh.register(subject, current)).isEqualTo(id);
      assertThat(fresh.getById(id)).isEqualTo(current);
      assertThat(fresh.latest(subject).schema()).isEqualTo(current);
    }
  }
}
