package io.rewardstream.scoring;

import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.InvalidRolloutException.Reason;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Checks a {@link Rollout} against {@link Limits} before it is scored. Immutable; thread-safe.
 * The first violation found is reported as an {@link InvalidRolloutException} with a stable reason code
 * (the topology routes it to the dead-letter topic by that code).
 *
 * <p>Order: required fields, group size, sizes (OVERSIZED before per-element work), empty prompt/response,
 * log-prob lengths, finiteness, vocabulary.
 */
public final class RolloutValidator {

    /**
     * @param vocabSize          token ids must be in [0, vocabSize)
     * @param maxPromptTokens    longest prompt accepted
     * @param maxResponseTokens  longest response accepted
     * @param maxGroupSize       largest group_size accepted
     * @param maxMetadataEntries most metadata entries accepted
     * @param maxMetadataBytes   most UTF-8 bytes over all metadata keys and values
     * @param maxTextBytes       most UTF-8 bytes of prompt_text and of response_text, each
     */
    public record Limits(int vocabSize, int maxPromptTokens, int maxResponseTokens, int maxGroupSize,
                         int maxMetadataEntries, int maxMetadataBytes, int maxTextBytes) {

        public static final int DEFAULT_MAX_TOKENS = 1 << 16;
        public static final int DEFAULT_MAX_GROUP_SIZE = 1024;
        public static final int DEFAULT_MAX_METADATA_ENTRIES = 64;
        public static final int DEFAULT_MAX_METADATA_BYTES = 16 * 1024;
        public static final int DEFAULT_MAX_TEXT_BYTES = 1 << 20;

        public Limits {
            if (vocabSize < 1 || maxPromptTokens < 1 || maxResponseTokens < 1 || maxGroupSize < 1
                    || maxMetadataEntries < 0 || maxMetadataBytes < 0 || maxTextBytes < 0) {
                throw new IllegalArgumentException("rollout limits must be positive: " + vocabSize + ", " + maxPromptTokens
                        + ", " + maxResponseTokens + ", " + maxGroupSize + ", " + maxMetadataEntries + ", "
                        + maxMetadataBytes + ", " + maxTextBytes);
            }
        }

        /** Default size limits with the given vocabulary size. */
        public static Limits withVocab(int vocabSize) {
            return new Limits(vocabSize, DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS, DEFAULT_MAX_GROUP_SIZE,
                    DEFAULT_MAX_METADATA_ENTRIES, DEFAULT_MAX_METADATA_BYTES, DEFAULT_MAX_TEXT_BYTES);
        }
    }

    /**
     * Most UTF-8 bytes of {@code rollout_id}, {@code group_id} and {@code policy_version}. They travel in every reward
     * and group advantage, and the scorer's stores keep them with {@code DataOutputStream.writeUTF} (at most 65,535
     * bytes): a longer id would fail its flush after the rewards were sent, and the flush again after every restart.
     */
    public static final int MAX_ID_BYTES = 1024;

    private final Limits limits;

    public RolloutValidator(Limits limits) {
        if (limits == null) {
            throw new IllegalArgumentException("rollout limits are required");
        }
        this.limits = limits;
    }

    public Limits limits() {
        return limits;
    }

    /** @throws InvalidRolloutException with the reason of the first violation */
    public void validate(Rollout r) {
        if (r == null) {
            throw fail(Reason.MISSING_FIELD, "rollout is null");
        }
        requireText("rollout_id", r.getRolloutId());
        requireText("group_id", r.getGroupId());
        requireText("policy_version", r.getPolicyVersion());
        requirePresent("prompt_token_ids", r.getPromptTokenIds());
        requirePresent("response_token_ids", r.getResponseTokenIds());
        requirePresent("policy_logprobs", r.getPolicyLogprobs());
        requirePresent("finish_reason", r.getFinishReason());
        requirePresent("created_at", r.getCreatedAt());

        Integer g = r.getGroupSize();
        if (g != null && (g <= 0 || g > limits.maxGroupSize())) {
            throw fail(Reason.BAD_GROUP_SIZE, "group_size " + g + " is outside [1, " + limits.maxGroupSize() + "]");
        }

        int promptLen = r.getPromptTokenIds().size();
        int responseLen = r.getResponseTokenIds().size();
        if (promptLen > limits.maxPromptTokens()) {
            throw fail(Reason.OVERSIZED, "prompt has " + promptLen + " tokens, limit " + limits.maxPromptTokens());
        }
        if (responseLen > limits.maxResponseTokens()) {
            throw fail(Reason.OVERSIZED, "response has " + responseLen + " tokens, limit " + limits.maxResponseTokens());
        }
        checkText("prompt_text", r.getPromptText());
        checkText("response_text", r.getResponseText());
        checkMetadata(r.getMetadata());

        if (responseLen == 0) {
            throw fail(Reason.EMPTY_RESPONSE, "response_token_ids is empty");
        }
        if (promptLen == 0) {
            throw fail(Reason.EMPTY_PROMPT, "prompt_token_ids is empty");
        }
        if (r.getPolicyLogprobs().size() != responseLen) {
            throw fail(Reason.LOGPROB_LENGTH_MISMATCH, "policy_logprobs has " + r.getPolicyLogprobs().size()
                    + " values for " + responseLen + " response tokens");
        }
        List<Float> ref = r.getReferenceLogprobs();
        if (ref != null && ref.size() != responseLen) {
            throw fail(Reason.REFERENCE_LENGTH_MISMATCH, "reference_logprobs has " + ref.size()
                    + " values for " + responseLen + " response tokens");
        }
        checkFinite("policy_logprobs", r.getPolicyLogprobs());
        if (ref != null) {
            checkFinite("reference_logprobs", ref);
        }
        checkVocab("prompt_token_ids", r.getPromptTokenIds());
        checkVocab("response_token_ids", r.getResponseTokenIds());
    }

