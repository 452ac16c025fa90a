package io.rewardstream.topology;

import io.rewardstream.scoring.BatchNotScoredException;
import io.rewardstream.scoring.InvalidRolloutException;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The flushes of one task: reads what is buffered ({@link RolloutBuffer}; unreadable and invalid entries are
 * dead-lettered), starts scoring it with the current model's {@link ScoringPipeline} under one {@link ModelHolder}
 * lease ({@link InFlightFlush}: on a helper thread when overlapped), and writes the outputs ({@link FlushOutputs})
 * once scoring is done. At most one flush per task is in flight, and the next one starts only after its outputs are
 * written (its running score stats are the next one's start); a batch that fills meanwhile keeps filling (up to 1.5
 * batches, {@link RolloutBatcher}). A failed call ({@link BatchNotScoredException}, or any
 * other exception of the pipeline) returns the batch to the buffer and holds flushes back for
 * {@code batch.max.delay.ms} (counted in {@code rewardstream.model.failures}); rows the model fails on alone while the
 * rest of the batch scores come back from the pipeline as failed rows ({@code MODEL_REJECTED}) and are dead-lettered.
 *
 * <p>Not thread-safe: one per task, used on its stream thread. Never owns the model.
 */
final class BatchFlusher {
    private static final Logger LOG = LoggerFactory.getLogger(BatchFlusher.class);
    /** The trigger of a work-conserving flush at the end of a burst ({@code batch.idle.flush.ms}). */
    static final String IDLE = "idle";

    private final ScorerConfig config;
    private final ModelHolder holder;
    private final ScorerMetrics metrics;
    private final PipelineCache pipelines;
    private final FlushOutputs outputs;
    private final FlushActivity activity;
    private ProcessorContext<Object, Object> context;
    private RolloutBuffer buffer;
    private InFlightFlush pending;   // outputs not written yet
    private long retryNotBefore;

    BatchFlusher(ScorerConfig config, ModelHolder holder, ScorerMetrics metrics, PipelineCache pipelines,
                 FlushOutputs outputs, FlushActivity activity) {
        this.config = config;
        this.holder = holder;
        this.metrics = metrics;
        this.pipelines = pipelines;
        this.outputs = outputs;
        this.activity = activity;
    }

    void init(ProcessorContext<Object, Object> context, RolloutBuffer buffer) {
        this.context = context;
        this.buffer = buffer;
    }

    /**
     * Scores everything buffered: first writes the outputs of the flush in flight, then starts this one, on a helper
     * thread when {@code overlap} (else its outputs are written before this returns). A failure of the scoring call
     * keeps the batch buffered (retried after {@code batch.max.delay.ms}); only a failure to write outputs throws
     * ({@link ScorerUnavailableException}: the stream thread fails, the transaction aborts, never a dead letter).
     */
    void flush(String trigger, boolean overlap) {
        finishPending(true);
        if (buffer.isEmpty() || context.currentSystemTimeMs() < retryNotBefore) {
            return;
        }
        ModelHolder.Lease lease;
        try {
            lease = holder.acquire();
        } catch (IllegalStateException e) {
            LOG.warn("no model to score {} buffered rollouts ({}); they stay buffered", buffer.size(), e.getMessage());
            return;
        }
        InFlightFlush started = null;
        try {
            RewardModel model = lease.model();
            ScoringPipeline p;
            try {
                p = pipelines.forModel(model);
            } catch (RuntimeException e) {
                failBatch("model " + model.modelVersion() + " cannot be used with this configuration", e);
                return;
            }
            int expected = Math.min(buffer.size(), maxRollouts(config));
            List<RolloutBuffer.Item> items = new ArrayList<>(expected);
            List<ScoringInput> inputs = new ArrayList<>(expected);
            readBuffered(items, inputs);
            if (items.isEmpty()) {
                return;
            }
            // an idle flush does not hold back the other tasks' idle flushes: the end of a burst goes to the model at
            // once, queued together, not one partial batch per punctuator tick
            FlushActivity busy = IDLE.equals(trigger) ? null : activity;
            started = InFlightFlush.start(trigger, lease, p, items, inputs, outputs.loadState(p), busy, overlap);
            buffer.hold(items);   // out of the next batch, still in the store
            pending = started;
        } finally {
            if (started == null) {
                lease.close();
            }
        }
        if (!overlap) {
            finishPending(true);
        }
    }

