package io.rewardstream.training;

import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PreferenceValidatorTest {

    static PreferencePair pair(Consumer<PreferencePair.Builder> f) {
        PreferencePair.Builder b = PreferencePair.newBuilder().setPairId("p1").setPromptText("2+2=")
                .setChosenText("4").setRejectedText("5").setCreatedAt(Instant.EPOCH);
        f.accept(b);
        return b.build();
    }

    static String reason(Runnable r) {
        try {
            r.run();
        } catch (InvalidPreferenceException e) {
            return e.reason();
        }
        throw new AssertionError("no InvalidPreferenceException");
    }

    @Test
    void shouldAcceptTextOrTokenIds() {
        StoredPair p = PreferenceValidator.validate(pair(b -> b.setMargin(0.5).setAnnotatorId("ann")), "t", 2, 7);
        assertThat(p.id()).isEqualTo("p1");
        assertThat(p.margin()).isEqualTo(0.5);
        assertThat(p.annotator()).isEqualTo("ann");
        assertThat(p.position()).isEqualTo("t:2");
        assertThat(p.offset()).isEqualTo(7);
        assertThat(p.toExample()).isEqualTo(new PreferenceExample("p1", "2+2=", "4", "5", 0.5));
        StoredPair ids = PreferenceValidator.validate(pair(b -> b.setPromptText(null).setPromptTokenIds(List.of(1, 2))
                .setChosenText(null).setChosenTokenIds(List.of(3)).setRejectedText(null)
                .setRejectedTokenIds(List.of(4))), "t", 0, 0);
        assertThat(ids.chosenIds()).containsExactly(3);
        assertThat(ids.toExample()).isNull();
        assertThat(ids.toExample("bytes")).isNull();
        assertThat(ids.toExample("ids")).isEqualTo(new PreferenceExample("p1", "1 2", "3", "4", 0.0));
        assertThat(p.toExample("ids")).isNull();
    }

    @Test
    void shouldRefuseEachBadKindOfPair() {
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setPairId(" ")), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.MISSING_ID);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setPromptText(null)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.MISSING_PROMPT);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setChosenText(null)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.MISSING_RESPONSE);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setRejectedText(null)
                .setRejectedTokenIds(List.of())), "t", 0, 0))).isEqualTo(PreferenceValidator.MISSING_RESPONSE);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setRejectedText("4")), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.SAME_RESPONSE);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setChosenText(null).setRejectedText(null)
                .setChosenTokenIds(List.of(5, 6)).setRejectedTokenIds(List.of(5, 6))), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.SAME_RESPONSE);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setMargin(-1.0)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_MARGIN);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setMargin(Double.NaN)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_MARGIN);
        assertThat(reason(() -> PreferenceValidator.validate(pair(b -> b.setMargin(Double.POSITIVE_INFINITY)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_MARGIN);
    }

    static RankedPreference ranked(List<String> texts, List<Integer> ranking) {
        return RankedPreference.newBuilder().setRankingId("r1").setPromptText("3*3=")
                .setResponses(texts.stream().map(t -> RankedResponse.newBuilder().setText(t).build()).toList())
                .setRanking(ranking).setCreatedAt(Instant.EPOCH).build();
    }

    @Test
    void shouldKeepARankingAsOneListBestFirstNotAsPairs() {
        List<StoredPair> ps = PreferenceValidator.validate(ranked(List.of("10", "9", "8"), List.of(1, 2, 0)), "rt", 1, 3);
        assertThat(ps).hasSize(1);
        StoredPair r = ps.get(0);
        assertThat(r.isRanking()).isTrue();
        assertThat(r.id()).isEqualTo("r1");
        assertThat(r.splitKey()).isEqualTo("r1");
        assertThat(r.ranked()).containsExactly("9", "8", "10");
        assertThat(r.rankedIds()).isNull();
        assertThat(r.toExample()).isNull();
        assertThat(r.toRanked("bytes").responsesBestFirst()).containsExactly("9", "8", "10");
        assertThat(r.toRanked("ids")).isNull();   // no token ids given
        assertThat(r.toRanked("bytes").impliedPairs()).extracting(PreferenceExample::chosen)
                .containsExactly("9", "9", "8");
    }

    @Test
    void shouldRefuseEachBadKindOfRanking() {
        assertThat(reason(() -> PreferenceValidator.validate(ranked(List.of("9"), List.of(0)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_RANKING);
        assertThat(reason(() -> PreferenceValidator.validate(ranked(List.of("9", "8"), List.of(0, 0)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_RANKING);
        assertThat(reason(() -> PreferenceValidator.validate(ranked(List.of("9", "8"), List.of(0, 2)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_RANKING);
        assertThat(reason(() -> PreferenceValidator.validate(ranked(List.of("9", "8"), List.of(0)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.BAD_RANKING);
        assertThat(reason(() -> PreferenceValidator.validate(ranked(List.of("9", "9"), List.of(0, 1)), "t", 0, 0)))
                .isEqualTo(PreferenceValidator.SAME_RESPONSE);
        RankedPreference noPrompt = RankedPreference.newBuilder(ranked(List.of("9", "8"), List.of(0, 1)))
                .setPromptText(null).build();
        assertThat(reason(() -> PreferenceValidator.validate(noPrompt, "t", 0, 0)))
                .isEqualTo(PreferenceValidator.MISSING_PROMPT);
        RankedPreference noResp = RankedPreference.newBuilder(ranked(List.of("9", "8"), List.of(0, 1)))
                .setResponses(List.of(RankedResponse.newBuilder().setText("9").build(), new RankedResponse(null, null)))
                .build();
        assertThat(reason(() -> PreferenceValidator.validate(noResp, "t", 0, 0)))
                .isEqualTo(PreferenceValidator.MISSING_RESPONSE);
        assertThatThrownBy(() -> PreferenceValidator.validate(RankedPreference.newBuilder(ranked(List.of("9", "8"),
                List.of(0, 1))).setRankingId("").build(), "t", 0, 0)).isInstanceOf(InvalidPreferenceException.class);
    }
}
