package io.rewardstream.schema;

/** The registry's compatibility levels, as Confluent names them. rewardstream subjects use {@link #BACKWARD}. */
public enum CompatibilityLevel {
  NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE
}
