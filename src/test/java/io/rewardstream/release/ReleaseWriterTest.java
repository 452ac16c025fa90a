package io.rewardstream.release;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ReleaseWriterTest {

    @Test
    void shouldListVersionDirectoriesAboveAVersionInNumericOrderAndCleanTempDirs(@TempDir Path root) throws Exception {
        ReleaseWriter w = new ReleaseWriter(root, "m");
        for (String d : new String[]{"v1", "v2", "v10", "v3", "rejected", "vx", ".tmp-abc"}) {
            Files.createDirectories(root.resolve("m").resolve(d));
        }
        Files.writeString(root.resolve("m/v7"), "a file, not a version directory");
        assertThat(w.versionDirsAbove(1)).extracting(p -> p.getFileName().toString())
                .containsExactly("v2", "v3", "v10");
        assertThat(w.versionDirsAbove(10)).isEmpty();
        assertThat(w.highestVersionDir()).isEqualTo(10);
        assertThat(w.cleanUp()).isEqualTo(1);
        assertThat(root.resolve("m/.tmp-abc")).doesNotExist();
        assertThat(w.newTempDir().getFileName().toString()).startsWith(".tmp-");
    }
}
