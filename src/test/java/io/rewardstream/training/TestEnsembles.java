package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Real exported built-in ensembles for tests in other packages ({@code model train --ensemble E}, untrained). */
public final class TestEnsembles {
    private TestEnsembles() {
    }

    /**
     * Exports an untrained TINY built-in model over token ids (vocab {@code vocab}, max_seq_len 64) with {@code e}
     * differently initialised heads on one backbone: a SavedModel with {@code reward} (member mean) and
     * {@code reward_std} (population std across members).
     */
    public static ModelManifest exportTinyEnsemble(Path dir, int vocab, int e, long seed) throws IOException {
        ModelConfig cfg = ModelConfig.ofTokenIds(ModelSize.TINY, vocab).withEnsemble(e);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(1).withProgress(false).withSeed(seed);
        try (BuiltinModel m = BuiltinModel.create(cfg, tc)) {
            return m.export(dir, List.of());
        }
    }
}
