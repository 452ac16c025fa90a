package io.rewardstream.scoring;

/**
 * A loaded reward model. Implementations are thread-safe: {@link #score} may be called concurrently.
 * Owned by whoever loaded it (normally a {@link ModelHolder}); {@link #close()} frees native resources
 * and must be called only once no call is in flight (the holder's leases guarantee that).
 */
public interface RewardModel extends AutoCloseable {

    /** The manifest the model was loaded with. */
    ModelManifest manifest();

    /** Version carried by rewards, {@code name:version}. */
    default String modelVersion() {
        return manifest().modelVersion();
    }

    /**
     * Scores one padded batch.
     *
     * @return one reward per row, in row order
     * @throws ModelScoringException when the model call fails or returns an unexpected shape
     * @throws IllegalStateException when the model is closed
     */
    ModelOutput score(PaddedBatch batch);

    /**
     * The encoder of this model, built from the tokenizer files inside its own model directory (so a release is
     * always encoded with its own vocabulary). Owned by the model: created with it and closed by {@link #close()};
     * do not close it yourself. Thread-safe. The default suits {@code ids} and {@code bytes} models, which need no
     * files (an {@code hf}/{@code wordpiece} model without files reports UNSUPPORTED_TOKENIZER when encoding).
     */
    default SequenceEncoder encoder() {
        return new SequenceEncoder(manifest());
    }

    /** Frees the model. Idempotent. */
    @Override
    void close();
}
