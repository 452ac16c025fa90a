package io.rewardstream.topology;

import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.scoring.GroupAdvantages;
import io.rewardstream.scoring.RewardFlags;
import io.rewardstream.scoring.ShapingConfig;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Processor {@code group-aggregator}: collects scored members by group_id in the change-logged store
 * {@code group-members} and emits one {@link GroupAdvantage} per member to {@code group-advantages-sink}:
 * <ul>
 *   <li>as soon as {@code group_size} members are in (advantages over exactly those members);</li>
 *   <li>from a WALL_CLOCK_TIME punctuator, for groups whose first member arrived {@code group.timeout.ms} ago:
 *       flagged {@code INCOMPLETE_GROUP} when a group_size was promised and not reached;</li>
 *   <li>rollouts WITHOUT group_size are not part of a group (schema: group_size null) and never reach this processor;
 *       the batcher skips the group stage for them.</li>
 * </ul>
 * A member arriving after its group was emitted opens a new group (emitted at its timeout). Rollouts without
 * group_size never reach this processor (the batcher skips the group stage for them: not part of a group).
 *
 * <p>Writes: the batcher hands over all members of a group scored in one flush as one {@link GroupMember.Batch}; a group
 * completed by that batch and never stored before is emitted without any {@code group-members} write (no put, no
 * tombstone). Only groups that span flushes are stored, and deleted once emitted. The in-memory timeout
 * index is rebuilt from the store in {@link #init}. One instance per task; not thread-safe.
 */
final class GroupAggregator implements Processor<String, GroupMember.Batch, String, GroupAdvantage> {
    private static final Logger LOG = LoggerFactory.getLogger(GroupAggregator.class);

    private final ScorerConfig config;
    private final ScorerMetrics metrics;
    private ProcessorContext<String, GroupAdvantage> context;
    private KeyValueStore<String, byte[]> store;
    private Cancellable punctuator;
    private final Map<String, Long> firstArrival = new HashMap<>();
    private final TreeSet<Map.Entry<String, Long>> byArrival = new TreeSet<>(
            Comparator.<Map.Entry<String, Long>>comparingLong(Map.Entry::getValue).thenComparing(Map.Entry::getKey));

    GroupAggregator(ScorerConfig config, ScorerMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, GroupAdvantage> context) {
        this.context = context;
        this.store = context.getStateStore(ScorerTopology.GROUP_MEMBERS);
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            while (it.hasNext()) {
                var kv = it.next();
                long first;
                try {
                    first = GroupState.fromBytes(kv.value).firstArrivalMs();
                } catch (IllegalArgumentException e) {
                    LOG.error("group-members entry {} is unreadable; dropping it", kv.key, e);
                    store.delete(kv.key);
                    continue;
                }
                track(kv.key, first);
            }
        }
        long every = Math.max(10, Math.min(1000, config.groupTimeoutMs() / 4));
        punctuator = context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::onWallClock);
    }

    private void track(String groupId, long first) {
        Long old = firstArrival.put(groupId, first);
        if (old != null) {
            byArrival.remove(Map.entry(groupId, old));
        }
        byArrival.add(Map.entry(groupId, first));
    }

    private void untrack(String groupId) {
        Long old = firstArrival.remove(groupId);
        if (old != null) {
            byArrival.remove(Map.entry(groupId, old));
        }
    }

    @Override
    public void process(Record<String, GroupMember.Batch> record) {
        String groupId = record.value().groupId();
        // the index tracks every stored group: a group it does not know was never stored (no store/cache lookup)
        byte[] raw = firstArrival.containsKey(groupId) ? store.get(groupId) : null;
        boolean stored = raw != null;
        long now = context.currentSystemTimeMs();
        GroupState state = stored ? GroupState.fromBytes(raw) : null;
        for (GroupMember m : record.value().members()) {
            state = (state == null ? new GroupState(now, m.groupSize(), List.of()) : state).plus(m);
            if (state.complete()) {
                emit(groupId, state, false, now, stored);
                state = null;
                stored = false;
            }
        }
        if (state != null) {
            store.put(groupId, state.toBytes());
            if (!stored) {
                track(groupId, state.firstArrivalMs());
            }
        }
    }

    private void onWallClock(long now) {
        List<String> due = new ArrayList<>();
        for (Map.Entry<String, Long> e : byArrival) {
            if (now - e.getValue() < config.groupTimeoutMs()) {
                break;
            }
            due.add(e.getKey());
        }
        for (String groupId : due) {
            byte[] raw = store.get(groupId);
            if (raw == null) {
                untrack(groupId);
                continue;
            }
            GroupState state = GroupState.fromBytes(raw);
            emit(groupId, state, state.expectedSize() != null, now, true);
        }
    }

    private void emit(String groupId, GroupState state, boolean incomplete, long now, boolean stored) {
        ShapingConfig shaping = config.shaping();
        List<GroupMember> members = state.members();
        double[] r = new double[members.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = members.get(i).value();
        }
        double[] adv = GroupAdvantages.compute(r, shaping.groupAdvantage(), shaping.groupEps());
        double mean = GroupAdvantages.mean(r);
        double std = GroupAdvantages.std(r);
        List<String> flags = incomplete ? List.of(RewardFlags.INCOMPLETE_GROUP) : List.of();
        // best-of-N rank only when every promised member is in (a partial group's ranking would mislead)
        int[] ranks = !incomplete && state.expectedSize() != null && r.length == state.expectedSize()
                ? GroupAdvantages.ranks(r) : null;
        Instant at = Instant.ofEpochMilli(now);
        for (int i = 0; i < r.length; i++) {
            GroupMember m = members.get(i);
            GroupAdvantage ga = GroupAdvantage.newBuilder()
                    .setRolloutId(m.rolloutId())
                    .setGroupId(groupId)
                    .setPolicyVersion(m.policyVersion())
                    .setModelVersion(m.modelVersion())
                    .setEstimator(shaping.groupAdvantage().id())
                    .setReward(r[i])
                    .setAdvantage(adv[i])
                    .setGroupMean(mean)
                    .setGroupStd(std)
                    .setGroupSize(r.length)
                    .setExpectedGroupSize(state.expectedSize())
                    .setFlags(new ArrayList<>(flags))
                    .setEmittedAt(at)
                    .setRank(ranks == null ? null : ranks[i])
                    .build();
            context.forward(new Record<>(groupId, ga, now));
        }
        if (stored) {
            store.delete(groupId);   // a group never stored needs no tombstone
        }
        untrack(groupId);
        metrics.groupEmitted(!incomplete);
    }

    @Override
    public void close() {
        if (punctuator != null) {
            punctuator.cancel();
        }
    }
}
