package io.rewardstream.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.Rollout;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AvroJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void shouldReadPlainJsonWithDefaultsAndWriteItBackUnchanged() throws Exception {
        JsonNode in = JSON.readTree("""
                {"rollout_id":"r1","group_id":"g","policy_version":"p","prompt_token_ids":[1,2],
                 "response_token_ids":[3],"policy_logprobs":["NaN"],"reference_logprobs":[-0.25],
                 "finish_reason":"LENGTH","created_at":"2026-01-02T03:04:05Z"}""");
        GenericRecord r = AvroJson.fromJson(in, Rollout.getClassSchema());
        assertThat(GenericData.get().validate(Rollout.getClassSchema(), r)).isTrue();
        assertThat(r.get("group_size")).isNull();
        assertThat(r.get("created_at")).isEqualTo(1767323045000L);
        JsonNode out = AvroJson.toJson(r);
        assertThat(out.get("reference_logprobs").get(0).asDouble()).isEqualTo(-0.25);
        assertThat(out.get("policy_logprobs").get(0).asText()).isEqualTo("NaN");
        assertThat(out.get("finish_reason").asText()).isEqualTo("LENGTH");
        assertThat(out.get("metadata").isObject()).isTrue();
        // what consume prints, produce reads back to the same record
        assertThat(AvroJson.fromJson(out, Rollout.getClassSchema())).isEqualTo(r);
    }

    @Test
    void shouldReadNestedRecordsAndTakeNowForAMissingCreatedAt() throws Exception {
        long before = System.currentTimeMillis();
        GenericRecord r = AvroJson.fromJson(JSON.readTree("""
                {"ranking_id":"k","responses":[{"text":"a"},{"token_ids":[1]}],"ranking":[1,0]}"""),
                RankedPreference.getClassSchema());
        assertThat((Long) r.get("created_at")).isGreaterThanOrEqualTo(before);
        assertThat(AvroJson.toJson(r).get("responses").get(1).get("token_ids").get(0).asInt()).isEqualTo(1);
    }

    @Test
    void shouldNameTheFieldOfAMismatchAndRefuseUnknownFields() throws Exception {
        assertThatThrownBy(() -> AvroJson.fromJson(JSON.readTree("""
                {"rollout_id":"r1","group_id":"g","policy_version":"p","prompt_token_ids":[1,"x"],
                 "response_token_ids":[3],"policy_logprobs":[-1],"finish_reason":"STOP"}"""), Rollout.getClassSchema()))
                .hasMessageContaining("prompt_token_ids[1]: expected an int");
        assertThatThrownBy(() -> AvroJson.fromJson(JSON.readTree("""
                {"rollout_id":"r1","group_id":"g","policy_version":"p","prompt_token_ids":[1],"respnse_token_ids":[3],
                 "policy_logprobs":[-1],"finish_reason":"STOP"}"""), Rollout.getClassSchema()))
                .hasMessageContaining("unknown field 'respnse_token_ids'");
        assertThatThrownBy(() -> AvroJson.fromJson(JSON.readTree("""
                {"rollout_id":"r1","group_id":"g","policy_version":"p","prompt_token_ids":[1],
                 "policy_logprobs":[-1],"finish_reason":"STOP"}"""), Rollout.getClassSchema()))
                .hasMessageContaining("response_token_ids: required field is missing");
        assertThatThrownBy(() -> AvroJson.fromJson(JSON.readTree("""
                {"rollout_id":"r1","group_id":"g","policy_version":"p","prompt_token_ids":[1],"response_token_ids":[3],
                 "policy_logprobs":[-1],"finish_reason":"DONE"}"""), Rollout.getClassSchema()))
                .hasMessageContaining("finish_reason: expected one of [STOP, LENGTH, ABORT]");
    }
}
