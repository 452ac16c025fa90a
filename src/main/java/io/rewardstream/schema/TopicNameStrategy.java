package io.rewardstream.schema;

import java.util.Objects;

/** Confluent's default subject naming: {@code <topic>-key} and {@code <topic>-value}. */
public final class TopicNameStrategy {
  private TopicNameStrategy() {}

  /** The subject for a topic's keys ({@code isKey}) or values. */
  public static String subject(String topic, boolean isKey) {
    Objects.requireNonNull(topic, "topic");
    return topic + (isKey ? "-key" : "-value");
  }

  public static String valueSubject(String topic) {
    return subject(topic, false);
  }

  public static String keySubject(String topic) {
    return subject(topic, true);
  }
}
