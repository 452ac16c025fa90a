package io.rewardstream.training;

/**
 * A preference record that cannot be trained on. {@link #reason()} is the short upper-case code written to
 * the dead-letter header ({@code rewardstream.dlq.reason}).
 */
public final class InvalidPreferenceException extends RuntimeException {
    private final String reason;

    public InvalidPreferenceException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
