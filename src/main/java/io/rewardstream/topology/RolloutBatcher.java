package io.rewardstream.topology;

import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.BatchNotScoredException;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RejectReason;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.SequenceEncodingException;
import io.rewardstream.scoring.ShapingState;
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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Processor {@code rollout-batcher}: validates rollouts, buffers them in the change-logged store
 * {@code rollout-buffer} and scores them in micro-batches with the {@link ScoringPipeline} of the current model.
 *
 * <p>On a record: validate (the pipeline's validator: vocabulary of the current model when its tokenizer is
 * {@code ids}) and trial-encode; a refused rollout is counted ({@code rewardstream.dead.letters{reason}}) and
 * thrown as {@link RejectedRolloutException}, so the KIP-1034 handler dead-letters the ORIGINAL bytes and headers.
 * A valid one is put into the buffer (key rollout_id). Flush when adding it would make the padded tokens exceed
 * {@code batch.max.tokens} (the buffer is flushed first), when {@code batch.max.size} are buffered, or from a
 * WALL_CLOCK_TIME punctuator when the oldest has waited {@code batch.max.delay.ms}, or (work-conserving) when no
 * rollout has arrived in ANY task of this topology for {@code batch.idle.flush.ms} while no flush of it is scoring
 * ({@link FlushActivity}): the end of a burst is not held back while the model idles (and its commit is requested
 * at once). The buffer holds the record's
 * ORIGINAL value bytes ({@link ReceivedRollout}): nothing is re-serialized, and a flush-time dead letter is
 * byte-identical to what the trainer produced. A rollout whose rollout_id this task rewarded within
 * {@code dedupe.window.ms} is not buffered again ({@link RewardedIds}; counted in {@code rewardstream.duplicates}).
 *
 * <p>Flush: one {@link ModelHolder} lease for the whole flush (every reward of a flush carries one model_version)
 * -> {@link ScoringPipeline#score} with ONE beta for the whole flush and the running score stats (store
 * {@code score-stats}, key = model version) -> one Reward to {@code rewards-sink} per scored row, one {@link GroupMember.Batch} to
 * {@code group-aggregator} per group (rollouts without group_size skip the group stage) -> delete from the buffer -> one
 * {@code rewarded-ids} entry for the flush; under the adaptive KL controller one
 * KlObservation (rewards, KL sum) to {@code kl-observations-sink}. All inside the task's transaction (with
 * {@code chaos.flush.pause.before.commit.ms} the thread then sleeps before the commit: crash tests only). Beta:
 * {@link FlushBeta} (fixed, or the shared controller's newest, see {@link KlControllerProcessor}). A row the
 * pipeline refuses is dead-lettered through
 * {@code dead-letters-sink}; a {@link BatchNotScoredException} keeps the whole batch buffered (retried after
 * {@code batch.max.delay.ms}, counted in {@code rewardstream.model.failures}).
 *
 * <p>The buffer and its index are {@link RolloutBuffer}; what a flush writes is {@link FlushOutputs}; this class reads
 * top-down: arrival ({@link #process}), triggers ({@link #onWallClock}), flush ({@link #flush}).
 *
 * <p>Not thread-safe: one instance per task, as Kafka Streams uses it. Never owns the model.
 */
final class RolloutBatcher implements Processor<String, ReceivedRollout, Object, Object> {
    private static final Logger LOG = LoggerFactory.getLogger(RolloutBatcher.class);

    private final ScorerConfig config;
    private final ModelHolder holder;
    private final ScorerMetrics metrics;
    private final Deserializer<Rollout> bufferDeserializer;
    private final PipelineCache pipelines;
    private final DeliveryConfig delivery;
    private final FlushBeta beta;
    private final FlushOutputs outputs;
    private final FlushActivity activity;

    private ProcessorContext<Object, Object> context;
    private RolloutBuffer buffer;
    private RewardedIds rewarded;
    private Cancellable punctuator;
    private long retryNotBefore;
    private long lastArrivalMs;

    /**
     * @param deadLetterSerializer re-serializes rollouts buffered by an older version (format 1) for dead letters
     * @param bufferDeserializer   decodes buffered original bytes after a restart (registry-aware)
     * @param kl                   how beta is controlled (fixed, or the shared adaptive controller)
     * @param activity             the topology's flushes that are scoring and its last arrival (shared by every
     *                             task's batcher)
     */
    RolloutBatcher(ScorerConfig config, ModelHolder holder, ScorerMetrics metrics,
                   Serializer<Rollout> deadLetterSerializer, Deserializer<Rollout> bufferDeserializer,
                   KlControlConfig kl, Deserializer<KlCoefficient> coefficientDeserializer, FlushActivity activity) {
        this.activity = activity;
        this.config = config;
        this.holder = holder;
        this.metrics = metrics;
        this.bufferDeserializer = bufferDeserializer;
        this.delivery = config.delivery();
        this.beta = new FlushBeta(config, kl, coefficientDeserializer);
        this.outputs = new FlushOutputs(config, metrics, beta, deadLetterSerializer);
        // a shared controller sets beta between flushes; inside the pipeline it is fixed for the flush
        this.pipelines = new PipelineCache(config, kl.shared());
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.buffer = new RolloutBuffer(context.getStateStore(ScorerTopology.ROLLOUT_BUFFER), bufferDeserializer,
                config.rolloutsTopic());
        beta.init(context);
        if (delivery.dedupe()) {
            this.rewarded = new RewardedIds(context.getStateStore(ScorerTopology.REWARDED_IDS),
                    delivery.dedupeWindowMs(), context.currentSystemTimeMs());
        }
        outputs.init(context, buffer, rewarded);
        int corrupt = buffer.rebuild();
        if (!buffer.isEmpty()) {
            LOG.info("task {}: rebuilt rollout-buffer index with {} buffered rollouts ({} unreadable)",
                    context.taskId(), buffer.size(), corrupt);
        }
        long idle = config.batching().idleFlushMs();
        long every = Math.max(1, Math.min(config.batching().maxDelayMs() / 4, idle > 0 ? idle / 2 : Long.MAX_VALUE));
        lastArrivalMs = context.currentSystemTimeMs();   // a rebuilt buffer counts as just arrived
        punctuator = context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    /** Number of rollouts buffered (tests). */
    int buffered() {
        return buffer.size();
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
        BufferIndex.Pending previous = buffer.get(id);
        if (previous != null) {
            LOG.warn("rollout {} arrived again while buffered; keeping the newer copy", id);
        }
        if (previous == null && !buffer.isEmpty()) {
            long cost = (long) (buffer.size() + 1) * p.planner().paddedLength(Math.max(buffer.longest(), tokens));
            if (cost > config.batching().maxTokens()) {
                flush("tokens");
            }
        }
        RecordMetadata meta = context.recordMetadata().orElse(null);
        BufferedRollout b = new BufferedRollout(previous == null ? now : previous.arrivalMs(), tokens,
                meta == null ? null : meta.topic(), meta == null ? -1 : meta.partition(),
                meta == null ? -1 : meta.offset(), record.key(), record.headers(), record.value().raw(), true);
        buffer.put(id, b, rollout);
        lastArrivalMs = now;
        activity.arrived(now);
        if (buffer.size() >= config.batching().maxSize()) {
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
        if (buffer.isEmpty()) {
            return;
        }
        if (now - buffer.oldestArrivalMs() >= config.batching().maxDelayMs()) {
            flush("delay");
        } else if (config.batching().idleFlushMs() > 0 && now - lastArrivalMs >= config.batching().idleFlushMs()
                && activity.quietForMs(now) >= config.batching().idleFlushMs() && activity.idle()) {
            flush("idle");
            // the end of a burst: ask for the commit now, so read_committed trainers see these rewards without
            // waiting out commit.interval.ms (under load, size-triggered flushes and the interval govern commits)
            context.commit();
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

    /** Scores everything buffered. Never throws for one record; a model failure leaves the batch buffered. */
    void flush(String trigger) {
        if (buffer.isEmpty()) {
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
            LOG.warn("no model to score {} buffered rollouts ({}); they stay buffered", buffer.size(), e.getMessage());
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
            List<RolloutBuffer.Item> items = new ArrayList<>(buffer.size());
            List<ScoringInput> inputs = new ArrayList<>(buffer.size());
            for (BufferIndex.Pending pending : buffer.inArrivalOrder()) {
                try {
                    RolloutBuffer.Item item = buffer.read(pending);
                    if (item == null) {
                        continue;
                    }
                    try {
                        inputs.add(ScoringInput.of(item.rollout()));
                        items.add(item);
                    } catch (InvalidRolloutException e) {
                        outputs.deadLetter(item, e.reason(), e);
                    }
                } catch (RolloutBuffer.UnreadableEntryException e) {
                    outputs.deadLetterUnreadable(e);
                }
            }
            if (items.isEmpty()) {
                return;
            }
            String version = p.modelVersion();
            ScoringPipeline.Result result;
            ShapingState before = outputs.loadState(p);
            activity.begin();
            try {
                result = p.score(inputs, before);
            } catch (BatchNotScoredException e) {
                failBatch(now, e.getMessage(), e);
                return;
            } finally {
                activity.end();
            }
            metrics.inference(version, result.inferenceNanos());
            metrics.flush(trigger);
            if (result.plan() != null) {
                for (PaddedBatch pb : result.plan().batches()) {
                    metrics.batch(pb.rows(), pb.paddedTokens(), pb.paddingEfficiency());
                }
            }
            outputs.emit(version, items, result, before, now);
        }
    }

    private void failBatch(long now, String what, RuntimeException e) {
        metrics.modelFailure();
        retryNotBefore = now + Math.max(1, config.batching().maxDelayMs());
        LOG.error("{}; keeping {} rollouts buffered, retrying in {} ms", what, buffer.size(),
                Math.max(1, config.batching().maxDelayMs()), e);
    }

    @Override
    public void close() {
        if (punctuator != null) {
            punctuator.cancel();
        }
    }
}