    /**
     * The most rollouts one flush takes: a batch and the half batch that may fill behind the flush in flight
     * ({@link RolloutBatcher}). It also bounds the flush after a model failure, when arrivals kept buffering: the
     * backlog goes to the model in flushes of this size, not in one whose transaction, {@code rewarded-ids} entry and
     * model time would grow with the length of the failure.
     */
    static int maxRollouts(ScorerConfig config) {
        int max = config.batching().maxSize();
        return max + max / 2;
    }

    /** The oldest buffered rollouts, at most {@link #maxRollouts}; unreadable and invalid ones are dead-lettered here. */
    private void readBuffered(List<RolloutBuffer.Item> items, List<ScoringInput> inputs) {
        int limit = maxRollouts(config);
        for (BufferIndex.Pending entry : buffer.inArrivalOrder()) {
            if (items.size() >= limit) {
                break;
            }
            try {
                RolloutBuffer.Item item = buffer.read(entry);
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
    }

    /**
     * Writes the outputs of the flush in flight once it is done ({@code wait}: waits for it first).
     *
     * @return true when outputs were written
     */
    boolean finishPending(boolean wait) {
        InFlightFlush f = pending;
        if (f == null || !(wait || f.isDone())) {
            return false;
        }
        pending = null;
        ScoringPipeline.Result result;
        try {
            result = f.await();
        } catch (RuntimeException e) {
            // back into the next batch: nothing is lost. Any failure of the call is the batch's, retried after the
            // delay and counted: thrown from here it would be blamed on (and dead-letter) the record being processed
            buffer.unhold(f.items());
            failBatch(e instanceof BatchNotScoredException ? e.getMessage()
                    : "scoring " + f.items().size() + " rollouts failed: " + e, e);
            return false;
        }
        metrics.inference(f.version(), result.inferenceNanos());
        metrics.flush(f.trigger());
        if (result.plan() != null) {
            for (PaddedBatch pb : result.plan().batches()) {
                metrics.batch(pb.rows(), pb.paddedTokens(), pb.paddingEfficiency());
            }
        }
        try {
            outputs.emit(f.version(), f.items(), result, f.before(), context.currentSystemTimeMs());
        } catch (RuntimeException e) {
            // what was not written yet goes back into the index, not lost in the store
            buffer.unholdStored(f.items());
            if (e instanceof ScorerUnavailableException) {
                throw e;
            }
            // not the fault of the record being processed (the handler would dead-letter it while it stays buffered,
            // then reward it too): fail the thread, the transaction with the outputs sent so far aborts, the flush
            // is scored again
            throw new ScorerUnavailableException("writing the outputs of a flush of " + f.items().size()
                    + " rollouts failed: " + e, e);
        }
        return true;
    }

    /** Whether the flush in flight is scoring the rollout with this id. */
    boolean holds(String rolloutId) {
        InFlightFlush f = pending;
        return f != null && f.holds(rolloutId);
    }

    /** Whether a flush is in flight and still scoring. */
    boolean scoring() {
        InFlightFlush f = pending;
        return f != null && !f.isDone();
    }

    /** The task closes: a flush in flight is discarded; its rollouts are still in the store for the next owner. */
    void discard() {
        pending = null;
    }

    private void failBatch(String what, RuntimeException e) {
        metrics.modelFailure();
        long delay = Math.max(1, config.batching().maxDelayMs());
        retryNotBefore = context.currentSystemTimeMs() + delay;
        LOG.error("{}; keeping {} rollouts buffered, retrying in {} ms", what, buffer.size(), delay, e);
    }
}
