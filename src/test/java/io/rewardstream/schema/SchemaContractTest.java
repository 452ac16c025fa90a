package io.rewardstream.schema;

import static org.assertj.core.api.Assertions.assertThat;

import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.junit.jupiter.api.Test;

/**
 * The evolution rules of schemas/README.md, checked against the baseline copies in
 * src/test/resources/schema-baseline (the oldest version that may still be on the wire).
 */
class SchemaContractTest {

  static List<Path> schemaFiles() throws IOException {
    try (Stream<Path> s = Files.list(Path.of("schemas"))) {
      return s.filter(p -> p.toString().endsWith(".avsc")).sorted().toList();
    }
  }

  static Schema parse(Path p) throws IOException {
    return new Schema.Parser().parse(p.toFile());
  }

  private static Schema baseline(String fileName) throws IOException {
    try (InputStream in = SchemaContractTest.class.getResourceAsStream("/schema-baseline/" + fileName)) {
      assertThat(in).as("baseline for " + fileName + " (copy new schemas into src/test/resources/schema-baseline)").isNotNull();
      return new Schema.Parser().parse(in);
    }
  }

  @Test
  void shouldHaveOneFilePerTopLevelContractMatchingTheGeneratedClasses() throws IOException {
    Map<String, Schema> generated = Map.of(
        "Rollout", Rollout.getClassSchema(), "Reward", Reward.getClassSchema(),
        "GroupAdvantage", GroupAdvantage.getClassSchema(), "PreferencePair", PreferencePair.getClassSchema(),
        "RankedPreference", RankedPreference.getClassSchema(), "ModelRelease", ModelRelease.getClassSchema(),
        "KlObservation", io.rewardstream.avro.KlObservation.getClassSchema(),
        "KlCoefficient", io.rewardstream.avro.KlCoefficient.getClassSchema());
    List<String> names = new ArrayList<>();
    for (Path p : schemaFiles()) {
      Schema s = parse(p);
      names.add(s.getName());
      assertThat(s.getNamespace()).isEqualTo("io.rewardstream.avro");
      // What the serializer registers is exactly the .avsc, so Java and Python producers share ids.
      assertThat(AvroSchemas.withoutJavaProperties(generated.get(s.getName())).toString())
          .as(p.toString()).isEqualTo(s.toString());
    }
    assertThat(names).containsExactlyInAnyOrderElementsOf(generated.keySet());
  }

  @Test
  void shouldReadBaselineDataWithTheCurrentSchemaAndTheReverse() throws IOException {
    for (Path p : schemaFiles()) {
      Schema current = parse(p);
      Schema old = baseline(p.getFileName().toString());
      var backward = SchemaCompatibility.checkReaderWriterCompatibility(current, old);
      var forward = SchemaCompatibility.checkReaderWriterCompatibility(old, current);
      assertThat(backward.getType()).as(p + " must read baseline data: " + backward.getResult().getIncompatibilities())
          .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
      assertThat(forward.getType()).as(p + " data must be readable with the baseline: " + forward.getResult().getIncompatibilities())
          .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
    }
  }

  @Test
  void shouldGiveEveryFieldAddedSinceTheBaselineADefault() throws IOException {
    for (Path p : schemaFiles()) {
      Schema current = parse(p);
      Schema old = baseline(p.getFileName().toString());
      for (Schema.Field f : current.getFields()) {
        boolean known = old.getField(f.name()) != null || f.aliases().stream().anyMatch(a -> old.getField(a) != null);
        if (!known) {
          assertThat(f.hasDefaultValue()).as(p + ": new field " + f.name() + " needs a default").isTrue();
        }
      }
    }
  }

  @Test
  void shouldGiveEveryEnumADefaultSymbol() throws IOException {
    for (Path p : schemaFiles()) {
      List<Schema> enums = new ArrayList<>();
      collectEnums(parse(p), enums, new ArrayList<>());
      for (Schema e : enums) {
        assertThat(e.getEnumDefault()).as(p + ": enum " + e.getFullName() + " needs a default symbol").isNotNull();
      }
    }
  }

  @Test
  void shouldMakeEveryNullableFieldDefaultToNull() throws IOException {
    for (Path p : schemaFiles()) {
      for (Schema.Field f : parse(p).getFields()) {
        if (f.schema().getType() == Schema.Type.UNION && f.schema().getTypes().get(0).getType() == Schema.Type.NULL) {
          assertThat(f.hasDefaultValue()).as(p + ": optional field " + f.name() + " needs default null").isTrue();
          assertThat(f.defaultVal()).as(p + ": " + f.name()).isEqualTo(org.apache.avro.JsonProperties.NULL_VALUE);
        }
      }
    }
  }

  @Test
  void shouldDocumentEveryFieldAndTopicInTheReadme() throws IOException {
    String readme = Files.readString(Path.of("schemas/README.md"));
    for (Path p : schemaFiles()) {
      Schema s = parse(p);
      assertThat(readme).as("schemas/README.md documents " + s.getName()).contains("#### " + s.getName() + " ");
      for (Schema.Field f : s.getFields()) {
        assertThat(readme).as("schemas/README.md documents " + s.getName() + "." + f.name()).contains("`" + f.name() + "`");
      }
    }
    assertThat(readme).contains(DeadLetters.EXCEPTION, DeadLetters.MESSAGE, DeadLetters.TOPIC, DeadLetters.PARTITION,
        DeadLetters.OFFSET, DeadLetters.REASON, DeadLetters.DETAIL);
  }

  private static void collectEnums(Schema s, List<Schema> out, List<String> seen) {
    switch (s.getType()) {
      case ENUM -> out.add(s);
      case RECORD -> {
        if (seen.contains(s.getFullName())) {
          return;
        }
        seen.add(s.getFullName());
        s.getFields().forEach(f -> collectEnums(f.schema(), out, seen));
      }
      case ARRAY -> collectEnums(s.getElementType(), out, seen);
      case MAP -> collectEnums(s.getValueType(), out, seen);
      case UNION -> s.getTypes().forEach(t -> collectEnums(t, out, seen));
      default -> { }
    }
  }
}
