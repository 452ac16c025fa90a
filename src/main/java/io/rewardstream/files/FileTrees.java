package io.rewardstream.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Recursive deletion of directory trees: the one implementation the CLI, the training code, the release writer and the
 * embedded dev stack share. Stateless; thread-safe (two callers deleting the same tree may see each other's deletions
 * as already gone, which is not an error).
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
