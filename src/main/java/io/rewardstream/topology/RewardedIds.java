package io.rewardstream.topology;

import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rollout ids this task rewarded within {@code dedupe.window.ms}, for duplicate suppression.
 *
 * <p>Why not one store entry per rollout id: that is one more changelog record per rollout on the hot path. Instead a
 * flush writes ONE entry to the change-logged store {@code rewarded-ids} (key = zero-padded flush time + first id, so
 * keys sort by time; value = the flush's ids; a flush of more than {@link #MAX_IDS_PER_ENTRY} ids writes one entry per
 * that many) and an in-memory map answers lookups; entries older than the window are
 * deleted by {@link #expire} (one tombstone per flush). The store is the truth: the map is rebuilt from it in the
 * constructor. Memory: about 100 bytes per id in the window (window x reward rate). Not thread-safe (one per task).
 */
final class RewardedIds {
    private record Flush(String key, long atMs, List<String> ids) {
    }

    private final KeyValueStore<String, byte[]> store;
    private final long windowMs;
    private final Map<String, Long> rewardedAt = new HashMap<>();
    private final ArrayDeque<Flush> flushes = new ArrayDeque<>();

    RewardedIds(KeyValueStore<String, byte[]> store, long windowMs, long now) {
        this.store = store;
        this.windowMs = windowMs;
        List<String> expired = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            while (it.hasNext()) {
                var kv = it.next();
                long at = timeOf(kv.key);
                if (at < 0 || now - at >= windowMs) {
                    expired.add(kv.key);
                    continue;
                }
                add(new Flush(kv.key, at, decode(kv.value)));
            }
        }
        expired.forEach(store::delete);
    }

    /** When {@code rolloutId} was rewarded, if within the window; else null. */
    Long rewardedAt(String rolloutId, long now) {
        Long at = rewardedAt.get(rolloutId);
        return at != null && now - at < windowMs ? at : null;
    }

    /**
     * Ids per store entry at most: 256 ids of the longest allowed (1,024 bytes) stay far below a broker's default
     * 1 MB record limit, which one entry per flush could pass with a large {@code batch.max.size} (its changelog
     * send would then fail the task on every restart).
     */
    static final int MAX_IDS_PER_ENTRY = 256;

    /** Records the ids of one flush (one store write per {@link #MAX_IDS_PER_ENTRY} ids). */
    void record(List<String> ids, long now) {
        for (int from = 0; from < ids.size(); from += MAX_IDS_PER_ENTRY) {
            List<String> chunk = List.copyOf(ids.subList(from, Math.min(ids.size(), from + MAX_IDS_PER_ENTRY)));
            String key = timeKey(now) + "/" + chunk.get(0);
            store.put(key, encode(chunk));
            add(new Flush(key, now, chunk));
        }
    }

    /** Forgets (and deletes) the flushes older than the window. */
    void expire(long now) {
        while (!flushes.isEmpty() && now - flushes.peekFirst().atMs() >= windowMs) {
            Flush f = flushes.pollFirst();
            store.delete(f.key());
            for (String id : f.ids()) {
                rewardedAt.remove(id, f.atMs());
            }
        }
    }

    int size() {
        return rewardedAt.size();
    }

    private void add(Flush f) {
        flushes.addLast(f);
        for (String id : f.ids()) {
            rewardedAt.put(id, f.atMs());
        }
    }

    /** {@code now} zero-padded to 13 digits, so keys sort by time (String.format cost more than the rest of a flush's write). */
    static String timeKey(long now) {
        String digits = Long.toString(Math.max(0, now));
        return digits.length() >= 13 ? digits : "0".repeat(13 - digits.length()) + digits;
    }

    private static long timeOf(String key) {
        int slash = key.indexOf('/');
        try {
            return slash < 0 ? -1 : Long.parseLong(key.substring(0, slash));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static byte[] encode(List<String> ids) {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(ids.size() * 40 + 8);
        try (DataOutputStream out = new DataOutputStream(bos)) {
            out.writeByte(1);
            out.writeInt(ids.size());
            for (String id : ids) {
                out.writeUTF(id);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    private static List<String> decode(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readByte() != 1) {
                return List.of();
            }
            int n = in.readInt();
            List<String> ids = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                ids.add(in.readUTF());
            }
            return ids;
        } catch (IOException e) {
            return List.of();   // unreadable: forget it rather than stop the task (dedupe is best effort after that)
        }
    }
}
