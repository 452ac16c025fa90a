package io.rewardstream.topology;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.BatchPlan;
import io.rewardstream.scoring.BatchPlanner;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.KlController;
import io.rewardstream.scoring.KlControllerState;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.PlanScorer;
import io.rewardstream.scoring.RewardFlags;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RewardShaper;
import io.rewardstream.scoring.RolloutValidator;
import io.rewardstream.scoring.RunningStats;
import io.rewardstream.scoring.ScoreCombiner;
import io.rewardstream.scoring.SequenceEncoder;
import io.rewardstream.scoring.SequenceEncodingException;
import io.rewardstream.scoring.SequenceParts;
import io.rewardstream.scoring.ShapedReward;
import io.rewardstream.scoring.ShapingConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Processor {@code rollout-batcher}: validates rollouts, buffers them in the change-logged store
 * {@code rollout-buffer} and scores them in micro-batches.
 *
 * <p>On a record: validate ({@link RolloutValidator}, vocabulary of the current model's manifest when its tokenizer
 * is {@code ids}) and trial-encode; a refused rollout is counted ({@code rewardstream.dead.letters{reason}}) and
 * thrown as {@link RejectedRolloutException}, so the KIP-1034 handler dead-letters the ORIGINAL bytes and headers.
 * A valid one is put into the buffer (key rollout_id). Flush when adding it would make the padded tokens exceed
 * {@code batch.max.tokens} (the buffer is flushed first), when {@code batch.max.size} are buffered, or from a
 * WALL_CLOCK_TIME punctuator when the oldest has waited {@code batch.max.delay.ms}.
 *
 * <p>Flush: one {@link ModelHolder} lease for the whole flush (every reward of a flush carries one model_version)
 * -> encode -> {@link BatchPlanner} -> {@link PlanScorer} -> {@link RewardShaper} with the KL-controller state
 * (store {@code kl-controller-state}, one entry per task, key {@value #KL_KEY}) and running score stats (store
 * {@code score-stats}, key = model version) -> one Reward to {@code rewards-sink} and one {@link GroupMember} to
 * {@code group-aggregator} per rollout -> delete from the buffer. All inside the task's transaction. A rollout that
 * fails on its own during a flush (encoding under a swapped model, non-finite score) is dead-lettered through
 * {@code dead-letters-sink}; a failure of the model call keeps the whole batch buffered (retried after
 * {@code batch.max.delay.ms}, counted in {@code rewardstream.model.failures}).
 *
 * <p>The store is the source of truth: the in-memory index (arrival order, token counts) is rebuilt from it in
 * {@link #init}. Not thread-safe: one instance per task, as Kafka Streams uses it. Never owns the model.
 */
final class RolloutBatcher implements Processor<String, Rollout, Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(RolloutBatcher.class);
    /** Key of the single KL-controller entry: beta follows the policy's drift, not the reward model. */
    static final String KL_KEY = "kl";

    private final ScorerConfig config;
    private final ModelHolder holder;
    private final ScorerMetrics metrics;
    private final Serializer<Rollout> deadLetterSerializer;
    private final KlController klController;

    private ProcessorContext<Object, Object> context;
    private KeyValueStore<String, byte[]> buffer;
    private KeyValueStore<String, byte[]> klStore;
    private KeyValueStore<String, byte[]> statsStore;
    private Cancellable punctuator;

    /** rollout_id -> index entry; the store is the truth, this is rebuilt from it. */
    private final Map<String, Pending> index = new HashMap<>();
    private final TreeSet<Pending> byArrival = new TreeSet<>(
            Comparator.comparingLong(Pending::arrivalMs).thenComparing(Pending::rolloutId));
    private int longest;
    private long retryNotBefore;
    private ModelScope scope;

    private record Pending(String rolloutId, long arrivalMs, int tokens) {
    }

    /** Everything derived from one model manifest. */
    private record ModelScope(String modelVersion, ModelManifest manifest, RolloutValidator validator,
                              SequenceEncoder encoder, BatchPlanner planner, RewardShaper shaper,
                              ScoreCombiner combiner) {
    }

    RolloutBatcher(ScorerConfig config, ModelHolder holder, ScorerMetrics metrics,
                   Serializer<Rollout> deadLetterSerializer) {
        this.config = config;
        this.holder = holder;
        this.metrics = metrics;
        this.deadLetterSerializer = deadLetterSerializer;
        this.klController = new KlController(config.shaping());
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.buffer = context.getStateStore(ScorerTopology.ROLLOUT_BUFFER);
        this.klStore = context.getStateStore(ScorerTopology.KL_CONTROLLER_STATE);
        this.statsStore = context.getStateStore(ScorerTopology.SCORE_STATS);
        rebuildIndex();
        long every = Math.max(1, config.batching().maxDelayMs() / 4);
        punctuator = context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    private void rebuildIndex() {
        index.clear();
        byArrival.clear();
        longest = 0;
        int corrupt = 0;
        try (KeyValueIterator<String, byte[]> it = buffer.all()) {
            while (it.hasNext()) {
                var kv = it.next();
                try {
                    BufferedRollout b = BufferedRollout.fromBytes(kv.value);
                    add(new Pending(kv.key, b.arrivalMs(), b.tokens()));
                } catch (IllegalArgumentException e) {
                    // keep it indexed so the next flush dead-letters it instead of losing it silently
                    add(new Pending(kv.key, 0, 1));
                    corrupt++;
                }
            }
        }
        if (!index.isEmpty()) {
            LOG.info("task {}: rebuilt rollout-buffer index with {} buffered rollouts ({} unreadable)",
                    context.taskId(), index.size(), corrupt);
        }
    }

    private void add(Pending p) {
        Pending old = index.put(p.rolloutId(), p);
        if (old != null) {
            byArrival.remove(old);
        }
        byArrival.add(p);
        longest = Math.max(longest, p.tokens());
    }

    private void remove(String rolloutId) {
        Pending p = index.remove(rolloutId);
        if (p != null) {
            byArrival.remove(p);
        }
        if (index.isEmpty()) {
            longest = 0;
        }
    }

    /** Number of rollouts buffered (tests). */
    int buffered() {
        return index.size();
    }

    @Override
    public void process(Record<String, Rollout> record) {
        Rollout rollout = record.value();
        ModelScope s = currentScope();
        int tokens;
        try {
            if (rollout == null) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "record value is null");
            }
            s.validator().validate(rollout);
            tokens = s.encoder().encode(parts(rollout)).length();
        } catch (InvalidRolloutException e) {
            throw reject(e.reason().name(), e.getMessage(), e);
        } catch (SequenceEncodingException e) {
            if (!unsupported(e)) {
                throw reject(e.reason().name(), e.getMessage(), e);
            }
            // the model's tokenizer is not available here: keep the rollout, the flush reports the model failure
            tokens = Math.min(s.manifest().maxSeqLen(),
                    rollout.getPromptTokenIds().size() + rollout.getResponseTokenIds().size());
        }
        long now = context.currentSystemTimeMs();
        String id = rollout.getRolloutId();
        Pending previous = index.get(id);
        if (previous != null) {
            LOG.warn("rollout {} arrived again while buffered; keeping the newer copy", id);
        }
        if (previous == null && !index.isEmpty()) {
            long cost = (long) (index.size() + 1) * s.planner().paddedLength(Math.max(longest, tokens));
            if (cost > config.batching().maxTokens()) {
                flush("tokens");
            }
        }
        RecordMetadata meta = context.recordMetadata().orElse(null);
        BufferedRollout b = new BufferedRollout(previous == null ? now : previous.arrivalMs(), tokens,
                meta == null ? null : meta.topic(), meta == null ? -1 : meta.partition(),
                meta == null ? -1 : meta.offset(), record.key(), record.headers(), avro(rollout));
        buffer.put(id, b.toBytes());
        add(new Pending(id, b.arrivalMs(), tokens));
        if (index.size() >= config.batching().maxSize()) {
            flush("size");
        }
    }

    private RejectedRolloutException reject(String reason, String detail, Throwable cause) {
        metrics.deadLetter(reason);
        return new RejectedRolloutException(reason, detail, cause);
    }

    private void onWallClock(long now) {
        if (!byArrival.isEmpty() && now - byArrival.first().arrivalMs() >= config.batching().maxDelayMs()) {
            flush("delay");
        }
    }

    /** The scope of the current model (re-derived after a swap). */
    private ModelScope currentScope() {
        ModelHolder.Lease lease;
        try {
            lease = holder.acquire();
        } catch (IllegalStateException e) {
            throw new ScorerUnavailableException("no model to validate rollouts against: " + e.getMessage(), e);
        }
        try (lease) {
            RewardModel model = lease.model();
            try {
                return scopeFor(model);
            } catch (IllegalArgumentException e) {
                // e.g. batch.max.tokens below a swapped-in model's max_seq_len: configuration, not the record
                throw new ScorerUnavailableException("model " + model.modelVersion()
                        + " cannot be used with this configuration: " + e.getMessage(), e);
            }
        }
    }

    private ModelScope scopeFor(RewardModel model) {
        ModelManifest m = model.manifest();
        String version = model.modelVersion();
        if (scope == null || !scope.modelVersion().equals(version) || !scope.manifest().equals(m)) {
            // token ids are checked against the model's vocabulary only when the model reads them (tokenizer=ids)
            int vocab = "ids".equals(m.tokenizer()) ? m.vocabSize() : Integer.MAX_VALUE;
            ShapingConfig shaping = config.shaping();
            scope = new ModelScope(version, m, new RolloutValidator(config.limits(vocab)), encoderFor(m),
                    BatchPlanner.forModel(config.batching(), m),
                    new RewardShaper(shaping, shaping.normalization() == ShapingConfig.NormalizationMode.STATIC
                            ? m.normalization() : null),
                    new ScoreCombiner(shaping, m));
        }
        return scope;
    }

    /**
     * The encoder of a model. RewardModel does not expose its directory, so an {@code hf} tokenizer (or a
     * {@code wordpiece} vocabulary) is loaded from
     * {@code model.dir} (the model this app started with); such a model from elsewhere gets an encoder that
     * reports UNSUPPORTED_TOKENIZER, which keeps its rollouts buffered (a service problem, never a dead letter).
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

    private static boolean unsupported(SequenceEncodingException e) {
        return e.reason() == SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER;
    }

    static SequenceParts parts(Rollout r) {
        return new SequenceParts(toInts(r.getPromptTokenIds()), toInts(r.getResponseTokenIds()), r.getPromptText(),
                r.getResponseText());
    }

    private static int[] toInts(List<Integer> ids) {
        if (ids == null) {
            return null;
        }
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            Integer v = ids.get(i);
            if (v == null) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "token id " + i + " is null");
            }
            out[i] = v;
        }
        return out;
    }

    private static byte[] avro(Rollout r) {
        try {
            ByteBuffer bb = r.toByteBuffer();
            byte[] out = new byte[bb.remaining()];
            bb.get(out);
            return out;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private record Item(String id, BufferedRollout buffered, Rollout rollout, EncodedSequence encoded) {
    }

    /** Scores everything buffered. Never throws for one record; a model failure leaves the batch buffered. */
    void flush(String trigger) {
        if (index.isEmpty()) {
            return;
        }
        long now = context.currentSystemTimeMs();
        if (now < retryNotBefore) {
            return;
        }
        ModelHolder.Lease lease;
        try {
            lease = holder.acquire();
        } catch (IllegalStateException e) {
            LOG.warn("no model to score {} buffered rollouts ({}); they stay buffered", index.size(), e.getMessage());
            return;
        }
        try (lease) {
            RewardModel model = lease.model();
            ModelScope s;
            try {
                s = scopeFor(model);
            } catch (RuntimeException e) {
                failBatch(now, "model " + model.modelVersion() + " cannot be used with this configuration", e);
                return;
            }
            List<Item> items = new ArrayList<>(index.size());
            for (Pending p : new ArrayList<>(byArrival)) {
                byte[] raw = buffer.get(p.rolloutId());
                if (raw == null) {
                    remove(p.rolloutId());
                    continue;
                }
                BufferedRollout b;
                Rollout r;
                try {
                    b = BufferedRollout.fromBytes(raw);
                    r = Rollout.fromByteBuffer(ByteBuffer.wrap(b.rolloutAvro()));
                } catch (Exception e) {
                    LOG.error("rollout-buffer entry {} is unreadable; dead-lettering its raw bytes", p.rolloutId(), e);
                    deadLetter(null, p.rolloutId().getBytes(StandardCharsets.UTF_8), raw, "BUFFER_CORRUPT",
                            e.getMessage(), e);
                    drop(p.rolloutId());
                    continue;
                }
                try {
                    items.add(new Item(p.rolloutId(), b, r, s.encoder().encode(parts(r))));
                } catch (SequenceEncodingException e) {
                    if (unsupported(e)) {
                        failBatch(now, "model " + model.modelVersion() + " cannot encode rollouts here", e);
                        return;
                    }
                    deadLetter(b, r, e.reason().name(), e);
                    drop(p.rolloutId());
                } catch (InvalidRolloutException e) {
                    deadLetter(b, r, e.reason().name(), e);
                    drop(p.rolloutId());
                }
            }
            if (items.isEmpty()) {
                return;
            }
            List<EncodedSequence> seqs = new ArrayList<>(items.size());
            items.forEach(i -> seqs.add(i.encoded()));
            ModelOutput out;
            BatchPlan plan;
            long t0 = System.nanoTime();
            try {
                plan = s.planner().plan(seqs);
                out = PlanScorer.score(model, plan);
            } catch (RuntimeException e) {
                failBatch(now, "model " + model.modelVersion() + " failed to score " + items.size() + " rollouts", e);
                return;
            }
            metrics.inference(s.modelVersion(), System.nanoTime() - t0);
            metrics.flush(trigger);
            for (PaddedBatch pb : plan.batches()) {
                metrics.batch(pb.rows(), pb.paddedTokens(), pb.paddingEfficiency());
            }
            emit(s, items, out, now);
        }
    }

    private void failBatch(long now, String what, RuntimeException e) {
        metrics.modelFailure();
        retryNotBefore = now + Math.max(1, config.batching().maxDelayMs());
        LOG.error("{}; keeping {} rollouts buffered, retrying in {} ms", what, index.size(),
                Math.max(1, config.batching().maxDelayMs()), e);
    }

    private void emit(ModelScope s, List<Item> items, ModelOutput out, long now) {
        String version = s.modelVersion();
        byte[] statsBytes = statsStore.get(version);
        RunningStats stats = statsBytes == null ? RunningStats.EMPTY : RunningStats.fromBytes(statsBytes);
        byte[] klBytes = klStore.get(KL_KEY);
        KlControllerState kl = klBytes == null ? klController.initial() : KlControllerState.fromBytes(klBytes);
        ShapingConfig shaping = config.shaping();
        Instant scoredAt = Instant.ofEpochMilli(now);
        double rewardSum = 0;
        double klSum = 0;
        int emitted = 0;
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            Rollout r = it.rollout();
            ShapedReward sh;
            Map<String, Double> heads = null;
            try {
                heads = headScores(s, out, i);
                double score = score(s, out, i, heads);
                sh = s.shaper().shape(score, r, kl.beta(), stats);
            } catch (InvalidRolloutException e) {
                deadLetter(it.buffered(), r, e.reason().name(), e);
                drop(it.id());
                continue;
            }
            stats = sh.runningStats();
            kl = klController.observe(kl, sh);
            List<String> flags = new ArrayList<>(sh.flags());
            if (it.encoded().truncated()) {
                flags.add(RewardFlags.TRUNCATED);
            }
            flags.sort(null);
            Reward reward = Reward.newBuilder()
                    .setRolloutId(r.getRolloutId())
                    .setGroupId(r.getGroupId())
                    .setPolicyVersion(r.getPolicyVersion())
                    .setModelVersion(version)
                    .setScore(sh.score())
                    .setShapedScore(sh.shapedScore())
                    .setKl(sh.klSum())
                    .setKlPerToken(config.emitKlPerToken() ? floats(sh.klPerToken()) : null)
                    .setKlCoef(sh.beta())
                    .setTokenRewards(floats(sh.tokenRewards()))
                    .setReward(sh.reward())
                    .setHeadScores(heads)
                    .setUncertainty(out.hasUncertainty() ? (double) out.uncertainty()[i] : null)
                    .setFlags(flags)
                    .setRolloutCreatedAt(r.getCreatedAt())
                    .setScoredAt(scoredAt)
                    .build();
            context.forward(new Record<>(r.getGroupId(), reward, now), ScorerTopology.REWARDS_SINK);
            double value = shaping.advantageIncludesKl() ? sh.reward() : sh.shapedScore();
            context.forward(new Record<>(r.getGroupId(), new GroupMember(r.getRolloutId(), r.getGroupId(),
                    r.getPolicyVersion(), version, value, r.getGroupSize()), now), ScorerTopology.GROUP_AGGREGATOR);
            metrics.reward(sh.reward(), sh.klSum());
            metrics.queueDelay(now - it.buffered().arrivalMs());
            rewardSum += sh.reward();
            klSum += sh.klSum();
            emitted++;
            drop(it.id());
        }
        statsStore.put(version, stats.toBytes());
        klStore.put(KL_KEY, kl.toBytes());
        if (emitted > 0) {
            metrics.flushMeans(rewardSum / emitted, klSum / emitted);
        }
        LOG.debug("flushed {} rewards with model {}", emitted, version);
    }

    /** Named head scores of row i, or null for a single-head model. */
    private static Map<String, Double> headScores(ModelScope s, ModelOutput out, int i) {
        List<ModelManifest.Head> names = s.manifest().heads();
        if (!out.hasHeads() || names.isEmpty() || out.heads()[i] == null || out.heads()[i].length != names.size()) {
            return null;
        }
        Map<String, Double> m = new LinkedHashMap<>();
        for (int h = 0; h < names.size(); h++) {
            m.put(names.get(h).name(), (double) out.heads()[i][h]);
        }
        return m;
    }

    /**
     * The raw score s of row i: the weighted head sum when the model has named heads (config weights override the
     * manifest's), else its {@code reward}; minus lambda * uncertainty for an ensemble.
     */
    private double score(ModelScope s, ModelOutput out, int i, Map<String, Double> heads) {
        double score = heads != null && !out.hasUncertainty() ? s.combiner().weightedSum(heads) : out.reward()[i];
        if (out.hasUncertainty()) {
            score -= config.shaping().uncertaintyPenalty() * out.uncertainty()[i];
        }
        return score;
    }

    private static List<Float> floats(double[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (double d : v) {
            out.add((float) d);
        }
        return out;
    }

    private void drop(String id) {
        buffer.delete(id);
        remove(id);
    }

    private void deadLetter(BufferedRollout b, Rollout r, String reason, Exception e) {
        byte[] value;
        try {
            value = deadLetterSerializer.serialize(config.rolloutsTopic(), r);
        } catch (RuntimeException se) {
            LOG.warn("cannot re-serialize rollout {} for the dead-letter topic; using its buffered Avro bytes",
                    r.getRolloutId(), se);
            value = b.rolloutAvro();
        }
        deadLetter(b, b.key() == null ? null : b.key().getBytes(StandardCharsets.UTF_8), value, reason, e.getMessage(), e);
    }

    private void deadLetter(BufferedRollout b, byte[] key, byte[] value, String reason, String detail, Exception e) {
        ProducerRecord<byte[], byte[]> dl = DeadLetters.deadLetter(config.deadLettersTopic(),
                b == null ? null : b.sourceTopic(), b == null ? -1 : b.partition(), b == null ? -1 : b.offset(),
                key, value, b == null ? null : b.headers(), reason, detail, e);
        metrics.deadLetter(reason);
        LOG.warn("dead-lettering rollout (reason {}): {}", reason, detail);
        context.forward(new Record<>(dl.key(), dl.value(), context.currentSystemTimeMs(), dl.headers()),
                ScorerTopology.DEAD_LETTERS_SINK);
    }

    @Override
    public void close() {
        if (punctuator != null) {
            punctuator.cancel();
        }
    }

    /** The current KL state of this task (tests). */
    Optional<KlControllerState> klState() {
        byte[] b = klStore.get(KL_KEY);
        return b == null ? Optional.empty() : Optional.of(KlControllerState.fromBytes(b));
    }
}
