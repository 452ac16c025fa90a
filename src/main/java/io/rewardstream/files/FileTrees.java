package io.rewardstream.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Recursive deletion and copying of directory trees: the one implementation the CLI, the training code, the release
 * writer, the embedded dev stack and the tests share. Stateless; thread-safe (two callers deleting the same tree may
 * see each other's deletions as already gone, which is not an error).
 */
public final class FileTrees {
    private FileTrees() {
    }

    /**
     * Deletes {@code dir} and everything under it, children first; a no-op when it does not exist.
     *
     * @throws IOException at the first path that cannot be deleted (what was deleted before it stays deleted)
     */
    public static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> w = Files.walk(dir)) {
            for (Path p : w.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Copies {@code from} and everything under it into {@code to} (created if missing), parents first.
     *
     * @throws java.nio.file.FileAlreadyExistsException when a file of the tree already exists under {@code to}
     * @throws IOException at the first path that cannot be copied (what was copied before it stays)
     */
    public static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> w = Files.walk(from)) {
            for (Path p : w.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    /**
     * Deletes as much of {@code dir} as it can, going on past paths that cannot be deleted (for clean-up on shutdown,
     * where a leftover file must not hide the real outcome); a no-op when it does not exist.
     *
     * @return the paths that could not be deleted, empty when the whole tree is gone; never throws for I/O
     */
    public static List<Path> deleteBestEffort(Path dir) {
        List<Path> left = new ArrayList<>();
        if (dir == null || !Files.exists(dir)) {
            return left;
        }
        List<Path> all;
        try (Stream<Path> w = Files.walk(dir)) {
            all = w.sorted(Comparator.reverseOrder()).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            left.add(dir);
            return left;
        }
        for (Path p : all) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                left.add(p);
            }
        }
        return left;
    }
}
