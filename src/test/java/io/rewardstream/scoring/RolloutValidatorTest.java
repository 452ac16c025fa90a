package io.rewardstream.scoring;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.InvalidRolloutException.Reason;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RolloutValidatorTest {

    private static final RolloutValidator V = new RolloutValidator(
            new RolloutValidator.Limits(260, 8, 4, 16, 2, 32, 64));

    private static Rollout.Builder valid() {
        return Rollout.newBuilder().setRolloutId("r1").setGroupId("g1").setGroupSize(4).setPolicyVersion("p1")
                .setPromptTokenIds(List.of(1, 100, 3)).setResponseTokenIds(List.of(104, 259, 2))
                .setPolicyLogprobs(List.of(-0.5f, -1f, -0.1f)).setReferenceLogprobs(List.of(-0.6f, -1.2f, -0.1f))
                .setFinishReason(FinishReason.STOP).setCreatedAt(Instant.ofEpochMilli(1_700_000_000_000L))
                .setMetadata(Map.of("task", "math"));
    }

    private static Reason reasonOf(Rollout r) {
        return V.check(r).map(InvalidRolloutException::reason).orElse(null);
    }

    private static Rollout with(Consumer<Rollout> change) {
        Rollout r = valid().build();
        change.accept(r);
        return r;
    }

    @Test
    void shouldAcceptValidRolloutIncludingNullReferenceAndNullGroup() {
        assertThat(V.check(valid().build())).isEmpty();
        assertThat(V.check(valid().setReferenceLogprobs(null).setGroupSize(null).build())).isEmpty();
    }

    @Test
    void shouldRejectEmptyResponse() {
        assertThat(reasonOf(valid().setResponseTokenIds(List.of()).setPolicyLogprobs(List.of()).setReferenceLogprobs(null).build()))
                .isEqualTo(Reason.EMPTY_RESPONSE);
    }

    @Test
    void shouldRejectEmptyPrompt() {
        assertThat(reasonOf(valid().setPromptTokenIds(List.of()).build())).isEqualTo(Reason.EMPTY_PROMPT);
    }

    @Test
    void shouldRejectLogprobLengthMismatch() {
        assertThat(reasonOf(valid().setPolicyLogprobs(List.of(-1f, -1f)).build())).isEqualTo(Reason.LOGPROB_LENGTH_MISMATCH);
    }

    @Test
    void shouldRejectReferenceLengthMismatch() {
        assertThat(reasonOf(valid().setReferenceLogprobs(List.of(-1f)).build())).isEqualTo(Reason.REFERENCE_LENGTH_MISMATCH);
    }

    @Test
    void shouldRejectNonFiniteLogprobs() {
        assertThat(reasonOf(valid().setPolicyLogprobs(List.of(-1f, Float.NaN, -1f)).build())).isEqualTo(Reason.NON_FINITE_LOGPROB);
        assertThat(reasonOf(valid().setReferenceLogprobs(List.of(-1f, Float.NEGATIVE_INFINITY, -1f)).build()))
                .isEqualTo(Reason.NON_FINITE_LOGPROB);
    }

    @Test
    void shouldRejectTokensOutsideVocabulary() {
        assertThat(reasonOf(valid().setResponseTokenIds(List.of(104, 260, 2)).build())).isEqualTo(Reason.TOKEN_OUT_OF_VOCAB);
        assertThat(reasonOf(valid().setPromptTokenIds(List.of(-1)).build())).isEqualTo(Reason.TOKEN_OUT_OF_VOCAB);
        assertThat(reasonOf(valid().setResponseTokenIds(List.of(0, 259, 2)).build())).isNull(); // bounds inclusive/exclusive
    }

    @Test
    void shouldRejectBadGroupSize() {
        assertThat(reasonOf(valid().setGroupSize(0).build())).isEqualTo(Reason.BAD_GROUP_SIZE);
        assertThat(reasonOf(valid().setGroupSize(-3).build())).isEqualTo(Reason.BAD_GROUP_SIZE);
        assertThat(reasonOf(valid().setGroupSize(17).build())).isEqualTo(Reason.BAD_GROUP_SIZE);
        assertThat(reasonOf(valid().setGroupSize(16).build())).isNull();
    }

    @Test
    void shouldRejectOversizedPromptResponseTextAndMetadata() {
        assertThat(reasonOf(valid().setPromptTokenIds(Arrays.asList(new Integer[]{1, 1, 1, 1, 1, 1, 1, 1, 1})).build()))
                .isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(valid().setResponseTokenIds(List.of(5, 5, 5, 5, 5)).setPolicyLogprobs(List.of(-1f, -1f, -1f, -1f, -1f))
                .setReferenceLogprobs(null).build())).isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(valid().setResponseText("x".repeat(65)).build())).isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(valid().setPromptText("é".repeat(33)).build())).isEqualTo(Reason.OVERSIZED); // 66 UTF-8 bytes
        assertThat(reasonOf(valid().setMetadata(Map.of("a", "1", "b", "2", "c", "3")).build())).isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(valid().setMetadata(Map.of("k", "v".repeat(40))).build())).isEqualTo(Reason.OVERSIZED);
    }

    @Test
    void shouldRejectIdsLongerThanTheirByteLimitCountingUtf8Bytes() {
        int max = RolloutValidator.MAX_ID_BYTES;
        assertThat(reasonOf(with(r -> r.setRolloutId("r".repeat(max))))).isNull();
        assertThat(reasonOf(with(r -> r.setRolloutId("r".repeat(max + 1))))).isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(with(r -> r.setGroupId("é".repeat(max / 2 + 1))))).as("2 bytes each")
                .isEqualTo(Reason.OVERSIZED);
        assertThat(reasonOf(with(r -> r.setGroupId("é".repeat(max / 2))))).isNull();
        assertThat(reasonOf(with(r -> r.setPolicyVersion("v".repeat(70_000))))).as("beyond writeUTF's 65,535")
                .isEqualTo(Reason.OVERSIZED);
    }

    @Test
    void shouldRejectMissingOrBlankRequiredFields() {
        assertThat(reasonOf(null)).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setRolloutId("")))).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setGroupId(" ")))).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setPolicyVersion(null)))).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setResponseTokenIds(null)))).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setPolicyLogprobs(null)))).isEqualTo(Reason.MISSING_FIELD);
        assertThat(reasonOf(with(r -> r.setFinishReason(null)))).isEqualTo(Reason.MISSING_FIELD);
        List<Float> withNull = new ArrayList<>(List.of(-1f, -1f));
        withNull.add(null);
        assertThat(reasonOf(with(r -> r.setPolicyLogprobs(withNull)))).isEqualTo(Reason.MISSING_FIELD);
    }

    @Test
    void shouldThrowTypedExceptionWithReasonAndMessage() {
        assertThatThrownBy(() -> V.validate(valid().setGroupSize(0).build()))
                .isInstanceOfSatisfying(InvalidRolloutException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.BAD_GROUP_SIZE);
                    assertThat(e.getMessage()).startsWith("BAD_GROUP_SIZE: ").contains("group_size 0");
                });
        assertThat(RolloutValidator.Limits.withVocab(260).maxGroupSize()).isEqualTo(1024);
        assertThatThrownBy(() -> new RolloutValidator.Limits(0, 1, 1, 1, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
