package io.rewardstream.gateway;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RewardRequestTest {

    private static RewardRequest parse(String json) {
        return RewardRequest.parse(json.getBytes(StandardCharsets.UTF_8), 8);
    }

    private static void assertRejected(String json, String reason) {
        assertThatThrownBy(() -> parse(json)).isInstanceOfSatisfying(GatewayException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.reason()).contains(reason);
        });
    }

    @Test
    void shouldParseOpenRlhfPayloadWithPromptsAndLabels() {
        RewardRequest r = parse("{\"query\": [\"Q: 1+1? A: 2\", \"Q: 1+1? A: 3\"], \"prompts\": [\"Q: 1+1? A:\", "
                + "\"Q: 1+1? A:\"], \"labels\": [\"2\", {\"answer\": 2}], \"extra\": 1}");
        assertThat(r.queries()).containsExactly("Q: 1+1? A: 2", "Q: 1+1? A: 3");
        assertThat(r.prompts()).containsExactly("Q: 1+1? A:", "Q: 1+1? A:");
        assertThat(r.label(0)).isEqualTo("2");
        assertThat(r.label(1)).isEqualTo("{\"answer\":2}");
        assertThat(r.split(0)).isEqualTo(new RewardRequest.Split("Q: 1+1? A:", " 2", true));
    }

    @Test
    void shouldAcceptTheOldQueryOnlyPayloadAndScoreTheWholeQuery() {
        RewardRequest r = parse("{\"query\": [\"full text\"]}");
        assertThat(r.prompts()).isNull();
        assertThat(r.label(0)).isNull();
        assertThat(r.split(0)).isEqualTo(new RewardRequest.Split("", "full text", false));
    }

    @Test
    void shouldScoreTheWholeQueryWhenThePromptIsNotItsPrefix() {
        RewardRequest r = parse("{\"query\": [\"<s>user: hi</s> hello\"], \"prompts\": [\"user: hi\"]}");
        assertThat(r.split(0)).isEqualTo(new RewardRequest.Split("", "<s>user: hi</s> hello", false));
    }

    @Test
    void shouldRejectMalformedRequestsWithTheReason() {
        assertRejected("", "empty body");
        assertRejected("{\"query\": [", "not valid JSON");
        assertRejected("[1, 2]", "JSON object");
        assertRejected("{\"prompts\": [\"p\"]}", "missing \"query\"");
        assertRejected("{\"query\": \"text\"}", "\"query\" must be an array of strings, got string");
        assertRejected("{\"query\": []}", "\"query\" is empty");
        assertRejected("{\"query\": [\"a\", 3]}", "query[1] must be a string, got number");
        assertRejected("{\"query\": [\"a\", \"\"]}", "query[1] is empty");
        assertRejected("{\"query\": [\"a\", \"b\"], \"prompts\": [\"a\"]}", "\"prompts\" has 1 entries for 2 queries");
        assertRejected("{\"query\": [\"a\"], \"labels\": \"x\"}", "\"labels\" must be an array");
        assertRejected("{\"query\": [\"a\"], \"labels\": [1, 2]}", "\"labels\" has 2 entries for 1 queries");
        assertRejected("{\"query\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
                "has 9 texts, limit 8 (gateway.max.queries)");
    }

    @Test
    void shouldRejectAQueryThatIsOnlyItsPrompt() {
        RewardRequest r = parse("{\"query\": [\"prompt\"], \"prompts\": [\"prompt\"]}");
        assertThatThrownBy(() -> r.split(0)).isInstanceOfSatisfying(GatewayException.class,
                e -> assertThat(e.reason()).contains("query[0] is its prompt with no response"));
    }
}
