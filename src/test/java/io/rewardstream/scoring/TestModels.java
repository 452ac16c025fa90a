package io.rewardstream.scoring;

import java.nio.file.Path;

/** Public access to {@link TinySavedModels} for integration tests in other packages (real TensorFlow SavedModels). */
public final class TestModels {
    private TestModels() {
    }

    /** Builds a valid single-head tiny SavedModel (tokenizer ids, vocab 260, max_seq_len 128) with its manifest. */
    public static Path tinySavedModel(Path dir, String name, long version, long seed) {
        return TinySavedModels.build(dir, name, version, seed);
    }
}
