package io.rewardstream.topology;

import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.DeadLetters;
import io.rewardstream.scoring.KlControllerState;
import io.rewardstream.scoring.RejectReason;
import io.rewardstream.scoring.RewardFlags;
import io.rewardstream.scoring.RunningStats;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapingState;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the rollout-batcher writes for a scored flush, all inside the task's transaction: one Reward per scored row to
 * {@code rewards-sink}, one {@link GroupMember.Batch} per group to {@code group-aggregator} (rollouts without
 * group_size skip the group stage), the model version's running score stats (store {@code score-stats}, written only
 * when they changed: normalization {@code running}), one {@code rewarded-ids} entry, under the shared KL controller one
 * KlObservation to {@code kl-observations-sink}, and flush-time dead letters (the producer's original bytes) to
 * {@code dead-letters-sink}. Scored and dead-lettered rollouts leave the {@link RolloutBuffer}. Not thread-safe (one
 * per task).
 */
final class FlushOutputs {
    private static final Logger LOG = LoggerFactory.getLogger(FlushOutputs.class);

    private final ScorerConfig config;
    private final ScorerMetrics metrics;
    private final FlushBeta beta;
    private final Serializer<Rollout> deadLetterSerializer;
    private final DeliveryConfig delivery;
    private ProcessorContext<Object, Object> context;
    private RolloutBuffer buffer;
    private KeyValueStore<String, byte[]> statsStore;
    private RewardedIds rewarded;

    /** @param deadLetterSerializer re-serializes rollouts buffered by an older version (format 1) for dead letters */
    FlushOutputs(ScorerConfig config, ScorerMetrics metrics, FlushBeta beta, Serializer<Rollout> deadLetterSerializer) {
        this.config = config;
        this.metrics = metrics;
        this.beta = beta;
        this.deadLetterSerializer = deadLetterSerializer;
        this.delivery = config.delivery();
    }

    /** @param rewarded the dedupe window, or null when {@code dedupe.window.ms=0} */
    void init(ProcessorContext<Object, Object> context, RolloutBuffer buffer, RewardedIds rewarded) {
        this.context = context;
        this.buffer = buffer;
        this.rewarded = rewarded;
        this.statsStore = context.getStateStore(ScorerTopology.SCORE_STATS);
    }

    /** The shaping state a flush starts from: this flush's beta and the model version's running score stats. */
    ShapingState loadState(ScoringPipeline p) {
        byte[] statsBytes = statsStore.get(p.modelVersion());
        return new ShapingState(KlControllerState.initial(beta.current()),
                statsBytes == null ? RunningStats.EMPTY : RunningStats.fromBytes(statsBytes));
    }

    /** Writes the outputs of a scored flush; {@code before} is the state the flush was scored from. */
    void emit(String version, List<RolloutBuffer.Item> items, ScoringPipeline.Result result, ShapingState before,
              long now) {
        Instant scoredAt = Instant.ofEpochMilli(now);
        boolean withKl = config.shaping().advantageIncludesKl();
        double rewardSum = 0;
        double klSum = 0;
        int emitted = 0;
        List<String> ids = new ArrayList<>(result.rows().size());
        Map<String, List<GroupMember>> groups = new LinkedHashMap<>();
        long observed = 0;
        double observedKl = 0;
        for (ScoringPipeline.Row row : result.rows()) {
            RolloutBuffer.Item it = items.get(row.index());
            if (row instanceof ScoringPipeline.Failed f) {
                deadLetter(it, f.reason(), f.detail(), f.cause());
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
            metrics.monitor().reward(r.getPolicyVersion(), version, s.shaped().reward(), s.shaped().klSum(),
                    r.getResponseTokenIds().size(), s.uncertainty());
            metrics.queueDelay(now - it.buffered().arrivalMs());
            rewardSum += s.shaped().reward();
            klSum += s.shaped().klSum();
            emitted++;
            if (!s.shaped().flags().contains(RewardFlags.NO_REFERENCE)) {
                observed++; // KL 0 without a reference is not a measurement
                observedKl += s.shaped().klSum();
            }
            buffer.drop(it.id());
        }
        // one hand-over per group: a group completed within this flush is never written to group-members
        groups.forEach((g, members) -> context.forward(new Record<>(g, new GroupMember.Batch(g, members), now),
                ScorerTopology.GROUP_AGGREGATOR));
        if (!result.state().stats().equals(before.stats())) {   // only normalization=running moves them
            statsStore.put(version, result.state().stats().toBytes());
        }
        if (rewarded != null) {
            rewarded.record(ids, now);
        }
        if (beta.shared() && observed > 0) {
            context.forward(new Record<>(beta.controller(), beta.observation(observed, observedKl,
                    result.state().kl().beta(), context.taskId().toString(), scoredAt), now),
                    ScorerTopology.KL_OBSERVATIONS_SINK);
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

    /** Dead-letters a buffered rollout that failed during a flush, and drops it from the buffer. */
    void deadLetter(RolloutBuffer.Item it, RejectReason reason, Exception e) {
        deadLetter(it, reason, e.getMessage(), e);
    }

    /** As {@link #deadLetter(RolloutBuffer.Item, RejectReason, Exception)} with the pipeline's own detail. */
    void deadLetter(RolloutBuffer.Item it, RejectReason reason, String detail, Exception e) {
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
        deadLetter(b, b.key() == null ? null : b.key().getBytes(StandardCharsets.UTF_8), value, reason, detail, e);
        buffer.drop(it.id());
    }

    /** Dead-letters the raw bytes of an unreadable buffer entry, and drops it. */
    void deadLetterUnreadable(RolloutBuffer.UnreadableEntryException e) {
        LOG.error("rollout-buffer entry {} is unreadable; dead-lettering its raw bytes", e.id(), e.getCause());
        deadLetter(null, e.id().getBytes(StandardCharsets.UTF_8), e.raw(), ScorerRejectReason.BUFFER_CORRUPT,
                e.getMessage(), e.getCause() instanceof Exception c ? c : e);
        buffer.drop(e.id());
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
}
