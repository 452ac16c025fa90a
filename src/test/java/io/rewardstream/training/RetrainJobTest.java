package io.rewardstream.training;

import io.rewardstream.avro.ModelRelease;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The offset bookkeeping that makes a restart after publish-before-commit skip the duplicate release. */
class RetrainJobTest {
    static ModelRelease release(Map<String, Double> metrics) {
        return ModelRelease.newBuilder().setModelName("m").setVersion(3).setLocation("m/v3").setDigests(Map.of())
                .setEvalMetrics(metrics).setCreatedAt(Instant.EPOCH).build();
    }

    @Test
    void shouldNameOffsetMetricsByTopicAndPartition() {
        assertThat(RetrainJob.offsetKey("prefs:2")).isEqualTo("offset.prefs.2");
        assertThat(RetrainJob.offsetKey("a:b:0")).isEqualTo("offset.a:b.0");
    }

    @Test
    void shouldTreatAReleaseAsCoveringOnlyWhenEveryPartitionIsAtOrBeyond() {
        ModelRelease r = release(Map.of("offset.prefs.0", 10.0, "offset.prefs.1", 7.0, "accuracy", 0.9));
        assertThat(RetrainJob.covers(r, Map.of("prefs:0", 10L, "prefs:1", 7L))).isTrue();
        assertThat(RetrainJob.covers(r, Map.of("prefs:0", 9L))).isTrue();
        assertThat(RetrainJob.covers(r, Map.of("prefs:0", 11L, "prefs:1", 7L))).isFalse();
        assertThat(RetrainJob.covers(r, Map.of("prefs:0", 10L, "ranked:0", 1L))).isFalse();
        assertThat(RetrainJob.covers(r, Map.of())).isFalse();
        assertThat(RetrainJob.covers(release(Map.of()), Map.of("prefs:0", 1L))).isFalse();
    }
}
