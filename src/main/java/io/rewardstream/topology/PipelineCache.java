package io.rewardstream.topology;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.SequenceEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ScoringPipeline} of the current model, rebuilt when the model version or manifest changes (hot swap).
 * Not thread-safe (one per task).
 */
final class PipelineCache {
    private static final Logger LOG = LoggerFactory.getLogger(PipelineCache.class);
    private final ScorerConfig config;
    private final ScoringPipeline.Settings settings;
    private ScoringPipeline current;

    PipelineCache(ScorerConfig config) {
        this.config = config;
        this.settings = new ScoringPipeline.Settings(config.shaping(), config.batching(), config::limits);
    }

    /** @throws IllegalArgumentException when the model does not fit the configuration */
    ScoringPipeline forModel(RewardModel model) {
        ScoringPipeline p = current;
        if (p == null || !p.modelVersion().equals(model.modelVersion()) || !p.manifest().equals(model.manifest())) {
            p = new ScoringPipeline(model, encoderFor(model.manifest()), settings);
            current = p;
        }
        return p;
    }

    /**
     * The encoder of a model. RewardModel does not expose its directory, so an {@code hf} tokenizer (or a
     * {@code wordpiece} vocabulary) is loaded from {@code model.dir} (the model this app started with); such a model
     * from elsewhere gets an encoder that reports UNSUPPORTED_TOKENIZER, which keeps its rollouts buffered.
     */
    private SequenceEncoder encoderFor(ModelManifest m) {
        if (("hf".equals(m.tokenizer()) || "wordpiece".equals(m.tokenizer())) && config.runtime().modelDir() != null) {
            try {
                return SequenceEncoder.forModel(config.runtime().modelDir(), m);
            } catch (RuntimeException e) {
                LOG.error("model {}: cannot load its {} tokenizer from {}", m.modelVersion(), m.tokenizer(),
                        config.runtime().modelDir(), e);
            }
        }
        return new SequenceEncoder(m);
    }
}
