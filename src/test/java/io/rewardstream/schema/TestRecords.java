package io.rewardstream.schema;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** One fully-populated example of every record type (optional fields set, so they are exercised too). */
final class TestRecords {
  static final Instant T0 = Instant.ofEpochMilli(1_790_000_000_123L);

  private TestRecords() {}

  static Rollout rollout(String id) {
    return Rollout.newBuilder()
        .setRolloutId(id)
        .setGroupId("g-1")
        .setGroupSize(4)
        .setPolicyVersion("step-17")
        .setPromptTokenIds(List.of(1, 72, 105))
        .setResponseTokenIds(List.of(108, 108, 2))
        .setPromptText("Hi")
        .setResponseText("ll\u00e9")
        .setPolicyLogprobs(List.of(-0.5f, -1.25f, -0.125f))
        .setReferenceLogprobs(List.of(-0.75f, -1.0f, -0.25f))
        .setFinishReason(FinishReason.STOP)
        .setCreatedAt(T0)
        .setMetadata(Map.of("task", "greeting"))
        .build();
  }

  static Reward reward() {
    return Reward.newBuilder()
        .setRolloutId("r-1").setGroupId("g-1").setPolicyVersion("step-17").setModelVersion("builtin-small:3")
        .setScore(0.5).setShapedScore(0.4).setKl(0.02).setKlPerToken(List.of(0.01f, 0.01f, 0f))
        .setKlCoef(0.05).setTokenRewards(List.of(-0.0005f, -0.0005f, 0.4f)).setReward(0.399)
        .setHeadScores(Map.of("helpful", 0.7, "harmless", 0.3)).setUncertainty(0.1)
        .setFlags(List.of("TRUNCATED")).setRolloutCreatedAt(T0).setScoredAt(T0.plusMillis(40))
        .build();
  }

  static GroupAdvantage groupAdvantage() {
    return GroupAdvantage.newBuilder()
        .setRolloutId("r-1").setGroupId("g-1").setPolicyVersion("step-17").setModelVersion("builtin-small:3")
        .setEstimator("grpo").setReward(0.399).setAdvantage(1.2).setGroupMean(0.1).setGroupStd(0.25)
        .setGroupSize(4).setExpectedGroupSize(4).setFlags(List.of()).setEmittedAt(T0.plusMillis(90))
        .build();
  }

  static PreferencePair preferencePair() {
    return PreferencePair.newBuilder()
        .setPairId("p-1").setPromptText("2+2?").setPromptTokenIds(List.of(1, 54))
        .setChosenText("4").setChosenTokenIds(List.of(56)).setRejectedText("5").setRejectedTokenIds(List.of(57))
        .setMargin(0.5).setAnnotatorId("ann-3").setSource("human").setCreatedAt(T0)
        .build();
  }

  static RankedPreference rankedPreference() {
    return RankedPreference.newBuilder()
        .setRankingId("k-1").setPromptText("Name a colour").setPromptTokenIds(null)
        .setResponses(List.of(
            RankedResponse.newBuilder().setText("red").setTokenIds(null).build(),
            RankedResponse.newBuilder().setText(null).setTokenIds(List.of(9, 10)).build(),
            RankedResponse.newBuilder().setText("blue").setTokenIds(List.of(11)).build()))
        .setRanking(List.of(2, 0, 1)).setAnnotatorId(null).setSource("ai-judge").setCreatedAt(T0)
        .build();
  }

  static ModelRelease modelRelease() {
    return ModelRelease.newBuilder()
        .setModelName("builtin-small").setVersion(3).setLocation("builtin-small/3")
        .setDigests(Map.of("saved_model.pb", "ab".repeat(32))).setSignature("c2lnbmF0dXJl")
        .setSigningKeyId("release-2026.pub").setEvalMetrics(Map.of("accuracy", 0.71))
        .setParentVersion(2L).setRollback(false).setCreatedAt(T0)
        .build();
  }

  /** Topic name -> example record, one per record type. */
  static Map<String, SpecificRecord> everyType() {
    return Map.of(
        "rollouts", rollout("r-1"),
        "rewards", reward(),
        "group-advantages", groupAdvantage(),
        "preferences", preferencePair(),
        "ranked-preferences", rankedPreference(),
        "model-releases", modelRelease());
  }
}