    /** The violation, if any, without throwing. */
    public Optional<InvalidRolloutException> check(Rollout r) {
        try {
            validate(r);
            return Optional.empty();
        } catch (InvalidRolloutException e) {
            return Optional.of(e);
        }
    }

    private void checkText(String field, String text) {
        if (text != null) {
            checkUtf8Bytes(field, text, limits.maxTextBytes());
        }
    }

    /** @throws InvalidRolloutException OVERSIZED when {@code v} has more than {@code limit} UTF-8 bytes */
    private static void checkUtf8Bytes(String field, CharSequence v, int limit) {
        // chars * 3 bounds the UTF-8 size: skip the encoding for the common small case
        if ((long) v.length() * 3 > limit) {
            int bytes = v.toString().getBytes(StandardCharsets.UTF_8).length;
            if (bytes > limit) {
                throw fail(Reason.OVERSIZED, field + " has " + bytes + " UTF-8 bytes, limit " + limit);
            }
        }
    }

    private void checkMetadata(Map<String, String> metadata) {
        if (metadata == null) {
            return;
        }
        if (metadata.size() > limits.maxMetadataEntries()) {
            throw fail(Reason.OVERSIZED, "metadata has " + metadata.size() + " entries, limit " + limits.maxMetadataEntries());
        }
        long bytes = 0;
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            bytes += utf8(e.getKey()) + utf8(e.getValue());
        }
        if (bytes > limits.maxMetadataBytes()) {
            throw fail(Reason.OVERSIZED, "metadata has " + bytes + " UTF-8 bytes, limit " + limits.maxMetadataBytes());
        }
    }

    private static int utf8(CharSequence s) {
        return s == null ? 0 : s.toString().getBytes(StandardCharsets.UTF_8).length;
    }

    private static void checkFinite(String field, List<Float> values) {
        for (int i = 0; i < values.size(); i++) {
            Float f = values.get(i);
            if (f == null) {
                throw fail(Reason.MISSING_FIELD, field + "[" + i + "] is null");
            }
            if (!Float.isFinite(f)) {
                throw fail(Reason.NON_FINITE_LOGPROB, field + "[" + i + "] is " + f);
            }
        }
    }

    private void checkVocab(String field, List<Integer> ids) {
        int vocab = limits.vocabSize();
        for (int i = 0; i < ids.size(); i++) {
            Integer id = ids.get(i);
            if (id == null) {
                throw fail(Reason.MISSING_FIELD, field + "[" + i + "] is null");
            }
            if (id < 0 || id >= vocab) {
                throw fail(Reason.TOKEN_OUT_OF_VOCAB, field + "[" + i + "] = " + id + " is outside [0, " + vocab + ")");
            }
        }
    }

    private static void requireText(String field, CharSequence v) {
        if (v == null || v.toString().isBlank()) {
            throw fail(Reason.MISSING_FIELD, field + " is " + (v == null ? "null" : "blank"));
        }
        checkUtf8Bytes(field, v, MAX_ID_BYTES);
    }

    private static void requirePresent(String field, Object v) {
        if (v == null) {
            throw fail(Reason.MISSING_FIELD, field + " is null");
        }
    }

    private static InvalidRolloutException fail(Reason reason, String message) {
        return new InvalidRolloutException(reason, message);
    }
}
