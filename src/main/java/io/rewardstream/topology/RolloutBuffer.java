package io.rewardstream.topology;

import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.SchemaRegistryException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.state.KeyValueStore;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * The rollouts waiting for their batch: the change-logged store {@code rollout-buffer} (the truth, key rollout_id) and
 * its in-memory {@link BufferIndex} (arrival order, token counts, the decoded rollouts), kept in step. After a restart
 * the index is rebuilt from the store and an entry is decoded again only when its flush reads it. Not thread-safe (one
 * per task).
 */
final class RolloutBuffer {
    /** A buffered rollout read back for a flush. */
    record Item(String id, BufferedRollout buffered, Rollout rollout) {
    }

    /** A store entry that cannot be read: the flush dead-letters its raw bytes and drops it. */
    static final class UnreadableEntryException extends RuntimeException {
        private final transient byte[] raw;
        private final String id;

        UnreadableEntryException(String id, byte[] raw, Exception cause) {
            super(cause.getMessage(), cause);
            this.id = id;
            this.raw = raw;
        }

        String id() {
            return id;
        }

        byte[] raw() {
            return raw;
        }
    }

    private final KeyValueStore<String, byte[]> store;
    private final Deserializer<Rollout> deserializer;
    private final String rolloutsTopic;
    private final BufferIndex index = new BufferIndex();

    /**
     * @param deserializer  decodes buffered original bytes after a restart (registry-aware)
     * @param rolloutsTopic topic to decode with when an entry has no source topic
     */
    RolloutBuffer(KeyValueStore<String, byte[]> store, Deserializer<Rollout> deserializer, String rolloutsTopic) {
        this.store = store;
        this.deserializer = deserializer;
        this.rolloutsTopic = rolloutsTopic;
    }

    /** Rebuilds the index from the store; returns how many entries are unreadable (kept, so a flush dead-letters them). */
    int rebuild() {
        return index.rebuild(store);
    }

    /** Buffers {@code rollout} (replacing a copy with the same id). */
    void put(String id, BufferedRollout entry, Rollout rollout) {
        store.put(id, entry.toBytes());
        index.add(new BufferIndex.Pending(id, entry.arrivalMs(), entry.tokens(), entry, rollout));
    }

    /** The buffered entry with this id, or null. */
    BufferIndex.Pending get(String id) {
        return index.get(id);
    }

    /**
     * The entry for a flush (from the index; decoded from the store only after a restart), or null when it is gone.
     *
     * @throws UnreadableEntryException  when the stored bytes cannot be decoded
     * @throws ScorerUnavailableException when the schema registry cannot be reached to decode them
     */
    Item read(BufferIndex.Pending pending) {
        String id = pending.rolloutId();
        if (pending.buffered() != null && pending.rollout() != null) {
            return new Item(id, pending.buffered(), pending.rollout());
        }
        byte[] raw = store.get(id);
        if (raw == null) {
            index.remove(id);
            return null;
        }
        try {
            BufferedRollout b = BufferedRollout.fromBytes(raw);
            Rollout r = b.original()
                    ? deserializer.deserialize(b.sourceTopic() == null ? rolloutsTopic : b.sourceTopic(), b.value())
                    : Rollout.fromByteBuffer(ByteBuffer.wrap(b.value()));
            if (r == null) {
                throw new IllegalArgumentException("buffered value decodes to null");
            }
            return new Item(id, b, r);
        } catch (SchemaRegistryException e) {
            // the registry is unreachable (an unknown schema id is a WireFormatException): an outage, not a corrupt
            // entry. It stays buffered; the stream thread fails and retries it, as at arrival
            throw new ScorerUnavailableException("cannot decode buffered rollout " + id + ": " + e.getMessage(), e);
        } catch (Exception e) {
            throw new UnreadableEntryException(id, raw, e);
        }
    }

    /**
     * Takes a flush's entries out of the index (no longer buffered for the next batch); they stay in the store until
     * {@link #drop dropped} (scored or dead-lettered) or {@link #unhold returned}, so a commit meanwhile keeps them.
     */
    void hold(List<Item> items) {
        for (Item it : items) {
            index.remove(it.id());
        }
    }

    /** Returns held entries that are still in the store to the index (writing their flush's outputs failed midway). */
    void unholdStored(List<Item> items) {
        for (Item it : items) {
            if (index.get(it.id()) == null && store.get(it.id()) != null) {
                index(it);
            }
        }
    }

    /** Returns held entries to the index (their flush failed; they wait for the retry). */
    void unhold(List<Item> items) {
        items.forEach(this::index);
    }

    private void index(Item it) {
        BufferedRollout b = it.buffered();
        index.add(new BufferIndex.Pending(it.id(), b.arrivalMs(), b.tokens(), b, it.rollout()));
    }

    /** Removes a rollout (scored or dead-lettered). */
    void drop(String id) {
        store.delete(id);
        index.remove(id);
    }

    /** A snapshot in arrival order. */
    List<BufferIndex.Pending> inArrivalOrder() {
        return index.inArrivalOrder();
    }

    int size() {
        return index.size();
    }

    boolean isEmpty() {
        return index.isEmpty();
    }

    /** Upper bound of the buffered token counts. */
    int longest() {
        return index.longest();
    }

    /** Arrival time of the oldest entry; call only when not empty. */
    long oldestArrivalMs() {
        return index.oldestArrivalMs();
    }
}
