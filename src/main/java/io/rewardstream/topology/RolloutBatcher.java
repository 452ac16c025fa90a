package io.rewardstream.topology;

import io.rewardstream.avro.KlCoefficient;
import io.rewardstream.avro.Rollout;
import io.rewardstream.scoring.BatchNotScoredException;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.RejectReason;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.SequenceEncodingException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

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
 * once its rewards are written). The buffer holds the record's
 * ORIGINAL value bytes ({@link ReceivedRollout}): nothing is re-serialized, and a flush-time dead letter is
 * byte-identical to what the trainer produced. A rollout whose rollout_id this task rewarded within
 * {@code dedupe.window.ms} is not buffered again ({@link RewardedIds}; counted in {@code rewardstream.duplicates}).
 *
 * <p>Flush ({@link BatchFlusher}): one {@link ModelHolder} lease for the whole flush (every reward of a flush carries
 * one model_version) -> {@link ScoringPipeline#score} with ONE beta for the whole flush ({@link FlushBeta}: fixed, or
 * the shared controller's newest, see {@link KlControllerProcessor}) and the running score stats (store
 * {@code score-stats}, key = model version) -> its outputs ({@link FlushOutputs}: rewards, one group hand-over per
 * group, dead letters for refused rows, the flush's {@code rewarded-ids} entry, KL observations), all inside the
 * task's transaction. With {@code batch.flush.overlap} (default) a flush scores on a helper thread
 * ({@link InFlightFlush}) while this thread keeps buffering; its rollouts stay in the store until the outputs are
 * written, when the call is done (checked on every record and tick) and at the latest before the task's next flush.
 * A batch that fills while the task's flush is still on the model keeps filling, up to 1.5 batches (then the thread
 * waits), and goes to the model once that flush's outputs are written: the thread does not block its other tasks on
 * the model. The commit of a burst's end is requested once its outputs are written. An idle flush does not count as
 * the model being busy for the other tasks: the end of a burst goes to the model at once. A failed call
 * ({@link BatchNotScoredException} or any other exception of the pipeline) keeps the whole batch buffered (retried
 * after {@code batch.max.delay.ms}, counted in {@code rewardstream.model.failures}); a rollout the model fails on
 * alone while the rest of its batch scores is dead-lettered {@code MODEL_REJECTED} by the pipeline's isolation.
 *
 * <p>The buffer and its index are {@link RolloutBuffer}; this class reads top-down: arrival ({@link #process}),
 * triggers ({@link #onWallClock}).
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
    private final BatchFlusher flusher;

    private ProcessorContext<Object, Object> context;
    private RolloutBuffer buffer;
    private RewardedIds rewarded;
    private Cancellable punctuator;
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
        this.flusher = new BatchFlusher(config, holder, metrics, pipelines, outputs, activity);
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
        flusher.init(context, buffer);
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

    /** Whether this task's flush in flight is still scoring (tests). */
    boolean scoringInFlight() {
        return flusher.scoring();
    }

    /** Number of rollouts buffered for the next batch (tests). */
    int buffered() {
        return buffer.size();
    }

    @Override
    public void process(Record<String, ReceivedRollout> record) {
        Rollout rollout = record.value() == null ? null : record.value().rollout();
        // a copy of this rollout is scoring right now: wait for its reward, so the dedupe window sees it
        flusher.finishPending(rollout != null && flusher.holds(rollout.getRolloutId()));
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
        ScoringPipeline p;
        int tokens;
        // the lease is held while the model's encoder runs: a swap meanwhile cannot close the model (and with it
        // a native tokenizer) under this encode
        try (ModelHolder.Lease lease = acquire()) {
            p = pipelineOf(lease.model());
            tokens = validateAndEncode(p, rollout);
        }
        String id = rollout.getRolloutId();
        BufferIndex.Pending previous = buffer.get(id);
        if (previous != null) {
            LOG.warn("rollout {} arrived again while buffered; keeping the newer copy", id);
        }
        if (previous == null && !buffer.isEmpty()) {
            long cost = (long) (buffer.size() + 1) * p.planner().paddedLength(Math.max(buffer.longest(), tokens));
            if (cost > config.batching().maxTokens() && !fillingBehindOwnFlush()) {
                flusher.flush("tokens", delivery.overlap());
            }
        }
        RecordMetadata meta = context.recordMetadata().orElse(null);
        BufferedRollout b = new BufferedRollout(previous == null ? now : previous.arrivalMs(), tokens,
                meta == null ? null : meta.topic(), meta == null ? -1 : meta.partition(),
                meta == null ? -1 : meta.offset(), record.key(), record.headers(), record.value().raw(), true);
        buffer.put(id, b, rollout);
        lastArrivalMs = now;
        activity.arrived(now);
        if (buffer.size() >= config.batching().maxSize() && !fillingBehindOwnFlush()) {
            flusher.flush("size", delivery.overlap());
        }
    }

    /**
     * Whether a full batch may keep filling instead of flushing now: its task's own flush is still on the model and
     * the buffer holds less than one and a half batches. Starting the flush would block the stream thread until the
     * model is done, and with it every other task of the thread, whose batches would then reach the model late (the
     * device idles between calls). Past one and a half batches the thread waits: every buffered rollout that a commit
     * meets costs a changelog put and a tombstone, while one still in its topic costs nothing (two batches: device
     * 0.94-0.96 but {@code records_per_rollout} up to 3.0 with the CPU model). The planner splits the larger flush
     * into calls of at most {@code batch.max.size}.
     */
    private boolean fillingBehindOwnFlush() {
        return delivery.overlap() && flusher.scoring() && buffer.size() < BatchFlusher.maxRollouts(config);
    }

    /**
     * Validates {@code rollout} and trial-encodes it with the model's encoder: its encoded length in tokens.
     *
     * @throws RejectedRolloutException when the rollout is refused (counted; dead-lettered by the handler)
     */
    private int validateAndEncode(ScoringPipeline p, Rollout rollout) {
        try {
            if (rollout == null) {
                throw new InvalidRolloutException(InvalidRolloutException.Reason.MISSING_FIELD, "record value is null");
            }
            p.validator().validate(rollout);
            return p.encode(ScoringInput.partsOf(rollout)).length();
        } catch (InvalidRolloutException e) {
            throw reject(e.reason(), e.getMessage(), e);
        } catch (SequenceEncodingException e) {
            if (e.reason() != SequenceEncodingException.Reason.UNSUPPORTED_TOKENIZER) {
                throw reject(e.reason(), e.getMessage(), e);
            }
            // the model's tokenizer is not available here: keep the rollout, the flush reports the model failure
            return Math.min(p.manifest().maxSeqLen(),
                    rollout.getPromptTokenIds().size() + rollout.getResponseTokenIds().size());
        }
    }

    private RejectedRolloutException reject(RejectReason reason, String detail, Throwable cause) {
        metrics.deadLetter(reason.name());
        return new RejectedRolloutException(reason, detail, cause);
    }

    private void onWallClock(long now) {
        boolean finished = flusher.finishPending(false);
        if (rewarded != null) {
            rewarded.expire(now);
        }
        long idle = config.batching().idleFlushMs();
        boolean quiet = idle > 0 && now - lastArrivalMs >= idle && activity.quietForMs(now) >= idle;
        if (buffer.isEmpty()) {
            if (finished && quiet) {
                context.commit();   // the end of a burst, now written: commit it at once
            }
            return;
        }
        if (flusher.scoring()) {
            return;   // this task's flush is still on the model: the next tick (it would block the thread here)
        }
        if (buffer.size() >= config.batching().maxSize()) {
            flusher.flush("size", delivery.overlap());   // a full batch that filled behind the flush now written
        } else if (now - buffer.oldestArrivalMs() >= config.batching().maxDelayMs()) {
            flusher.flush("delay", delivery.overlap());
        } else if (quiet && activity.idle()) {
            flusher.flush(BatchFlusher.IDLE, delivery.overlap());
            if (!delivery.overlap()) {
                // the end of a burst: ask for the commit now, so read_committed trainers see these rewards without
                // waiting out commit.interval.ms (overlapped: once they are written, above)
                context.commit();
            }
        }
    }

    /** A lease on the current model. @throws ScorerUnavailableException when none is installed yet */
    private ModelHolder.Lease acquire() {
        try {
            return holder.acquire();
        } catch (IllegalStateException e) {
            throw new ScorerUnavailableException("no model to validate rollouts against: " + e.getMessage(), e);
        }
    }

    /** The pipeline of {@code model} (rebuilt after a swap). */
    private ScoringPipeline pipelineOf(RewardModel model) {
        try {
            return pipelines.forModel(model);
        } catch (IllegalArgumentException e) {
            // e.g. batch.max.tokens below a swapped-in model's max_seq_len: configuration, not the record
            throw new ScorerUnavailableException("model " + model.modelVersion()
                    + " cannot be used with this configuration: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (punctuator != null) {
            punctuator.cancel();
        }
        flusher.discard();
    }
}
