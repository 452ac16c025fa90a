package io.rewardstream.scoring;

/**
 * A whole batch could not be scored for a reason that is not any one rollout's fault (the model call failed, the
 * model's tokenizer is not available, the model does not fit the configuration). The caller keeps the batch and
 * retries; nothing is dead-lettered.
 */
public class BatchNotScoredException extends RuntimeException {
    public BatchNotScoredException(String message, Throwable cause) {
        super(message, cause);
    }
}
