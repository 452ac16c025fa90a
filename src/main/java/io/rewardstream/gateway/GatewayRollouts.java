package io.rewardstream.gateway;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.ByteTokenizer;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns one {@link RewardRequest} into rollouts, one per query, all in one group (the request id) so they share a
 * partition. OpenRLHF sends text only, so each rollout carries:
 * <ul>
 *   <li>prompt and response text ({@link RewardRequest#split}), which text-tokenizer models (bytes, hf, wordpiece) score;</li>
 *   <li>token ids of the UTF-8 bytes ({@link ByteTokenizer}; a lone BOS for an empty prompt), which only a
 *       {@code tokenizer=ids} model with the byte vocabulary would read;</li>
 *   <li>policy log-probs of 0 and no reference log-probs: the KL terms are 0 and the reward is flagged NO_REFERENCE;</li>
 *   <li>finish reason STOP (OpenRLHF does not say; no missing-EOS penalty), {@code group_size} null (N for best-of-N);</li>
 *   <li>metadata {@code source=gateway}, {@code request}, {@code query.index}, {@code split} (prompt | whole) and the
 *       {@code label} when one was sent.</li>
 * </ul>
 * Stateless; thread-safe.
 */
public final class GatewayRollouts {
    private GatewayRollouts() {
    }

    /** Rollout id of query {@code i} of a request. */
    public static String rolloutId(String requestId, int i) {
        return requestId + "-" + i;
    }

    /**
     * @throws GatewayException 400 when a query has no response after its prompt
     */
    public static List<Rollout> toRollouts(RewardRequest request, String requestId, String policyVersion, Instant now) {
        return toRollouts(request, requestId, policyVersion, now, null);
    }

    /**
     * As {@link #toRollouts(RewardRequest, String, String, Instant)}, with {@code group_size} set on every rollout
     * (best-of-N: the scorer's group aggregator then ranks the complete group).
     *
     * @param groupSize the group's promised size, or null for none
     * @throws GatewayException 400 when a query has no response after its prompt
     */
    public static List<Rollout> toRollouts(RewardRequest request, String requestId, String policyVersion, Instant now,
                                           Integer groupSize) {
        List<Rollout> out = new ArrayList<>(request.size());
        for (int i = 0; i < request.size(); i++) {
            RewardRequest.Split s = request.split(i);
            List<Integer> prompt = ids(s.prompt());
            if (prompt.isEmpty()) {
                prompt = List.of(ByteTokenizer.BOS);
            }
            List<Integer> response = ids(s.response());
            Map<String, String> meta = new HashMap<>();
            meta.put("source", "gateway");
            meta.put("request", requestId);
            meta.put("query.index", Integer.toString(i));
            meta.put("split", s.atPrompt() ? "prompt" : "whole");
            String label = request.label(i);
            if (label != null) {
                meta.put("label", label);
            }
            out.add(Rollout.newBuilder()
                    .setRolloutId(rolloutId(requestId, i))
                    .setGroupId(requestId)
                    .setGroupSize(groupSize)
                    .setPolicyVersion(policyVersion)
                    .setPromptTokenIds(prompt)
                    .setResponseTokenIds(response)
                    .setPromptText(s.prompt())
                    .setResponseText(s.response())
                    .setPolicyLogprobs(Collections.nCopies(response.size(), 0f))
                    .setReferenceLogprobs(null)
                    .setFinishReason(FinishReason.STOP)
                    .setCreatedAt(now)
                    .setMetadata(meta)
                    .build());
        }
        return out;
    }

    private static List<Integer> ids(String text) {
        int[] ids = ByteTokenizer.encode(text);
        List<Integer> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(id);
        }
        return out;
    }
}
