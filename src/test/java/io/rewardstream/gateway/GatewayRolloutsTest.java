package io.rewardstream.gateway;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.RolloutValidator;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class GatewayRolloutsTest {

    @Test
    void shouldBuildOneValidRolloutPerQueryInOneGroup() {
        RewardRequest req = RewardRequest.parse(("{\"query\": [\"What is 2+2? 4\", \"no prompt given\"], "
                + "\"prompts\": [\"What is 2+2? \", null], \"labels\": [\"4\", null]}").getBytes(StandardCharsets.UTF_8), 10);
        List<Rollout> rs = GatewayRollouts.toRollouts(req, "gw-1", "gateway", Instant.ofEpochMilli(1000));
        assertThat(rs).hasSize(2);
        RolloutValidator v = new RolloutValidator(RolloutValidator.Limits.withVocab(ByteTokenizer.VOCAB_SIZE));
        rs.forEach(v::validate);
        Rollout a = rs.get(0);
        assertThat(a.getRolloutId()).isEqualTo("gw-1-0");
        assertThat(a.getGroupId()).isEqualTo("gw-1");
        assertThat(a.getPromptText()).isEqualTo("What is 2+2? ");
        assertThat(a.getResponseText()).isEqualTo("4");
        assertThat(a.getResponseTokenIds()).containsExactly((int) '4' + ByteTokenizer.OFFSET);
        assertThat(a.getPolicyLogprobs()).containsExactly(0f);
        assertThat(a.getReferenceLogprobs()).isNull();
        assertThat(a.getFinishReason()).isEqualTo(FinishReason.STOP);
        assertThat(a.getMetadata()).containsEntry("label", "4").containsEntry("split", "prompt")
                .containsEntry("request", "gw-1");
        Rollout b = rs.get(1);
        assertThat(b.getRolloutId()).isEqualTo("gw-1-1");
        assertThat(b.getPromptText()).isEmpty();
        assertThat(b.getPromptTokenIds()).containsExactly(ByteTokenizer.BOS);
        assertThat(b.getResponseText()).isEqualTo("no prompt given");
        assertThat(b.getMetadata()).containsEntry("split", "whole").doesNotContainKey("label");
    }
}
