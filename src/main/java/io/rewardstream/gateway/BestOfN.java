package io.rewardstream.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.rewardstream.avro.Reward;
import io.rewardstream.scoring.GroupAdvantages;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Best-of-N ({@code POST /best_of_n}): {@code {"prompt": text, "candidates": [N response texts]}} becomes N rollouts
 * of one group with {@code group_size} N, published and awaited exactly as {@code /get_reward}'s queries (same auth,
 * 400/413/422/503/504). The answer ranks the candidates by the {@code reward} the scorer wrote to the rewards topic:
 * <ul>
 *   <li>{@code best_index}, {@code best}: the top candidate (the lowest index among equal rewards);</li>
 *   <li>{@code ranking}: candidate indices, best first (ties in index order);</li>
 *   <li>{@code ranks}: per candidate, 1 = best, ties share the best rank of their run (1, 2, 2, 4), the ranking
 *       {@link GroupAdvantages#ranks} gives the scorer's {@code GroupAdvantage.rank} of the same complete group;</li>
 *   <li>{@code rewards}, {@code scores}, {@code request_id}, {@code rollout_ids}, {@code model_versions} as in
 *       {@link OpenRlhfResponse}.</li>
 * </ul>
 * Stateless; thread-safe.
 */
public final class BestOfN {
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private BestOfN() {
    }

    /**
     * A parsed best-of-N request.
     *
     * @param prompt     the prompt (may be empty)
     * @param candidates N response texts, none empty
     */
    public record Request(String prompt, List<String> candidates) {
        public Request {
            candidates = List.copyOf(candidates);
        }

        /** The candidates as {@code /get_reward} queries (prompt + candidate), split at the prompt. */
        public RewardRequest toRewardRequest() {
            List<String> queries = candidates.stream().map(c -> prompt + c).toList();
            return new RewardRequest(queries, Collections.nCopies(candidates.size(), prompt), null);
        }
    }

    /**
     * @param maxCandidates most candidates accepted ({@code gateway.max.queries})
     * @throws GatewayException 400 with the reason when the body is not a best-of-N request
     */
    public static Request parse(byte[] body, int maxCandidates) {
        String shape = "expected JSON {\"prompt\": text, \"candidates\": [texts]}";
        if (body == null || body.length == 0) {
            throw GatewayException.badRequest("empty body: " + shape);
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw GatewayException.badRequest("body is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw GatewayException.badRequest("body cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw GatewayException.badRequest("body must be a JSON object: " + shape);
        }
        JsonNode p = root.get("prompt");
        if (p == null || !p.isTextual()) {
            throw GatewayException.badRequest("\"prompt\" must be a string: " + shape);
        }
        JsonNode c = root.get("candidates");
        if (c == null || !c.isArray()) {
            throw GatewayException.badRequest("\"candidates\" must be an array of strings: " + shape);
        }
        int n = c.size();
        if (n == 0) {
            throw GatewayException.badRequest("\"candidates\" is empty: nothing to rank");
        }
        if (n > maxCandidates) {
            throw GatewayException.badRequest("\"candidates\" has " + n + " texts, limit " + maxCandidates
                    + " (gateway.max.queries)");
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            JsonNode x = c.get(i);
            if (!x.isTextual()) {
                throw GatewayException.badRequest("candidates[" + i + "] must be a string, got "
                        + x.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
            if (x.textValue().isEmpty()) {
                throw GatewayException.badRequest("candidates[" + i + "] is empty");
            }
            out.add(x.textValue());
        }
        return new Request(p.textValue(), out);
    }

    /** Publishes the candidates as one group of N, waits for their rewards and ranks them. */
    public static Map<String, Object> serve(RewardGateway gateway, byte[] body) throws InterruptedException {
        Request req = parse(body, gateway.config().maxQueries());
        return answer(req, gateway.score(req.toRewardRequest(), req.candidates().size()));
    }

    /** The answer body (insertion-ordered) for the rewards of {@code req}'s candidates, in candidate order. */
    public static Map<String, Object> answer(Request req, RewardGateway.Scored scored) {
        List<Reward> rs = scored.rewards();
        if (rs.size() != req.candidates().size()) {
            throw new IllegalArgumentException(rs.size() + " rewards for " + req.candidates().size() + " candidates");
        }
        double[] r = rs.stream().mapToDouble(Reward::getReward).toArray();
        int[] ranks = GroupAdvantages.ranks(r);
        List<Integer> ranking = IntStream.range(0, r.length).boxed()
                .sorted(Comparator.<Integer>comparingInt(i -> ranks[i]).thenComparingInt(i -> i))
                .toList();
        int best = ranking.get(0);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("best_index", best);
        out.put("best", req.candidates().get(best));
        out.put("ranking", ranking);
        out.put("ranks", IntStream.of(ranks).boxed().toList());
        out.put("rewards", rs.stream().map(Reward::getReward).toList());
        out.put("scores", rs.stream().map(Reward::getScore).toList());
        out.put("request_id", scored.requestId());
        out.put("rollout_ids", rs.stream().map(Reward::getRolloutId).toList());
        out.put("model_versions", rs.stream().map(Reward::getModelVersion).toList());
        return out;
    }
}
