package io.rewardstream.topology;

import io.rewardstream.scoring.BatchNotScoredException;
import io.rewardstream.scoring.HelperThreads;
import io.rewardstream.scoring.ModelHolder;
import io.rewardstream.scoring.ScoringInput;
import io.rewardstream.scoring.ScoringPipeline;
import io.rewardstream.scoring.ShapingState;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;

/**
 * One flush's scoring call, from the moment its rollouts leave the buffer's index until the stream thread writes its
 * outputs. With {@code batch.flush.overlap} ({@link DeliveryConfig#overlap()}) the call runs on a helper thread while
 * the stream thread keeps polling, buffering and committing, so the model (a GPU, TF's pool) works while the thread
 * does its Kafka work; otherwise it runs on the calling thread and is done when {@link #start} returns.
 *
 * <p>Exactly once is unchanged: the rollouts stay in the change-logged {@code rollout-buffer} store until the stream
 * thread writes the flush's rewards and deletes them in one transaction ({@link FlushOutputs}), so a commit while the
 * call is in flight keeps them, and a crash or a task closed meanwhile leaves them to be scored again. This class
 * touches neither Kafka nor the stores.
 *
 * <p>Helper threads ({@link HelperThreads}) are shared by every scorer in the JVM. A call whose task closed finishes
 * and is discarded; its lease and the topology's {@link FlushActivity} are released on the thread that ran it.
 * Thread-safety: started and awaited by one stream thread; the helper only completes it.
 */
final class InFlightFlush {
    private static final ExecutorService HELPERS = HelperThreads.cached("rewardstream-flush-");

    private final String trigger;
    private final String version;
    private final List<RolloutBuffer.Item> items;
    private final ShapingState before;
    private final Set<String> ids;
    private final CompletableFuture<ScoringPipeline.Result> result;

    private InFlightFlush(String trigger, String version, List<RolloutBuffer.Item> items, ShapingState before,
                          CompletableFuture<ScoringPipeline.Result> result) {
        this.trigger = trigger;
        this.version = version;
        this.items = items;
        this.before = before;
        this.result = result;
        this.ids = new HashSet<>(items.size() * 2);
        for (RolloutBuffer.Item it : items) {
            ids.add(it.id());
        }
    }

    /**
     * Starts scoring {@code inputs} (one per item, in the same order) from {@code before}. Takes over {@code lease}
     * once this returns: it is closed, and {@code activity} ended, when the call ends (if this throws, the lease is
     * still the caller's).
     *
     * @param activity where the call counts as the model being busy ({@link FlushActivity#idle()}), or null when it
     *                 does not (an idle flush: the other tasks' partial batches may follow it at once)
     * @param overlap  on a helper thread (true) or on this thread (false)
     */
    static InFlightFlush start(String trigger, ModelHolder.Lease lease, ScoringPipeline pipeline,
                               List<RolloutBuffer.Item> items, List<ScoringInput> inputs, ShapingState before,
                               FlushActivity activity, boolean overlap) {
        if (activity != null) {
            activity.begin();
        }
        java.util.function.Supplier<ScoringPipeline.Result> call = () -> {
            try (lease) {
                return pipeline.score(inputs, before);
            } finally {
                if (activity != null) {
                    activity.end();
                }
            }
        };
        CompletableFuture<ScoringPipeline.Result> f;
        if (overlap) {
            try {
                f = CompletableFuture.supplyAsync(call, HELPERS);
            } catch (RuntimeException | Error e) {   // no thread could be made: the call never runs
                if (activity != null) {
                    activity.end();
                }
                throw e;
            }
        } else {
            f = new CompletableFuture<>();
            try {
                f.complete(call.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        }
        return new InFlightFlush(trigger, pipeline.modelVersion(), items, before, f);
    }

    boolean isDone() {
        return result.isDone();
    }

    /** Whether this flush is scoring the rollout with this id. */
    boolean holds(String rolloutId) {
        return ids.contains(rolloutId);
    }

    /**
     * Waits for the call (not interruptibly: a stream thread has nothing better to do than its task's flush).
     *
     * @throws BatchNotScoredException when the model failed the whole batch; any other failure of the call is
     *                                 rethrown as thrown
     */
    ScoringPipeline.Result await() {
        try {
            return result.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    String trigger() {
        return trigger;
    }

    String version() {
        return version;
    }

    List<RolloutBuffer.Item> items() {
        return items;
    }

    /** The shaping state the call started from. */
    ShapingState before() {
        return before;
    }
}
