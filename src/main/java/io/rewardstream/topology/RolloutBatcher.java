package io.rewardstream.topology;

import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.BatchNotScoredException;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.KlControllerState;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RejectReason;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RunningStats;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.SequenceEncodingException;
import io.rewardstream.scoring.ShapingState;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Processor {@code rollout-batcher}: validates rollouts, buffers them in the change-logged store
 * {@code rollout-buffer} and scores them in micro-batches with the {@link ScoringPipeline} of the current model.
 *
 * <p>On a record: validate (the pipeline's validator: vocabulary of the current model when its tokenizer is
 * {@code ids}) and trial-encode; a refused rollout is counted ({@code rewardstream.dead.letters{reason}}) and
 * thrown as {@link RejectedRolloutException}, so the KIP-1034 handler dead-letters the ORIGINAL bytes and headers.
 * A valid one is put into the buffer (key rollout_id). Flush when adding it would make the padded tokens exceed
 * {@code batch.max.tokens} (the buffer is flushed first), when {@code batch.max.size} are buffered, or from a
 * WALL_CLOCK_TIME punctuator when the oldest has waited {@code batch.max.delay.ms}. The buffer holds the record's
 * ORIGINAL value bytes ({@link ReceivedRollout}): nothing is re-serialized, and a flush-time dead letter is
 * byte-identical to what the trainer produced. A rollout whose rollout_id this task rewarded within
 * {@code dedupe.window.ms} is not buffered again ({@link RewardedIds}; counted in {@code rewardstream.duplicates}).
 *
 * <p>Flush: one {@link ModelHolder} lease for the whole flush (every reward of a flush carries one model_version)
 * -> {@link ScoringPipeline#score} with the KL-controller state (store {@code kl-controller-state}, key
 * {@value #KL_KEY}) and running score stats (store {@code score-stats}, key = model version) -> one Reward to
 * {@code rewards-sink} per scored row, one {@link GroupMember.Batch} per group to {@code group-aggregator} (rollouts
 * without group_size skip the group stage) -> delete from the buffer -> one {@code rewarded-ids} entry for the
 * flush. All inside the task's transaction (with {@code chaos.flush.pause.before.commit.ms} the thread then sleeps
 * before the commit: crash tests only). A row the pipeline refuses is dead-lettered through
 * {@code dead-letters-sink}; a {@link BatchNotScoredException} keeps the whole batch buffered (retried after
 * {@code batch.max.delay.ms}, counted in {@code rewardstream.model.failures}).
 *
 * <p>Not thread-safe: one instance per task, as Kafka Streams uses it. Never owns the model.
 */
final class RolloutBatcher implements Processor<String, ReceivedRollout, Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(RolloutBatcher.class);
    /** Key of the single KL-controller entry: beta follows the policy's drift, not the reward model. */
    static final String KL_KEY = "kl";

    private final ScorerConfig config;
    private final ModelHolder holder;
    private final ScorerMetrics metrics;
    private final Serializer<Rollout> deadLetterSerializer;
    private final Deserializer<Rollout> bufferDeserializer;
    private final PipelineCache pipelines;
    private final DeliveryConfig delivery;

    private ProcessorContext<Object, Object> context;
    private KeyValueStore<String, byte[]> buffer;
    private KeyValueStore<String, byte[]> klStore;
    private KeyValueStore<String, byte[]> statsStore;
    private RewardedIds rewarded;
    private Cancellable punctuator;
    private final BufferIndex index = new BufferIndex();
    private long retryNotBefore;

    /**
     * @param deadLetterSerializer re-serializes rollouts buffered by an older version (format 1) for dead letters
     * @param bufferDeserializer   decodes buffered original bytes after a restart (registry-aware)
     */
    RolloutBatcher(ScorerConfig config, ModelHolder holder, ScorerMetrics metrics,
                   Serializer<Rollout> deadLetterSerializer, Deserializer<Rollout> bufferDeserializer) {
        this.config = config;
        this.holder = holder;
        this.metrics = metrics;
        this.deadLetterSerializer = deadLetterSerializer;
        this.bufferDeserializer = bufferDeserializer;
        this.pipelines = new PipelineCache(config);
        this.delivery = config.delivery();
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.buffer = context.getStateStore(ScorerTopology.ROLLOUT_BUFFER);
        this.klStore = context.getStateStore(ScorerTopology.KL_CONTROLLER_STATE);
        this.statsStore = context.getStateStore(ScorerTopology.SCORE_STATS);
        if (delivery.dedupe()) {
            this.rewarded = new RewardedIds(context.getStateStore(ScorerTopology.REWARDED_IDS),
                    delivery.dedupeWindowMs(), context.currentSystemTimeMs());
        }
        rebuildIndex();
        long every = Math.max(1, config.batching().maxDelayMs() / 4);
        punctuator = context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    private void rebuildIndex() {
        int corrupt = index.rebuild(buffer);
        if (!index.isEmpty()) {
            LOG.info("task {}: rebuilt rollout-buffer index with {} buffered rollouts ({} unreadable)",
                    context.taskId(), index.size(), corrupt);
        }
    }

    /** Number of rollouts buffered (tests). */
    int buffered() {
        return index.size();
    }

    @Override
    public void process(Record<String, ReceivedRollout> record) {
        Rollout rollout = record.value() == null ? null : record.value().rollout();
        long now = context.currentSystemTimeMs();
        if (rollout != null && rewarded != null && rollout.getRolloutId() != null) {
            Long at = rewarded.rewardedAt(rollout.getRolloutId(), now);
            if (at != null) {
                metrics.duplicate();
                LOG.warn("rollout {} was already rewarded {} ms ago (within {}={}); not rewarding it again",
                        rollout.getRolloutId(), now - at, DeliveryConfig.DEDUPE_WINDOW_MS, delivery.dedupeWindowMs());
                return;
            }
        }
        ScoringPipeline p = currentPipeline();
        int tokens;
        try {
            if (rollout == null) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "record value is null");
            }
            p.validator().validate(rollout);
            tokens = p.encode(ScoringInput.partsOf(rollout)).length();
        } catch (InvalidRolloutException e) {
            throw reject(e.reason(), e.getMessage(), e);
        } catch (SequenceEncodingException e) {
            if (e.reason() != SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER) {
                throw reject(e.reason(), e.getMessage(), e);
            }
            // the model's tokenizer is not available here: keep the rollout, the flush reports the model failure
            tokens = Math.min(p.manifest().maxSeqLen(),
                    rollout.getPromptTokenIds().size() + rollout.getResponseTokenIds().size());
        }
        String id = rollout.getRolloutId();
        BufferIndex.Pending previous = index.get(id);
        if (previous != null) {
            LOG.warn("rollout {} arrived again while buffered; keeping the newer copy", id);
        }
        if (previous == null && !index.isEmpty()) {
            long cost = (long) (index.size() + 1) * p.planner().paddedLength(Math.max(index.longest(), tokens));
            if (cost > config.batching().maxTokens()) {
                flush("tokens");
            }
        }
        RecordMetadata meta = context.recordMetadata().orElse(null);
        BufferedRollout b = new BufferedRollout(previous == null ? now : previous.arrivalMs(), tokens,
                meta == null ? null : meta.topic(), meta == null ? -1 : meta.partition(),
                meta == null ? -1 : meta.offset(), record.key(), record.headers(), record.value().raw(), true);
        buffer.put(id, b.toBytes());
        index.add(new BufferIndex.Pending(id, b.arrivalMs(), tokens, b, rollout));
        if (index.size() >= config.batching().maxSize()) {
            flush("size");
        }
    }

    private RejectedRolloutException reject(RejectReason reason, String detail, Throwable cause) {
        metrics.deadLetter(reason.name());
        return new RejectedRolloutException(reason, detail, cause);
    }

    private void onWallClock(long now) {
        if (rewarded != null) {
            rewarded.expire(now);
        }
        if (!index.isEmpty() && now - index.oldestArrivalMs() >= config.batching().maxDelayMs()) {
            flush("delay");
        }
    }

    /** The pipeline of the current model (rebuilt after a swap). */
    private ScoringPipeline currentPipeline() {
        ModelHolder.Lease lease;
        try {
            lease = holder.acquire();
        } catch (IllegalStateException e) {
            throw new ScorerUnavailableException("no model to validate rollouts against: " + e.getMessage(), e);
        }
        try (lease) {
            RewardModel model = lease.model();
            try {
                return pipelines.forModel(model);
            } catch (IllegalArgumentException e) {
                // e.g. batch.max.tokens below a swapped-in model's max_seq_len: configuration, not the record
                throw new ScorerUnavailableException("model " + model.modelVersion()
                        + " cannot be used with this configuration: " + e.getMessage(), e);
            }
        }
    }

    /** A buffered rollout read back for a flush. */
    private record Item(String id, BufferedRollout buffered, Rollout rollout) {
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
            ScoringPipeline p;
            try {
                p = pipelines.forModel(model);
            } catch (RuntimeException e) {
                failBatch(now, "model " + model.modelVersion() + " cannot be used with this configuration", e);
                return;
            }
            List<Item> items = new ArrayList<>(index.size());
            List<ScoringInput> inputs = new ArrayList<>(index.size());
            for (BufferIndex.Pending pending : index.inArrivalOrder()) {
                Item item = read(pending);
                if (item == null) {
                    continue;
                }
                try {
                    inputs.add(ScoringInput.of(item.rollout()));
                    items.add(item);
                } catch (InvalidRolloutException e) {
                    deadLetter(item, e.reason(), e);
                }
            }
            if (items.isEmpty()) {
                return;
            }
            String version = p.modelVersion();
            ScoringPipeline.Result result;
            try {
                result = p.score(inputs, loadState(p));
            } catch (BatchNotScoredException e) {
                failBatch(now, e.getMessage(), e);
                return;
            }
            metrics.inference(version, result.inferenceNanos());
            metrics.flush(trigger);
            if (result.plan() != null) {
                for (PaddedBatch pb : result.plan().batches()) {
                    metrics.batch(pb.rows(), pb.paddedTokens(), pb.paddingEfficiency());
                }
            }
            emit(version, items, result, now);
        }
    }

    /**
     * The buffered entry (from the index; decoded from the store only after a restart), or null when it is unreadable:
     * then it is dead-lettered as raw bytes.
     */
    private Item read(BufferIndex.Pending pending) {
        String id = pending.rolloutId();
        if (pending.buffered() != null && pending.rollout() != null) {
            return new Item(id, pending.buffered(), pending.rollout());
        }
        byte[] raw = buffer.get(id);
        if (raw == null) {
            index.remove(id);
            return null;
        }
        try {
            BufferedRollout b = BufferedRollout.fromBytes(raw);
            Rollout r = b.original()
                    ? bufferDeserializer.deserialize(b.sourceTopic() == null ? config.rolloutsTopic() : b.sourceTopic(),
                    b.value())
                    : Rollout.fromByteBuffer(ByteBuffer.wrap(b.value()));
            if (r == null) {
                throw new IllegalArgumentException("buffered value decodes to null");
            }
            return new Item(id, b, r);
        } catch (Exception e) {
            LOG.error("rollout-buffer entry {} is unreadable; dead-lettering its raw bytes", id, e);
            deadLetter(null, id.getBytes(StandardCharsets.UTF_8), raw, ScorerRejectReason.BUFFER_CORRUPT, e.getMessage(), e);
            drop(id);
            return null;
        }
    }

    private ShapingState loadState(ScoringPipeline p) {
        byte[] statsBytes = statsStore.get(p.modelVersion());
        byte[] klBytes = klStore.get(KL_KEY);
        return new ShapingState(klBytes == null ? p.klController().initial() : KlControllerState.fromBytes(klBytes),
                statsBytes == null ? RunningStats.EMPTY : RunningStats.fromBytes(statsBytes));
    }

    private void failBatch(long now, String what, RuntimeException e) {
        metrics.modelFailure();
        retryNotBefore = now + Math.max(1, config.batching().maxDelayMs());
        LOG.error("{}; keeping {} rollouts buffered, retrying in {} ms", what, index.size(),
                Math.max(1, config.batching().maxDelayMs()), e);
    }

    private void emit(String version, List<Item> items, ScoringPipeline.Result result, long now) {
        Instant scoredAt = Instant.ofEpochMilli(now);
        boolean withKl = config.shaping().advantageIncludesKl();
        double rewardSum = 0;
        double klSum = 0;
        int emitted = 0;
        List<String> ids = new ArrayList<>(result.rows().size());
        Map<String, List<GroupMember>> groups = new LinkedHashMap<>();
        for (ScoringPipeline.Row row : result.rows()) {
            Item it = items.get(row.index());
            if (row instanceof ScoringPipeline.Failed f) {
                deadLetter(it, f.reason(), f.cause());
                continue;
            }
            ScoringPipeline.Scored s = (ScoringPipeline.Scored) row;
            Rollout r = it.rollout();
            context.forward(new Record<>(r.getGroupId(),
                    RewardRecords.reward(r, s, version, config.emitKlPerToken(), scoredAt), now),
                    ScorerTopology.REWARDS_SINK);
            if (r.getGroupSize() != null) {   // not part of a group: no group stage
                double value = withKl ? s.shaped().reward() : s.shaped().shapedScore();
                groups.computeIfAbsent(r.getGroupId(), g -> new ArrayList<>()).add(new GroupMember(r.getRolloutId(),
                        r.getGroupId(), r.getPolicyVersion(), version, value, r.getGroupSize()));
            }
            ids.add(r.getRolloutId());
            metrics.reward(s.shaped().reward(), s.shaped().klSum());
            metrics.queueDelay(now - it.buffered().arrivalMs());
            rewardSum += s.shaped().reward();
            klSum += s.shaped().klSum();
            emitted++;
            drop(it.id());
        }
        // one hand-over per group: a group completed within this flush is never written to group-members
        groups.forEach((g, members) -> context.forward(new Record<>(g, new GroupMember.Batch(g, members), now),
                ScorerTopology.GROUP_AGGREGATOR));
        statsStore.put(version, result.state().stats().toBytes());
        klStore.put(KL_KEY, result.state().kl().toBytes());
        if (rewarded != null) {
            rewarded.record(ids, now);
        }
        if (emitted > 0) {
            metrics.flushMeans(rewardSum / emitted, klSum / emitted);
        }
        LOG.debug("flushed {} rewards with model {}", emitted, version);
        if (delivery.chaosPauseMs() > 0 && emitted > 0) {
            chaosPause(emitted);
        }
    }

    /** Chaos knob (tests only): the flush's records are sent, its transaction is not committed yet. */
    private void chaosPause(int emitted) {
        LOG.warn("chaos: flush of {} rewards sent, pausing {} ms before its commit ({})", emitted,
                delivery.chaosPauseMs(), DeliveryConfig.CHAOS_PAUSE_MS);
        try {
            Thread.sleep(delivery.chaosPauseMs());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void drop(String id) {
        buffer.delete(id);
        index.remove(id);
    }

    /** Dead-letters a buffered rollout that failed during a flush, and drops it from the buffer. */
    private void deadLetter(Item it, RejectReason reason, Exception e) {
        BufferedRollout b = it.buffered();
        Rollout r = it.rollout();
        byte[] value = b.value();   // the producer's bytes, unchanged
        if (!b.original()) {
            try {   // buffered by an older version as single-object Avro: re-serialize to the wire format
                value = deadLetterSerializer.serialize(config.rolloutsTopic(), r);
            } catch (RuntimeException se) {
                LOG.warn("cannot re-serialize rollout {} for the dead-letter topic; using its buffered Avro bytes",
                        r.getRolloutId(), se);
            }
        }
        deadLetter(b, b.key() == null ? null : b.key().getBytes(StandardCharsets.UTF_8), value, reason, e.getMessage(), e);
        drop(it.id());
    }

    private void deadLetter(BufferedRollout b, byte[] key, byte[] value, RejectReason reason, String detail,
                            Exception e) {
        ProducerRecord<byte[], byte[]> dl = DeadLetters.deadLetter(config.deadLettersTopic(),
                b == null ? null : b.sourceTopic(), b == null ? -1 : b.partition(), b == null ? -1 : b.offset(),
                key, value, b == null ? null : b.headers(), reason.name(), detail, e);
        metrics.deadLetter(reason.name());
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
