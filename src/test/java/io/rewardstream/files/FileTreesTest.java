package io.rewardstream.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class FileTreesTest {
    @TempDir
    Path tmp;

    private Path tree() throws IOException {
        Path root = tmp.resolve("root");
        Files.createDirectories(root.resolve("a/b"));
        Files.writeString(root.resolve("a/b/f.txt"), "x");
        Files.writeString(root.resolve("g.txt"), "y");
        return root;
    }

    @Test
    void shouldDeleteANestedTreeAndIgnoreAMissingOne() throws IOException {
        Path root = tree();
        FileTrees.deleteTree(root);
        assertThat(root).doesNotExist();
        FileTrees.deleteTree(root);   // gone already: a no-op
        assertThat(FileTrees.deleteBestEffort(root)).isEmpty();
    }

    @Test
    void shouldDeleteAWholeTreeBestEffortAndReportNothingLeft() throws IOException {
        Path root = tree();
        assertThat(FileTrees.deleteBestEffort(root)).isEmpty();
        assertThat(root).doesNotExist();
    }
}
