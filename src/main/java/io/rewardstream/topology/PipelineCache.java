package io.rewardstream.topology;

import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapingConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * The {@link ScoringPipeline} of the current model, rebuilt when the model version or manifest changes (hot swap).
 * Not thread-safe (one per task).
 */
final class PipelineCache {
    private final ScoringPipeline.Settings settings;
    private ScoringPipeline current;

    /**
     * @param betaFromOutside whether beta is set between flushes by a shared controller: then the pipeline's own
     *                        controller is fixed (every row of a flush carries the flush's beta)
     */
    PipelineCache(ScorerConfig config, boolean betaFromOutside) {
        ShapingConfig shaping = config.shaping();
        if (betaFromOutside) {
            Map<String, String> m = new HashMap<>(shaping.toMap());
            m.put(ShapingConfig.KL_CONTROLLER, ShapingConfig.ControllerType.FIXED.id());
            shaping = ShapingConfig.from(m);
        }
        this.settings = new ScoringPipeline.Settings(shaping, config.batching(), config::limits, config.routing());
    }

    /**
     * Checks that {@code config} can serve {@code model} (the pipeline a task would build for it: batch limits,
     * routes, normalization), before the model serves anything.
     *
     * @throws IllegalArgumentException naming the configuration key that does not fit
     */
    static void checkFits(ScorerConfig config, RewardModel model) {
        new PipelineCache(config, false).forModel(model);
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
