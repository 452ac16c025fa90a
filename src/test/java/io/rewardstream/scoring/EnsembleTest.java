package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What an ensemble of separate models accepts as members and what its manifest promises. */
class EnsembleTest {

    private static ConstantRewardModel member(String name, String vocabDigest, List<ModelManifest.Head> heads) {
        ModelManifest m = new ModelManifest(name, 1, 128, 0, 30_522, "wordpiece", "vocab.txt", heads, null, null, null,
                null, 0, Map.of("vocab.txt", vocabDigest, "saved_model.pb", name));
        return new ConstantRewardModel(m, 0.5f);
    }

    @Test
    void shouldRefuseMembersWhoseVocabularyFilesDifferEvenAtTheSameSize() {
        // same tokenizer kind and vocab_size: the old check let them in, and member b was fed member a's ids
        assertThatThrownBy(() -> Ensemble.of(List.of(member("a", "1".repeat(64), List.of()),
                member("b", "2".repeat(64), List.of()))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vocab.txt")
                .hasMessageContaining("share one vocabulary");
        try (Ensemble ok = Ensemble.of(List.of(member("a", "1".repeat(64), List.of()),
                member("b", "1".repeat(64), List.of())))) {
            assertThat(ok.members()).hasSize(2);
        }
    }

    @Test
    void shouldPromiseNoHeadsForSeparateModelsSoNoRouteCanNameOne() {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head("helpful", 0.5),
                new ModelManifest.Head("harmless", 0.5));
        try (Ensemble e = Ensemble.of(List.of(member("a", "1".repeat(64), heads), member("b", "1".repeat(64), heads)))) {
            assertThat(e.manifest().heads()).isEmpty();
            assertThat(e.score(PaddedBatch.of(new int[][]{{5, 6}}, new int[]{0}, 2, 0)).hasHeads()).isFalse();
            assertThatThrownBy(() -> new ScoreRouter(RouteConfig.from(Map.of("scoring.routes.math.weights",
                    "model.helpful=1")), e.manifest())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("helpful");
        }
    }
}
