package io.rewardstream.scoring;

/** A model call failed or returned something that breaks the model contract. */
public class ModelScoringException extends RuntimeException {
    public ModelScoringException(String message) {
        super(message);
    }

    public ModelScoringException(String message, Throwable cause) {
        super(message, cause);
    }
}
