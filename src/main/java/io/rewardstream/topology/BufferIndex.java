package io.rewardstream.topology;

import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * In-memory index of the {@code rollout-buffer} store (arrival order, token counts) so a flush decision needs no store
 * scan, and the entries themselves (buffered bytes, decoded rollout) so a flush neither reads nor decodes them again.
 * The store is the truth: this is rebuilt from it on init (then {@code rollout} is null until decoded). Not
 * thread-safe (one per task).
 */
final class BufferIndex {
    /**
     * @param buffered the store entry (null only for an unreadable one, kept so the flush dead-letters it)
     * @param rollout  the decoded rollout, or null when it has to be decoded from {@code buffered}
     */
    record Pending(String rolloutId, long arrivalMs, int tokens, BufferedRollout buffered,
                   io.rewardstream.avro.Rollout rollout) {
    }

    private final Map<String, Pending> byId = new HashMap<>();
    private final TreeSet<Pending> byArrival = new TreeSet<>(
            Comparator.comparingLong(Pending::arrivalMs).thenComparing(Pending::rolloutId));
    private int longest;

    /**
     * Rebuilds the index from the store.
     *
     * @return how many entries are unreadable (indexed anyway, so the next flush dead-letters them)
     */
    int rebuild(KeyValueStore<String, byte[]> buffer) {
        clear();
        int corrupt = 0;
        try (KeyValueIterator<String, byte[]> it = buffer.all()) {
            while (it.hasNext()) {
                var kv = it.next();
                try {
                    BufferedRollout b = BufferedRollout.fromBytes(kv.value);
                    add(new Pending(kv.key, b.arrivalMs(), b.tokens(), b, null));
                } catch (IllegalArgumentException e) {
                    // keep it indexed so the next flush dead-letters it instead of losing it silently
                    add(new Pending(kv.key, 0, 1, null, null));
                    corrupt++;
                }
            }
        }
        return corrupt;
    }

    void clear() {
        byId.clear();
        byArrival.clear();
        longest = 0;
    }

    void add(Pending p) {
        Pending old = byId.put(p.rolloutId(), p);
        if (old != null) {
            byArrival.remove(old);
        }
        byArrival.add(p);
        longest = Math.max(longest, p.tokens());
    }

    void remove(String rolloutId) {
        Pending p = byId.remove(rolloutId);
        if (p != null) {
            byArrival.remove(p);
        }
        if (byId.isEmpty()) {
            longest = 0;
        }
    }

    Pending get(String rolloutId) {
        return byId.get(rolloutId);
    }

    int size() {
        return byId.size();
    }

    boolean isEmpty() {
        return byId.isEmpty();
    }

    /** Longest token count seen since the index was last empty (an upper bound of the buffered ones). */
    int longest() {
        return longest;
    }

    /** Arrival time of the oldest entry; call only when not empty. */
    long oldestArrivalMs() {
        return byArrival.first().arrivalMs();
    }

    /** A snapshot in arrival order. */
    List<Pending> inArrivalOrder() {
        return new ArrayList<>(byArrival);
    }
}
