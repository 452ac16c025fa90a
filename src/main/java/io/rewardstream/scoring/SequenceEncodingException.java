package io.rewardstream.scoring;

/** A rollout cannot be turned into model input; {@link #reason()} says why. */
public class SequenceEncodingException extends IllegalArgumentException {

    /** Why encoding failed. */
    public enum Reason implements RejectReason {
        /** tokenizer {@code ids} but prompt or response ids are null. */
        MISSING_IDS,
        /** tokenizer {@code bytes}/{@code hf} but prompt or response text is null. */
        MISSING_TEXT,
        /** a token id outside [0, vocab_size). */
        TOKEN_OUT_OF_RANGE,
        /** prompt and response are both empty. */
        EMPTY,
        /** the tokenizer needed is not loaded (an hf model needs SequenceEncoder.forModel). */
        UNSUPPORTED_TOKENIZER
    }

    private final Reason reason;

    public SequenceEncodingException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
