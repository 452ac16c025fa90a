package io.rewardstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Start-up checks of path arguments, failing with the option's name (exit code 2, no stack trace). */
final class CliPaths {
    private CliPaths() {
    }

    /** {@code path} must be a readable regular file. */
    static Path requireFile(Path path, String what) {
        if (path == null) {
            return null;
        }
        if (!Files.exists(path)) {
            throw new CliErrors.UsageException(what + " " + path + ": no such file (looked for "
                    + path.toAbsolutePath().normalize() + ")");
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new CliErrors.UsageException(what + " " + path + ": not a readable file");
        }
        return path;
    }

    /** {@code path} must be an existing directory. */
    static Path requireDirectory(Path path, String what) {
        if (path == null) {
            return null;
        }
        if (!Files.isDirectory(path)) {
            throw new CliErrors.UsageException(what + " " + path + ": no such directory (looked for "
                    + path.toAbsolutePath().normalize() + ")");
        }
        return path;
    }
}
