package io.rewardstream.scoring;

import java.util.Objects;

/**
 * A rollout (or a score for it) that cannot be turned into a reward. Carries a stable, machine-readable
 * {@link Reason} (the topology routes dead letters by {@code reason().name()}) and a human message.
 * Unchecked: it is a property of the input, not of the service.
 */
public final class InvalidRolloutException extends IllegalArgumentException {

    /** Stable reason codes. Names are part of the dead-letter contract: add, never rename. */
    public enum Reason implements RejectReason {
        /** The response has no tokens (L = 0). */
        EMPTY_RESPONSE,
        /** The prompt has no tokens. */
        EMPTY_PROMPT,
        /** policy_logprobs has a different length than the response. */
        LOGPROB_LENGTH_MISMATCH,
        /** reference_logprobs is present with a different length than the response. */
        REFERENCE_LENGTH_MISMATCH,
        /** A policy or reference log-prob is NaN or infinite. */
        NON_FINITE_LOGPROB,
        /** The reward-model score (or a head/ensemble member) is NaN or infinite. */
        NON_FINITE_SCORE,
        /** A token id is negative or >= the vocabulary size. */
        TOKEN_OUT_OF_VOCAB,
        /** group_size is present and <= 0 or above the limit. */
        BAD_GROUP_SIZE,
        /** Prompt, response, text or metadata above the configured limits. */
        OVERSIZED,
        /** A required field is null or blank (rollout_id, group_id, arrays, finish_reason, ...). */
        MISSING_FIELD,
        /** Routed to the exact_answer verifier without metadata.reference_answer. */
        NO_REFERENCE_ANSWER,
        /** Routed to a verifier that reads the response text (exact_answer, format) without response_text. */
        NO_RESPONSE_TEXT,
        /**
         * The model call fails on this rollout alone, twice, while the other rollouts of its batch score (a poison
         * row: e.g. a token id inside the manifest's vocabulary but outside the model's embedding).
         */
        MODEL_REJECTED
    }

    private final Reason reason;

    public InvalidRolloutException(Reason reason, String message) {
        super(Objects.requireNonNull(reason, "reason") + ": " + message);
        this.reason = reason;
    }

    /** The machine-readable reason code. */
    public Reason reason() {
        return reason;
    }
}
