package io.rewardstream.topology;

/**
 * The scorer cannot process a record for a reason that is not the record's fault (no model to validate against).
 * {@link DeadLetterProcessingExceptionHandler} fails the stream thread for it instead of dead-lettering the record,
 * so the record is retried after the thread is replaced.
 */
public final class ScorerUnavailableException extends RuntimeException {
    public ScorerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
