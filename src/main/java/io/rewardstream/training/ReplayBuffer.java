package io.rewardstream.training;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Bounded on-disk replay buffer of preference pairs: append-only JSON-lines segments
 * ({@code segment-<n>.jsonl}), each append fsynced, plus {@code positions.json} (atomically replaced and
 * fsynced) with the next source offset per {@code topic:partition} the buffer holds everything before.
 * When more than {@code maxPairs} pairs are held, whole oldest segments are deleted (never the one being
 * written). A restart reloads every segment; a torn last line (crash during a write) is cut off the file, and the
 * positions are raised past every pair on disk (a crash between a segment's fsync and the positions file must not
 * append those pairs again).
 *
 * <p>Not thread-safe: one owner (the retraining job's poll thread).
 */
public final class ReplayBuffer {
    private static final Logger LOG = LoggerFactory.getLogger(ReplayBuffer.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    static final String POSITIONS = "positions.json";

    private final Path dir;
    private final int maxPairs;
    private final int segmentPairs;
    private final Deque<Segment> segments = new ArrayDeque<>();
    private final Map<String, Long> positions = new TreeMap<>();
    private int size;

    private static final class Segment {
        final long number;
        final Path file;
        final List<StoredPair> pairs = new ArrayList<>();

        Segment(long number, Path file) {
            this.number = number;
            this.file = file;
        }
    }

    /**
     * Opens (creating if needed) and reloads the buffer in {@code dir}.
     *
     * @param maxPairs bound on held pairs; segments hold {@code max(1, maxPairs / 8)} pairs each, so the
     *                 buffer holds between {@code 7/8 maxPairs} and {@code maxPairs} once full
     * @throws IOException when the directory cannot be read or created
     */
    public static ReplayBuffer open(Path dir, int maxPairs) throws IOException {
        if (maxPairs < 1) {
            throw new IllegalArgumentException("replay buffer bound must be >= 1, got " + maxPairs);
        }
        Files.createDirectories(dir);
        return new ReplayBuffer(dir, maxPairs);
    }

    private ReplayBuffer(Path dir, int maxPairs) throws IOException {
        this.dir = dir;
        this.maxPairs = maxPairs;
        this.segmentPairs = Math.max(1, maxPairs / 8);
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().matches("segment-\\d+\\.jsonl")).sorted().toList();
        }
        for (int fi = 0; fi < files.size(); fi++) {
            Path f = files.get(fi);
            String n = f.getFileName().toString();
            Segment seg = new Segment(Long.parseLong(n.substring(8, n.length() - 6)), f);
            byte[] bytes = Files.readAllBytes(f);
            if (fi == files.size() - 1) {
                bytes = cutTornTail(f, bytes);
            }
            // lenient: a line cut inside a multi-byte character (an older torn write) is one unreadable line, not a
            // buffer that cannot open
            List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (line.isBlank()) {
                    continue;
                }
                try {
                    seg.pairs.add(JSON.readValue(line, StoredPair.class));
                } catch (IOException e) {
                    LOG.warn("replay buffer: skipping unreadable line {} of {} (torn write?): {}", i + 1, f, e.getMessage());
                }
            }
            segments.add(seg);
            size += seg.pairs.size();
        }
        Path pos = dir.resolve(POSITIONS);
        if (Files.exists(pos)) {
            positions.putAll(JSON.readValue(pos.toFile(), new TypeReference<Map<String, Long>>() { }));
        }
        // pairs written (and fsynced) before a crash that came before positions.json was replaced: they are held,
        // so their records must not be appended again when Kafka delivers them again
        for (Segment seg : segments) {
            for (StoredPair p : seg.pairs) {
                if (p.topic() != null) {
                    positions.merge(p.position(), p.offset() + 1, Math::max);
                }
            }
        }
        LOG.info("replay buffer {}: {} pairs in {} segments, positions {}", dir, size, segments.size(), positions);
    }

    /**
     * The last segment without a torn last line: a crash during an append can leave a line without its newline, and
     * the next append would continue that line (the new pair unreadable after the next restart, while positions say
     * it is held). The file is cut back to its last newline and synced.
     */
    private static byte[] cutTornTail(Path f, byte[] bytes) throws IOException {
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end == bytes.length) {
            return bytes;
        }
        LOG.warn("replay buffer: cutting a torn last line ({} bytes) off {} (a crash during a write)",
                bytes.length - end, f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(end);
            ch.force(true);
        }
        return java.util.Arrays.copyOf(bytes, end);
    }

    /**
     * Appends {@code pairs} (fsynced), records that everything before {@code nextOffsets} (per
     * {@code topic:partition}) is held, then drops oldest segments beyond the bound.
     */
    public void append(List<StoredPair> pairs, Map<String, Long> nextOffsets) throws IOException {
        int i = 0;
        while (i < pairs.size()) {
            Segment seg = segments.peekLast();
            if (seg == null || seg.pairs.size() >= segmentPairs) {
                long n = seg == null ? 1 : seg.number + 1;
                seg = new Segment(n, dir.resolve(String.format("segment-%012d.jsonl", n)));
                segments.addLast(seg);
            }
            int take = Math.min(pairs.size() - i, segmentPairs - seg.pairs.size());
            StringBuilder sb = new StringBuilder();
            for (StoredPair p : pairs.subList(i, i + take)) {
                sb.append(JSON.writeValueAsString(p)).append('\n');
            }
            try (FileChannel ch = FileChannel.open(seg.file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                ByteBuffer buf = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true);
            }
            seg.pairs.addAll(pairs.subList(i, i + take));
            size += take;
            i += take;
        }
        if (!nextOffsets.isEmpty()) {
            nextOffsets.forEach((k, v) -> positions.merge(k, v, Math::max));   // positions never move back
            writeAtomically(dir.resolve(POSITIONS), JSON.writeValueAsBytes(positions));
        }
        while (size > maxPairs && segments.size() > 1) {
            Segment old = segments.removeFirst();
            Files.deleteIfExists(old.file);
            size -= old.pairs.size();
            LOG.info("replay buffer: dropped oldest segment {} ({} pairs) to stay within {} pairs", old.file.getFileName(),
                    old.pairs.size(), maxPairs);
        }
    }

    /** Every held pair, oldest first. */
    public List<StoredPair> pairs() {
        List<StoredPair> all = new ArrayList<>(size);
        for (Segment s : segments) {
            all.addAll(s.pairs);
        }
        return all;
    }

    public int size() {
        return size;
    }

    /** Next source offset per {@code topic:partition} that the buffer does not yet hold. */
    public Map<String, Long> positions() {
        return Collections.unmodifiableMap(new TreeMap<>(positions));
    }

    public Path dir() {
        return dir;
    }

    /**
     * Splits held pairs into new ones (source offset >= {@code trainedUpTo} of their partition; a partition
     * absent from the map counts as never trained) and older ones.
     */
    public static Partitioned partition(List<StoredPair> pairs, Map<String, Long> trainedUpTo) {
        List<StoredPair> fresh = new ArrayList<>();
        List<StoredPair> old = new ArrayList<>();
        for (StoredPair p : pairs) {
            Long upTo = trainedUpTo.get(p.position());
            (upTo == null || p.offset() >= upTo ? fresh : old).add(p);
        }
        return new Partitioned(fresh, old);
    }

    /** New and older pairs. */
    public record Partitioned(List<StoredPair> fresh, List<StoredPair> old) {
    }

    /**
     * Draws {@code steps} training batches of {@code batchSize}: {@code round(batchSize * mix)} from
     * {@code old} (none when it is empty; at most {@code batchSize - 1} while there are fresh ones) and the rest from
     * {@code fresh} (all from {@code old} when {@code fresh} is empty), each side cycling through a shuffled copy so
     * every pair is seen before any repeats.
     */
    public static <T> List<List<T>> mixBatches(List<T> fresh, List<T> old, int steps, int batchSize, double mix,
                                               Random rnd) {
        if (fresh.isEmpty() && old.isEmpty()) {
            throw new IllegalArgumentException("no pairs to draw batches from");
        }
        // with fresh pairs, at least one of them per batch: round(1 * 0.5) = 1 old would leave new pairs untrained
        int nOld = old.isEmpty() ? 0 : fresh.isEmpty() ? batchSize
                : Math.min(batchSize - 1, (int) Math.round(batchSize * mix));
        int nNew = batchSize - nOld;
        Cycler<T> f = new Cycler<>(fresh, rnd);
        Cycler<T> o = new Cycler<>(old, rnd);
        List<List<T>> out = new ArrayList<>(steps);
        for (int s = 0; s < steps; s++) {
            List<T> b = new ArrayList<>(batchSize);
            for (int i = 0; i < nNew; i++) {
                b.add(f.next());
            }
            for (int i = 0; i < nOld; i++) {
                b.add(o.next());
            }
            out.add(b);
        }
        return out;
    }

    private static final class Cycler<T> {
        private final List<T> items;
        private final Random rnd;
        private int pos;

        Cycler(List<T> src, Random rnd) {
            this.items = new ArrayList<>(src);
            this.rnd = rnd;
            Collections.shuffle(items, rnd);
        }

        T next() {
            if (pos == items.size()) {
                Collections.shuffle(items, rnd);
                pos = 0;
            }
            return items.get(pos++);
        }
    }

    static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDir(target.getParent());
    }

    static void fsyncDir(Path d) {
        io.rewardstream.release.FileSync.fsyncDir(d);
    }
}
