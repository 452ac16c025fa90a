package io.rewardstream.release;

import java.util.Objects;

/** A model release was refused; {@link #reason()} classifies why, the message names the offending file or field. */
public class ReleaseRefusedException extends RuntimeException {

    /** Why a release was refused. Stable names: they tag the {@code rewardstream.releases.refused} metric. */
    public enum Reason {
        /** location or a digest path is absolute, contains '..', or resolves (through symlinks) outside the root. */
        PATH_ESCAPES_ROOT,
        /** the model directory, or a file the release lists, does not exist; or the release lists no files. */
        MISSING_FILES,
        /** a file's SHA-256 differs from the release's (or the manifest's) digest. */
        DIGEST_MISMATCH,
        /** the directory holds a file the release does not list. */
        EXTRA_FILES,
        /** no signature and unsigned releases are not allowed. */
        UNSIGNED,
        /** the signature does not verify under the named key. */
        BAD_SIGNATURE,
        /** no key id, or no configured public key has that id. */
        UNKNOWN_KEY,
        /** version not above the serving one of the same model, and not an allowed rollback. */
        STALE_VERSION,
        /** the model manifest's name/version differ from the release's, or it is unreadable. */
        MANIFEST_MISMATCH,
        /** the verified files did not load (or warm up) as a model. */
        LOAD_FAILED,
        /**
         * the model loaded but this scorer's configuration cannot serve it (its max_seq_len above
         * {@code batch.max.tokens}, a route naming a head it lacks, static normalization without its stats).
         */
        CONFIG_MISMATCH
    }

    private final Reason reason;

    public ReleaseRefusedException(Reason reason, String message) {
        this(reason, message, null);
    }

    public ReleaseRefusedException(Reason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
