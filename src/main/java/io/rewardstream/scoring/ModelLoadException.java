package io.rewardstream.scoring;

/**
 * A model directory was refused. The message says exactly what is wrong (which file, which signature
 * entry, expected vs found); {@link #reason()} classifies it. Nothing is left open when this is thrown.
 */
public class ModelLoadException extends RuntimeException {

    /** What check failed. */
    public enum Reason {
        /** directory missing, manifest missing or malformed. */
        MANIFEST,
        /** a file is missing, extra, or its SHA-256 differs from the manifest. */
        DIGEST,
        /** TensorFlow could not load the SavedModel. */
        LOAD,
        /** the serving_default signature breaks the model contract. */
        SIGNATURE,
        /** the warm-up calls failed or returned the wrong shapes. */
        WARMUP
    }

    private final Reason reason;

    public ModelLoadException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ModelLoadException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
