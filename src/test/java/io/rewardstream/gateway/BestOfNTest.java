package io.rewardstream.gateway;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BestOfNTest {

    private static BestOfN.Request parse(String json) {
        return BestOfN.parse(json.getBytes(StandardCharsets.UTF_8), 8);
    }

    private static Reward reward(String id, double reward) {
        return Reward.newBuilder()
                .setRolloutId(id).setGroupId("gw-1").setPolicyVersion("gateway").setModelVersion("m:1")
                .setScore(reward + 1).setShapedScore(reward).setKl(0.0).setKlPerToken(List.of()).setKlCoef(0.0)
                .setTokenRewards(List.of()).setReward(reward).setHeadScores(Map.of()).setUncertainty(null)
                .setFlags(List.of()).setRolloutCreatedAt(Instant.EPOCH).setScoredAt(Instant.EPOCH)
                .build();
    }

    @Test
    void shouldPublishCandidatesAsOneGroupOfNSplitAtThePrompt() {
        BestOfN.Request req = parse("{\"prompt\": \"2+2=\", \"candidates\": [\"4\", \"5\", \"22\"]}");
        List<Rollout> rs = GatewayRollouts.toRollouts(req.toRewardRequest(), "gw-1", "gateway", Instant.EPOCH,
                req.candidates().size());
        assertThat(rs).hasSize(3);
        assertThat(rs).allSatisfy(r -> {
            assertThat(r.getGroupId()).isEqualTo("gw-1");
            assertThat(r.getGroupSize()).isEqualTo(3);
            assertThat(r.getPromptText()).isEqualTo("2+2=");
        });
        assertThat(rs).extracting(Rollout::getResponseText).containsExactly("4", "5", "22");
    }

    @Test
    void shouldRankByRewardBestFirstWithCompetitionRanksForTies() {
        BestOfN.Request req = parse("{\"prompt\": \"p\", \"candidates\": [\"a\", \"b\", \"c\", \"d\"]}");
        List<Reward> rewards = new ArrayList<>(List.of(reward("gw-1-0", 0.1), reward("gw-1-1", 0.9),
                reward("gw-1-2", 0.1), reward("gw-1-3", -2.0)));
        Map<String, Object> a = BestOfN.answer(req, new RewardGateway.Scored("gw-1", rewards));
        assertThat(a.get("best_index")).isEqualTo(1);
        assertThat(a.get("best")).isEqualTo("b");
        assertThat(a.get("ranking")).isEqualTo(List.of(1, 0, 2, 3));
        assertThat(a.get("ranks")).isEqualTo(List.of(2, 1, 2, 4));
        assertThat(a.get("rewards")).isEqualTo(List.of(0.1, 0.9, 0.1, -2.0));
        assertThat(a.get("scores")).isEqualTo(List.of(1.1, 1.9, 1.1, -1.0));
        assertThat(a.get("rollout_ids")).isEqualTo(List.of("gw-1-0", "gw-1-1", "gw-1-2", "gw-1-3"));
    }

    @Test
    void shouldRejectMalformedRequestsWith400NamingTheField() {
        assertThatThrownBy(() -> parse("{\"candidates\": [\"a\"]}"))
                .isInstanceOf(GatewayException.class).hasMessageContaining("\"prompt\"")
                .extracting(e -> ((GatewayException) e).status()).isEqualTo(400);
        assertThatThrownBy(() -> parse("{\"prompt\": \"p\", \"candidates\": []}")).hasMessageContaining("empty");
        assertThatThrownBy(() -> parse("{\"prompt\": \"p\", \"candidates\": [\"a\", 3]}"))
                .hasMessageContaining("candidates[1] must be a string");
        assertThatThrownBy(() -> parse("{\"prompt\": \"p\", \"candidates\": [\"a\", \"\"]}"))
                .hasMessageContaining("candidates[1] is empty");
        assertThatThrownBy(() -> parse("{\"prompt\": \"p\", \"candidates\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}"))
                .hasMessageContaining("gateway.max.queries");
        assertThatThrownBy(() -> parse("[1]")).hasMessageContaining("JSON object");
    }
}
