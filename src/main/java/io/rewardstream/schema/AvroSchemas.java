package io.rewardstream.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;

/** Schema helpers shared by the serdes. */
public final class AvroSchemas {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String JAVA_STRING = "avro.java.string";
  private static final String JAVA_CLASS = "java-class";
  private static final String JAVA_KEY_CLASS = "java-key-class";
  private static final String JAVA_ELEMENT_CLASS = "java-element-class";

  private AvroSchemas() {}

  /**
   * {@code schema} without the Java-only properties the Avro compiler adds to generated classes
   * ({@code avro.java.string} with stringType=String, {@code java-class}, ...). This is the schema the
   * serializer registers, so a Java producer and a Python producer of the same .avsc register the
   * same text and share one schema id.
   */
  public static Schema withoutJavaProperties(Schema schema) {
    try {
      JsonNode tree = JSON.readTree(schema.toString());
      strip(tree);
      return new Schema.Parser().parse(JSON.writeValueAsString(tree));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void strip(JsonNode node) {
    if (node instanceof ObjectNode o) {
      o.remove(JAVA_STRING);
      o.remove(JAVA_CLASS);
      o.remove(JAVA_KEY_CLASS);
      o.remove(JAVA_ELEMENT_CLASS);
      // Field defaults are data, not schema: leave them alone.
      o.properties().forEach(e -> {
        if (!e.getKey().equals("default")) {
          strip(e.getValue());
        }
      });
    } else if (node != null && node.isArray()) {
      node.forEach(AvroSchemas::strip);
    }
  }
}
