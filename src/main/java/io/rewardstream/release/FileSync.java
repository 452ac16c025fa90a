package io.rewardstream.release;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

/** fsync of a model directory before it is published, and of a directory after an atomic move. Stateless. */
public final class FileSync {
    private FileSync() {
    }

    /**
     * Forces every file and directory under {@code root} to disk (before it is moved into place and announced: a
     * release record must not outlive a crash that loses the files it points to).
     *
     * @throws UncheckedIOException when a file cannot be read or synced
     */
    public static void fsyncTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    fsyncDir(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sync " + root + " to disk: " + e.getMessage(), e);
        }
    }

    /** Forces {@code d}'s entries to disk; a file system without directory fsync is tolerated (best effort). */
    public static void fsyncDir(Path d) {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UncheckedIOException e) {
            // directory fsync is not supported everywhere (e.g. some file systems); the file itself is synced
        }
    }
}
