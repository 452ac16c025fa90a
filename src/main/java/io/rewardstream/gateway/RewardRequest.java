package io.rewardstream.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/**
 * One OpenRLHF remote reward-model request ({@code POST /get_reward}): {@code query} holds the full texts (prompt and
 * response, as the trainer's chat template rendered them); newer OpenRLHF versions also send {@code prompts} (the
 * prompt of each query) and {@code labels} (ground truth, any JSON value), aligned with {@code query}. Other fields
 * are ignored, as OpenRLHF's own server does.
 *
 * <p>Immutable. {@link #parse} rejects anything else with a 400 naming what is wrong.
 *
 * @param queries full texts, at least one, none empty
 * @param prompts prompts aligned with queries, or null when the client sent none
 * @param labels  labels aligned with queries as compact JSON text (a JSON string as its plain value), or null
 */
public record RewardRequest(List<String> queries, List<String> prompts, List<String> labels) {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    public RewardRequest {
        queries = List.copyOf(queries);
        prompts = prompts == null ? null : Collections.unmodifiableList(new ArrayList<>(prompts));
        labels = labels == null ? null : Collections.unmodifiableList(new ArrayList<>(labels));
    }

    /**
     * Parses and checks a request body.
     *
     * @param maxQueries most queries accepted
     * @throws GatewayException 400 with the reason when the body is not such a request
     */
    public static RewardRequest parse(byte[] body, int maxQueries) {
        if (body == null || body.length == 0) {
            throw GatewayException.badRequest("empty body: expected JSON {\"query\": [texts], \"prompts\": [...], "
                    + "\"labels\": [...]}");
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
            throw GatewayException.badRequest("body must be a JSON object with a \"query\" array");
        }
        JsonNode query = root.get("query");
        if (query == null || query.isNull()) {
            throw GatewayException.badRequest("missing \"query\": an array of full texts (prompt + response)");
        }
        if (!query.isArray()) {
            throw GatewayException.badRequest("\"query\" must be an array of strings, got " + kind(query));
        }
        int n = query.size();
        if (n == 0) {
            throw GatewayException.badRequest("\"query\" is empty: nothing to score");
        }
        if (n > maxQueries) {
            throw GatewayException.badRequest("\"query\" has " + n + " texts, limit " + maxQueries
                    + " (gateway.max.queries): split the request");
        }
        List<String> queries = strings("query", query, false);
        for (int i = 0; i < n; i++) {
            if (queries.get(i).isEmpty()) {
                throw GatewayException.badRequest("query[" + i + "] is empty");
            }
        }
        List<String> prompts = null;
        JsonNode p = root.get("prompts");
        if (p != null && !p.isNull()) {
            if (!p.isArray()) {
                throw GatewayException.badRequest("\"prompts\" must be an array of strings, got " + kind(p));
            }
            if (p.size() != n) {
                throw GatewayException.badRequest("\"prompts\" has " + p.size() + " entries for " + n + " queries");
            }
            prompts = strings("prompts", p, true);
        }
        List<String> labels = null;
        JsonNode l = root.get("labels");
        if (l != null && !l.isNull()) {
            if (!l.isArray()) {
                throw GatewayException.badRequest("\"labels\" must be an array, got " + kind(l));
            }
            if (l.size() != n) {
                throw GatewayException.badRequest("\"labels\" has " + l.size() + " entries for " + n + " queries");
            }
            labels = new ArrayList<>(n);
            for (JsonNode x : l) {
                labels.add(x.isNull() ? null : x.isTextual() ? x.textValue() : x.toString());
            }
        }
        return new RewardRequest(queries, prompts, labels);
    }

    /** Number of queries. */
    public int size() {
        return queries.size();
    }

    /**
     * The prompt and response text of query {@code i}: when the client sent the prompt and the query starts with it,
     * the rest of the query is the response; otherwise the whole query is the response and the prompt is empty (the
     * reward model then scores the full text, as OpenRLHF's own server does).
     *
     * @throws GatewayException 400 when the response would be empty (the query is exactly its prompt)
     */
    public Split split(int i) {
        String q = queries.get(i);
        String p = prompts == null ? null : prompts.get(i);
        if (p != null && !p.isEmpty() && q.startsWith(p)) {
            if (q.length() == p.length()) {
                throw GatewayException.badRequest("query[" + i + "] is its prompt with no response: nothing to score");
            }
            return new Split(p, q.substring(p.length()), true);
        }
        return new Split("", q, false);
    }

    /** Label of query {@code i}, or null. */
    public String label(int i) {
        return labels == null ? null : labels.get(i);
    }

    /**
     * Prompt and response text of one query.
     *
     * @param atPrompt true when the query was split at the client's prompt, false when the whole query is the response
     */
    public record Split(String prompt, String response, boolean atPrompt) {
    }

    private static List<String> strings(String field, JsonNode array, boolean nullable) {
        List<String> out = new ArrayList<>(array.size());
        Iterator<JsonNode> it = array.elements();
        for (int i = 0; it.hasNext(); i++) {
            JsonNode x = it.next();
            if (x.isTextual()) {
                out.add(x.textValue());
            } else if (nullable && x.isNull()) {
                out.add(null);
            } else {
                throw GatewayException.badRequest(field + "[" + i + "] must be a string, got " + kind(x));
            }
        }
        return out;
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
