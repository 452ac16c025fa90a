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

    /** As {@link #tinySavedModel}, plus output {@code token_rewards} [B,T] = {@link #tokenReward}(id) on real tokens. */
    public static Path tinyProcessRewardModel(Path dir, String name, long version, long seed) {
        return TinySavedModels.build(dir, TinySavedModels.Spec.valid(name, version, seed).withTokenRewards());
    }

    /** The per-token reward of {@link #tinyProcessRewardModel} for a token id. */
    public static float tokenReward(int id) {
        return TinySavedModels.tokenReward(id);
    }
}
