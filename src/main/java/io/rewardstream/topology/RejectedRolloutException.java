package io.rewardstream.topology;

import java.util.Objects;

/**
 * Thrown by the {@code rollout-batcher} processor for a rollout it refuses (validation, tokenization). Kafka Streams
 * hands it to the processing exception handler, which dead-letters the ORIGINAL record; {@link #reason()} becomes the
 * {@code rewardstream.dlq.reason} header and the message (which starts with the reason) the
 * {@code __streams.errors.message} header. Unchecked: a property of the input, not of the service.
 */
public final class RejectedRolloutException extends RuntimeException {
    private final String reason;

    /**
     * @param reason stable upper-case code, e.g. {@code TOKEN_OUT_OF_VOCAB}
     * @param detail human-readable detail
     * @param cause  the validator's or encoder's exception, or null
     */
    public RejectedRolloutException(String reason, String detail, Throwable cause) {
        super(Objects.requireNonNull(reason, "reason") + ": "
                + (detail != null && detail.startsWith(reason + ": ") ? detail.substring(reason.length() + 2) : detail),
                cause);
        this.reason = reason;
    }

    /** The reason code. */
    public String reason() {
        return reason;
    }

    /** The reason code carried by {@code error} or its causes, or null. */
    static String reasonIn(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RejectedRolloutException r) {
                return r.reason();
            }
            if (t instanceof io.rewardstream.scoring.InvalidRolloutException i) {
                return i.reason().name();
            }
        }
        return null;
    }
}
