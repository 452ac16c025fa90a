package io.rewardstream.it;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.RolloutValidator;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

class RolloutGeneratorTest {

    @Test
    void shouldBeDeterministicBySeedApartFromTimestamps() {
        List<Rollout> a = new RolloutGenerator(5, "t", 260, 128).groups(50, 4);
        List<Rollout> b = new RolloutGenerator(5, "t", 260, 128).groups(50, 4);
        List<Rollout> c = new RolloutGenerator(6, "t", 260, 128).groups(50, 4);
        for (int i = 0; i < a.size(); i++) {
            b.get(i).setCreatedAt(a.get(i).getCreatedAt());
            c.get(i).setCreatedAt(a.get(i).getCreatedAt());
        }
        assertThat(b).isEqualTo(a);
        assertThat(c).isNotEqualTo(a);
    }

    @Test
    void shouldProduceValidMixedRollouts() {
        List<Rollout> rs = new RolloutGenerator(1, "t", 260, 128).groups(200, 4);
        RolloutValidator validator = new RolloutValidator(RolloutValidator.Limits.withVocab(260));
        rs.forEach(validator::validate);
        assertThat(rs.stream().map(r -> r.getRolloutId().toString()).collect(Collectors.toSet())).hasSize(800);
        assertThat(rs).allSatisfy(r -> assertThat(r.getResponseTokenIds()).allSatisfy(t -> assertThat(t).isBetween(4, 259)));
        assertThat(rs.stream().filter(r -> r.getReferenceLogprobs() == null)).isNotEmpty();
        assertThat(rs.stream().filter(r -> r.getReferenceLogprobs() != null)).isNotEmpty();
        assertThat(rs.stream().filter(r -> r.getGroupSize() == null)).isNotEmpty();
        assertThat(rs.stream().filter(r -> r.getGroupSize() != null)).allSatisfy(r -> assertThat(r.getGroupSize()).isEqualTo(4));
        assertThat(rs.stream().map(Rollout::getFinishReason).collect(Collectors.toSet()))
                .isEqualTo(Set.of(FinishReason.STOP, FinishReason.LENGTH, FinishReason.ABORT));
        assertThat(rs.stream().mapToInt(r -> r.getResponseTokenIds().size()).max().orElseThrow())
                .as("long tail beyond max_seq_len").isGreaterThan(128);
        assertThat(rs.stream().filter(r -> r.getResponseTokenIds().size() <= 32).count())
                .as("mostly short").isGreaterThan(rs.size() * 3L / 4);
        // members of a group share the prompt and the group id
        assertThat(rs.subList(0, 4).stream().map(Rollout::getPromptTokenIds).distinct()).hasSize(1);
        assertThat(rs.subList(0, 4).stream().map(r -> r.getGroupId().toString()).distinct()).hasSize(1);
    }
}
