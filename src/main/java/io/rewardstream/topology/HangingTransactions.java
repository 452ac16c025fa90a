package io.rewardstream.topology;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.DescribeProducersResult.PartitionProducerState;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds (and on request aborts) <em>hanging</em> transactions: a transaction that is open on a partition (the
 * partition's last stable offset is stuck at its first offset) while the transaction coordinator no longer has it
 * open there, so nothing will ever write its commit or abort marker. Same rule as Kafka's
 * {@code kafka-transactions.sh find-hanging} (KIP-664), through the public {@link Admin} API.
 *
 * <p>Why it matters here: Kafka 4.3's transaction coordinator skips the markers of a partition whose leader is -1
 * ({@code KRaftMetadataCache.getPartitionLeaderEndpoint} answers empty, the coordinator takes the partition for
 * deleted, KAFKA-20734) and still logs the transaction complete. A graceful stop of the last replica (a one-broker
 * cluster: controlled shutdown sets leader -1 on every partition before the coordinator resigns) can therefore leave
 * a scorer's transaction open on {@code __consumer_offsets} and on its output and changelog partitions. Nothing is
 * lost — read_committed readers never see it — but the group's committed offsets for those input partitions stay
 * "unstable": the stream task never initialises ({@code TimeoutException ... before the last committed offset for
 * partitions [...] could be determined}) and the scorer stays REBALANCING. Aborting the hanging transaction (what
 * the coordinator would have done) unblocks it; the rollouts are then read again from the last committed offsets.
 *
 * <p>Stateless; the {@link Admin} stays owned by the caller. Thread-safe.
 */
public final class HangingTransactions {

    private static final Logger log = LoggerFactory.getLogger(HangingTransactions.class);
    private static final long TIMEOUT_S = 30;

    /**
     * One transaction open on one partition.
     *
     * @param lastTimestamp last write of this producer on the partition (epoch ms)
     */
    public record OpenTransaction(TopicPartition partition, long producerId, int producerEpoch, int coordinatorEpoch,
                                  long firstOffset, long lastTimestamp) {
    }

    /** The coordinator's view of a transactional id (from {@code DescribeTransactions}). */
    public record CoordinatorView(String transactionalId, long producerId, int producerEpoch, TransactionState state,
                                  Set<TopicPartition> partitions, long transactionTimeoutMs) {
    }

    /** A hanging transaction and why. */
    public record Hanging(OpenTransaction open, String transactionalId, String reason) {
    }

    private HangingTransactions() {
    }

    /**
     * Whether {@code open} is hanging, given the coordinator's view of the transactional id that owns its producer
     * id (empty when no transactional id maps to it any more). A transaction younger than the coordinator's timeout
     * (or {@code minAgeMs} without a view) is never hanging: it may still be completed or aborted normally.
     *
     * @return the reason, or empty when the transaction is (or may still be) live
     */
    public static Optional<String> classify(OpenTransaction open, Optional<CoordinatorView> view, long nowMs,
                                            long minAgeMs) {
        long age = nowMs - open.lastTimestamp();
        long needed = Math.max(minAgeMs, view.map(CoordinatorView::transactionTimeoutMs).orElse(0L));
        if (age <= needed) {
            return Optional.empty();
        }
        if (view.isEmpty()) {
            return Optional.of("no transactional id maps to producer id " + open.producerId() + "; open " + age
                    + " ms");
        }
        CoordinatorView v = view.get();
        if (v.producerId() != open.producerId()) {
            return Optional.of(v.transactionalId() + " now has producer id " + v.producerId());
        }
        boolean live = v.state() == TransactionState.ONGOING || v.state() == TransactionState.PREPARE_COMMIT
                || v.state() == TransactionState.PREPARE_ABORT;
        if (!live) {
            return Optional.of(v.transactionalId() + " is " + v.state() + " at epoch " + v.producerEpoch()
                    + " while epoch " + open.producerEpoch() + " is open on the partition");
        }
        if (!v.partitions().contains(open.partition())) {
            return Optional.of(v.transactionalId() + " is " + v.state() + " without " + open.partition());
        }
        if (v.producerEpoch() != open.producerEpoch() && v.producerEpoch() != open.producerEpoch() + 1) {
            // transactions v2 bumps the epoch at the end of each transaction: the coordinator is at E (ongoing)
            // or E + 1 (preparing the markers) for a transaction written at epoch E
            return Optional.of(v.transactionalId() + " is " + v.state() + " at epoch " + v.producerEpoch()
                    + " while epoch " + open.producerEpoch() + " is open on the partition");
        }
        return Optional.empty();
    }

    /**
     * Looks at every partition of every topic (internal ones included: a pending transactional offset commit lives
     * on {@code __consumer_offsets}) and returns the hanging transactions.
     *
     * @param minAgeMs a transaction younger than this (and than its coordinator's timeout) is never reported
     * @throws IllegalStateException when the cluster does not answer in 30 s per call
     */
    public static List<Hanging> find(Admin admin, long minAgeMs) {
        try {
            Set<String> topics = admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
                    .get(TIMEOUT_S, TimeUnit.SECONDS);
            List<TopicPartition> partitions = new ArrayList<>();
            for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get(TIMEOUT_S, TimeUnit.SECONDS)
                    .values()) {
                d.partitions().forEach(p -> partitions.add(new TopicPartition(d.name(), p.partition())));
            }
            Map<TopicPartition, PartitionProducerState> states = admin.describeProducers(partitions).all()
                    .get(TIMEOUT_S, TimeUnit.SECONDS);
            List<OpenTransaction> open = new ArrayList<>();
            states.forEach((tp, s) -> {
                for (ProducerState p : s.activeProducers()) {
                    if (p.currentTransactionStartOffset().isPresent()) {
                        open.add(new OpenTransaction(tp, p.producerId(), p.producerEpoch(),
                                p.coordinatorEpoch().orElse(-1), p.currentTransactionStartOffset().getAsLong(),
                                p.lastTimestamp()));
                    }
                }
            });
            if (open.isEmpty()) {
                return List.of();
            }
            Set<Long> pids = new HashSet<>();
            open.forEach(o -> pids.add(o.producerId()));
            Map<Long, String> idOf = new HashMap<>();
            for (TransactionListing l : admin.listTransactions(new ListTransactionsOptions().filterProducerIds(pids))
                    .all().get(TIMEOUT_S, TimeUnit.SECONDS)) {
                idOf.put(l.producerId(), l.transactionalId());
            }
            Map<String, CoordinatorView> views = new HashMap<>();
            if (!idOf.isEmpty()) {
                for (Map.Entry<String, TransactionDescription> e : admin.describeTransactions(idOf.values()).all()
                        .get(TIMEOUT_S, TimeUnit.SECONDS).entrySet()) {
                    TransactionDescription d = e.getValue();
                    views.put(e.getKey(), new CoordinatorView(e.getKey(), d.producerId(), d.producerEpoch(),
                            d.state(), d.topicPartitions(), d.transactionTimeoutMs()));
                }
            }
            long now = System.currentTimeMillis();
            List<Hanging> hanging = new ArrayList<>();
            for (OpenTransaction o : open) {
                String id = idOf.get(o.producerId());
                Optional<CoordinatorView> view = Optional.ofNullable(id == null ? null : views.get(id));
                classify(o, view, now, minAgeMs).ifPresent(r -> hanging.add(new Hanging(o, id, r)));
            }
            return hanging;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while looking for hanging transactions", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not look for hanging transactions: " + e, e);
        }
    }

    /**
     * Aborts each hanging transaction on its partition (writes the abort marker the coordinator skipped).
     *
     * @return how many were aborted
     * @throws IllegalStateException when an abort fails
     */
    public static int abort(Admin admin, Collection<Hanging> hanging, Duration timeout) {
        int n = 0;
        for (Hanging h : hanging) {
            OpenTransaction o = h.open();
            try {
                admin.abortTransaction(new AbortTransactionSpec(o.partition(), o.producerId(),
                        (short) o.producerEpoch(), o.coordinatorEpoch())).all()
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                log.warn("aborted hanging transaction on {} (producer id {}, epoch {}, open since offset {}; {})",
                        o.partition(), o.producerId(), o.producerEpoch(), o.firstOffset(), h.reason());
                n++;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while aborting " + h, e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("could not abort the hanging transaction on " + o.partition()
                        + ": " + e, e);
            }
        }
        return n;
    }
}
