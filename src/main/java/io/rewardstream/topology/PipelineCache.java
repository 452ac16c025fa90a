package io.rewardstream.topology;

import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringPipeline;

/**
 * The {@link ScoringPipeline} of the current model, rebuilt when the model version or manifest changes (hot swap).
 * Not thread-safe (one per task).
 */
final class PipelineCache {
    private final ScoringPipeline.Settings settings;
    private ScoringPipeline current;

    PipelineCache(ScorerConfig config) {
        this.settings = new ScoringPipeline.Settings(config.shaping(), config.batching(), config::limits);
    }

    /** @throws IllegalArgumentException when the model does not fit the configuration */
    ScoringPipeline forModel(RewardModel model) {
        ScoringPipeline p = current;
        if (p == null || p.model() != model) { // identity: a reloaded model brings its own encoder
            p = ScoringPipeline.forModel(model, settings);
            current = p;
        }
        return p;
    }
}
