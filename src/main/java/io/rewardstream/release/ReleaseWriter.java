package io.rewardstream.release;

import io.rewardstream.files.FileTrees;
import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Lays out releases under {@code <model.root>/<name>/}: candidates are exported into a temporary
 * {@code .tmp-<uuid>} directory there, stamped as {@code name:N} ({@link #stamp}) and handed to
 * {@link ReleasePublisher} (atomic move to {@code v<N>}, signing, publishing), or moved to
 * {@code rejected/<timestamp>} when the gate refuses them. Temporary directories left by a crash are deleted
 * by {@link #cleanUp()}. Not thread-safe.
 */
public final class ReleaseWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseWriter.class);
    static final String TMP_PREFIX = ".tmp-";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path root;
    private final String name;

    /** Creates {@code <root>/<name>} if needed. */
    public ReleaseWriter(Path root, String name) throws IOException {
        this.root = root;
        this.name = name;
        Files.createDirectories(root.resolve(name));
    }

    public Path modelDir() {
        return root.resolve(name);
    }

    /** Deletes half-written {@code .tmp-*} directories; returns how many. */
    public int cleanUp() throws IOException {
        int n = 0;
        try (Stream<Path> s = Files.list(modelDir())) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX)).toList()) {
                LOG.warn("deleting half-written release directory {} (left by a crash)", p);
                FileTrees.deleteTree(p);
                n++;
            }
        }
        return n;
    }

    /** A fresh temporary directory path (not created) on the same file system as the releases. */
    public Path newTempDir() {
        return modelDir().resolve(TMP_PREFIX + UUID.randomUUID());
    }

    /** Highest {@code v<N>} directory present, or 0. */
    public long highestVersionDir() throws IOException {
        long max = 0;
        try (Stream<Path> s = Files.list(modelDir())) {
            for (Path p : s.toList()) {
                String f = p.getFileName().toString();
                if (f.matches("v\\d{1,18}") && Files.isDirectory(p)) {
                    max = Math.max(max, Long.parseLong(f.substring(1)));
                }
            }
        }
        return max;
    }

    /** The {@code v<N>} directories with N above {@code version}, lowest first. */
    public java.util.List<Path> versionDirsAbove(long version) throws IOException {
        try (Stream<Path> s = Files.list(modelDir())) {
            return s.filter(p -> p.getFileName().toString().matches("v\\d{1,18}") && Files.isDirectory(p))
                    .filter(p -> Long.parseLong(p.getFileName().toString().substring(1)) > version)
                    .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString()
                            .substring(1))))
                    .toList();
        }
    }

    /**
     * Rewrites {@code exported}'s manifest as the release {@code <name>:<version>}: name, version, parent,
     * metrics, lineage merged into the old lineage, fresh digests. Installing, signing and publishing are
     * {@link ReleasePublisher#publish}'s.
     */
    public ModelManifest stamp(Path exported, long version, Long parent, Map<String, Double> metrics,
                               Map<String, String> lineage) throws IOException {
        ModelManifest m = ModelManifest.read(exported);
        Map<String, String> lin = new LinkedHashMap<>(m.lineage());
        lin.putAll(lineage);
        ModelManifest nm = new ModelManifest(name, version, m.maxSeqLen(), m.padId(), m.vocabSize(), m.tokenizer(),
                m.tokenizerFile(), m.heads(), m.normalization(), metrics, parent, lin, System.currentTimeMillis(), null)
                .withDigestsOf(exported);
        nm.write(exported);
        return nm;
    }

    /** Moves a refused candidate to {@code rejected/<timestamp>}; returns its new path. */
    public Path reject(Path exported) throws IOException {
        Path dir = Files.createDirectories(modelDir().resolve("rejected"));
        Path target = dir.resolve(STAMP.format(Instant.now()));
        while (Files.exists(target)) {
            target = dir.resolve(STAMP.format(Instant.now()) + "-" + UUID.randomUUID().toString().substring(0, 8));
        }
        move(exported, target);
        return target;
    }

    private static void move(Path from, Path to) throws IOException {
        FileSync.fsyncTree(from);   // its files too, not only the rename
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot move " + from + " atomically to " + to + " (different file systems?)", e);
        }
        FileSync.fsyncDir(to.getParent());
    }

}
