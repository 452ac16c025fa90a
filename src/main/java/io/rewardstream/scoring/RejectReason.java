package io.rewardstream.scoring;

/**
 * A typed reason for refusing one rollout, carried by the exception that refuses it (never found by walking cause
 * chains). Implemented by the reason enums ({@link InvalidRolloutException.Reason},
 * {@link SequenceEncodingException.Reason}, the scorer's own); {@link #name()} is the stable upper-case code written
 * to the dead-letter header {@code rewardstream.dlq.reason}.
 */
public interface RejectReason {
    /** Stable upper-case code, e.g. {@code TOKEN_OUT_OF_VOCAB}. */
    String name();
}
