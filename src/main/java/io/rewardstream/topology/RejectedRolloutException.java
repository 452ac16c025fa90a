package io.rewardstream.topology;

import io.rewardstream.scoring.RejectReason;

import java.util.Objects;

/**
 * Thrown by the {@code rollout-batcher} processor for a rollout it refuses (validation, tokenization). Kafka Streams
 * hands it to the processing exception handler, which dead-letters the ORIGINAL record; {@link #reason()} becomes the
 * {@code rewardstream.dlq.reason} header and the message (which starts with the reason) the
 * {@code __streams.errors.message} header. Unchecked: a property of the input, not of the service.
 */
public final class RejectedRolloutException extends RuntimeException {
    private final RejectReason reason;

    /**
     * @param reason the typed reason; {@code reason.name()} is the stable upper-case code, e.g. {@code TOKEN_OUT_OF_VOCAB}
     * @param detail human-readable detail
     * @param cause  the validator's or encoder's exception, or null
     */
    public RejectedRolloutException(RejectReason reason, String detail, Throwable cause) {
        super(Objects.requireNonNull(reason, "reason").name() + ": "
                + (detail != null && detail.startsWith(reason.name() + ": ")
                ? detail.substring(reason.name().length() + 2) : detail), cause);
        this.reason = reason;
    }

    /** The reason, carried as a type (never found by walking causes). */
    public RejectReason reason() {
        return reason;
    }
}
