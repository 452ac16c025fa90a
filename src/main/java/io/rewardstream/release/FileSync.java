package io.rewardstream.release;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Directory fsync after an atomic move (releases, the replay buffer). Stateless. */
public final class FileSync {
    private FileSync() {
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
