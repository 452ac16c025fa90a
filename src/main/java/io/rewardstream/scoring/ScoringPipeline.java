package io.rewardstream.scoring;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The whole scoring path of ONE model, without Kafka: validate/encode -> plan -> model call -> combine heads ->
 * shape. Owns the per-model helpers (validator, planner, combiner, shaper, KL controller) and uses the model's
 * encoder. Built per model version (the scorer rebuilds it after a hot swap); shared by the scorer's processor,
 * the bench and the {@code shape} CLI so all of them run the same code.
 *
 * <p>{@link #score} takes decoded rollouts ({@link ScoringInput}) and the shaping state, and returns one
 * {@link Row} per input in input order: {@link Scored} or {@link Failed} (a typed {@link RejectReason}; the caller
 * dead-letters it) plus the new shaping state. A failure that is not one row's fault throws
 * {@link BatchNotScoredException} and changes nothing. When the model call fails, the batch is cut into parts to find
 * the rows it fails on alone ({@link RowIsolation}): those are {@link Failed} ({@code MODEL_REJECTED}), the rest are
 * scored, so one poison row cannot stall the stream; only when no part scores does the whole batch throw.
 *
 * <p>Batch stages (encode, plan, model call) are in {@link #score}; the per-row stages after the model call
 * (combine heads and uncertainty penalty -> route by task over score sources ({@link ScoreRouter}) -> shape -> flags)
 * are {@link RowStages} and {@link ScoreRouter}, where a new per-row stage (an
 * uncertainty monitor, routing over several score sources, per-token rewards) is one more step.
 *
 * <p>Thread-safety: stateless between calls apart from the immutable helpers; safe for concurrent use if the
 * model is. Never owns or closes the model or its encoder (the caller holds the model lease for the whole call).
 */
public final class ScoringPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(ScoringPipeline.class);

    /**
     * What a pipeline needs besides the model.
     *
     * @param shaping  reward shaping (KL, clipping, normalization, head weights, uncertainty penalty)
     * @param batching batch budget of the planner
     * @param limits   validator limits for a vocabulary size (the model's when it reads ids, else unbounded)
     * @param routing  score sources by task ({@link ScoreRouter}); {@link RouteConfig#defaults()} = the model's score
     */
    public record Settings(ShapingConfig shaping, BatchingConfig batching, IntFunction<RolloutValidator.Limits> limits,
                           RouteConfig routing) {
        public Settings {
            if (shaping == null || batching == null || limits == null) {
                throw new IllegalArgumentException("shaping, batching and limits are required");
            }
            routing = routing == null ? RouteConfig.defaults() : routing;
        }

        /** Settings without routing (every rollout gets the model's score). */
        public Settings(ShapingConfig shaping, BatchingConfig batching, IntFunction<RolloutValidator.Limits> limits) {
            this(shaping, batching, limits, null);
        }

        /** Default validator limits. */
        public static Settings of(ShapingConfig shaping, BatchingConfig batching) {
            return new Settings(shaping, batching, RolloutValidator.Limits::withVocab);
        }
    }

    /** The outcome of one input row. */
    public sealed interface Row permits Scored, Failed {
        /** Index of the row in the input list. */
        int index();

        ScoringInput input();
    }

    /**
     * A shaped row.
     *
     * @param encoded     the model input (its {@code truncated()} is already in {@code flags})
     * @param heads       named head scores, or null for a single-head model
     * @param uncertainty the ensemble's uncertainty, or null
     * @param shaped      the shaped reward (score = raw score after head weighting and uncertainty penalty)
     * @param flags       sorted reward flags (shaping flags plus TRUNCATED)
     */
    public record Scored(int index, ScoringInput input, EncodedSequence encoded, Map<String, Double> heads,
                         Double uncertainty, ShapedReward shaped, List<String> flags) implements Row {
    }

    /** A refused row: the caller dead-letters it with {@code reason.name()}. */
    public record Failed(int index, ScoringInput input, RejectReason reason, String detail, RuntimeException cause)
            implements Row {
    }

    /**
     * The outcome of a batch.
     *
     * @param rows           one per input, input order
     * @param state          the shaping state after the scored rows (unchanged by failed rows)
     * @param plan           the batches sent to the model (null when no row reached the model; after a failed call
     *                       whose rows were isolated, the plan of that call)
     * @param inferenceNanos time spent planning and in the model
     */
    public record Result(List<Row> rows, ShapingState state, BatchPlan plan, long inferenceNanos) {
        /** The scored rows, input order. */
        public List<Scored> scored() {
            List<Scored> out = new ArrayList<>(rows.size());
            for (Row r : rows) {
                if (r instanceof Scored s) {
                    out.add(s);
                }
            }
            return out;
        }
    }

    private final RewardModel model;
    private final ModelManifest manifest;
    private final SequenceEncoder encoder;
    private final Settings settings;
    private final RolloutValidator validator;
    private final BatchPlanner planner;
    private final RowStages stages;
    private final ScoreRouter router;

    /**
     * @param model    the model (not owned)
     * @param encoder  the model's encoder (not owned)
     * @throws IllegalArgumentException when the model does not fit the configuration (e.g. batch.max.tokens below its
     *                                  max_seq_len, static normalization without the manifest's stats, a route naming
     *                                  a head the model does not have)
     */
    public ScoringPipeline(RewardModel model, SequenceEncoder encoder, Settings settings) {
        this.model = model;
        this.manifest = model.manifest();
        this.encoder = encoder;
        this.settings = settings;
        ShapingConfig shaping = settings.shaping();
        // token ids are checked against the model's vocabulary only when the model reads them (tokenizer=ids)
        int vocab = "ids".equals(manifest.tokenizer()) ? manifest.vocabSize() : Integer.MAX_VALUE;
        this.validator = new RolloutValidator(settings.limits().apply(vocab));
        this.planner = BatchPlanner.forModel(settings.batching(), manifest);
        this.stages = new RowStages(shaping, manifest);
        this.router = new ScoreRouter(settings.routing(), manifest);
    }

    /**
     * The pipeline of {@code model} with the model's own encoder ({@link RewardModel#encoder()}).
     *
     * @throws IllegalArgumentException when the model does not fit the configuration
     */
    public static ScoringPipeline forModel(RewardModel model, Settings settings) {
        return new ScoringPipeline(model, model.encoder(), settings);
    }

    public RewardModel model() {
        return model;
    }

    public String modelVersion() {
        return model.modelVersion();
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public Settings settings() {
        return settings;
    }

    /** Wire-level checks of a rollout, with this model's vocabulary. */
    public RolloutValidator validator() {
        return validator;
    }

    public BatchPlanner planner() {
        return planner;
    }

    /** The routing stage (score sources by task). */
    public ScoreRouter router() {
        return router;
    }

    /** The per-row stages after the model call. */
    public RowStages stages() {
        return stages;
    }

    public SequenceEncoder encoder() {
        return encoder;
    }

    /** The shaping state before any batch. */
    public ShapingState initialState(RunningStats stats) {
        return stages.initialState(stats);
    }

    public KlController klController() {
        return stages.klController();
    }

    /**
     * Encodes one rollout (admission check and token count).
     *
     * @throws SequenceEncodingException when it cannot be encoded; reason UNSUPPORTED_TOKENIZER means the model's
     *                                   tokenizer is missing (a service problem, not the rollout's)
     * @throws InvalidRolloutException   on a null token id
     */
    public EncodedSequence encode(SequenceParts parts) {
        return encoder.encode(parts);
    }

    /**
     * Scores and shapes a batch.
     *
     * @param inputs decoded rollouts (at least one)
     * @param state  shaping state before this batch
     * @throws BatchNotScoredException when the model's tokenizer is unavailable or the model fails the batch and
     *                                 every part of it; when it fails the batch but scores parts, the rows it fails
     *                                 on alone are {@link Failed} with {@code MODEL_REJECTED} ({@link RowIsolation})
     */
    public Result score(List<ScoringInput> inputs, ShapingState state) {
        Row[] rows = new Row[inputs.size()];
        // stage 1: encode (per row)
        List<EncodedSequence> seqs = new ArrayList<>(inputs.size());
        List<Integer> live = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            ScoringInput in = inputs.get(i);
            try {
                seqs.add(encoder.encode(in.parts()));
                live.add(i);
            } catch (SequenceEncodingException e) {
                if (e.reason() == SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER) {
                    throw new BatchNotScoredException("model " + modelVersion() + " cannot encode rollouts here: "
                            + e.getMessage(), e);
                }
                rows[i] = new Failed(i, in, e.reason(), e.getMessage(), e);
            } catch (InvalidRolloutException e) {
                rows[i] = new Failed(i, in, e.reason(), e.getMessage(), e);
            }
        }
        if (live.isEmpty()) {
            return new Result(List.of(rows), state, null, 0);
        }
        // stages 2-3: plan and call the model (whole batch)
        long t0 = System.nanoTime();
        BatchPlan plan;
        try {
            plan = planner.plan(seqs);
        } catch (RuntimeException e) {
            throw new BatchNotScoredException("model " + modelVersion() + " cannot plan " + seqs.size()
                    + " rollouts: " + e.getMessage(), e);
        }
        ModelOutput out;
        RuntimeException[] refused = null;
        try {
            out = PlanScorer.score(model, plan);
        } catch (RuntimeException e) {
            // a row the model always fails on must not stall its task: find it (or throw BatchNotScoredException)
            RowIsolation.Outcome iso = RowIsolation.isolate(model, planner, seqs, e);
            out = iso.output();
            refused = iso.refused();
            LOG.warn("model {} failed a batch of {} rollouts; {} more calls scored all but {} of them", modelVersion(),
                    seqs.size(), iso.calls(), iso.refusedCount(), e);
        }
        long inferenceNanos = System.nanoTime() - t0;
        // stages 4+: per row, in input order (the shaping state is threaded through)
        ShapingState s = state;
        for (int k = 0; k < live.size(); k++) {
            int i = live.get(k);
            ScoringInput in = inputs.get(i);
            if (refused != null && refused[k] != null) {
                rows[i] = new Failed(i, in, InvalidRolloutException.Reason.MODEL_REJECTED, "model " + modelVersion()
                        + " fails on this rollout alone (twice) while the rest of its batch scored: "
                        + refused[k].getMessage(), refused[k]);
                continue;
            }
            try {
                // combine (model heads) -> route (score sources by task) -> shape + flags
                RowStages.RowScore routed = router.route(in, stages.combine(out, k));
                Scored scored = stages.row(i, in, seqs.get(k), routed, s, processRewards(out, k, in, seqs.get(k)));
                s = stages.next(s, scored.shaped());
                rows[i] = scored;
            } catch (InvalidRolloutException e) {
                rows[i] = new Failed(i, in, e.reason(), e.getMessage(), e);
            }
        }
        return new Result(Collections.unmodifiableList(java.util.Arrays.asList(rows)), s, plan, inferenceNanos);
    }

    /** Row k's process rewards per response token, weighted by the route's model weight; null without them. */
    private double[] processRewards(ModelOutput out, int k, ScoringInput in, EncodedSequence seq) {
        if (!out.hasTokenRewards() || out.tokenRewards()[k] == null || in.parts() == null
                || in.parts().responseIds() == null) {
            return null;
        }
        return ProcessRewards.align(out.tokenRewards()[k], seq, in.parts().responseIds().length, router.modelWeight(in));
    }
}
