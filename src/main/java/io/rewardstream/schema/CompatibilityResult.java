package io.rewardstream.schema;

import java.util.List;

/**
 * Answer of a compatibility check. {@code messages} holds Confluent's {@code messages} or
 * Apicurio's {@code reason} (empty when compatible and the registry said nothing).
 */
public record CompatibilityResult(boolean compatible, List<String> messages) {
  public CompatibilityResult {
    messages = List.copyOf(messages);
  }
}
