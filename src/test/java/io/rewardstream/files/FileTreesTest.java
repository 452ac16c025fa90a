package io.rewardstream.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    @Test
    void shouldCopyANestedTreeAndRefuseToOverwriteAFile() throws IOException {
        Path root = tree();
        Path copy = tmp.resolve("copy");
        FileTrees.copyTree(root, copy);
        assertThat(copy.resolve("a/b/f.txt")).hasContent("x");
        assertThat(copy.resolve("g.txt")).hasContent("y");
        assertThat(root.resolve("a/b/f.txt")).hasContent("x");   // the source is untouched
        assertThatThrownBy(() -> FileTrees.copyTree(root, copy)).isInstanceOf(FileAlreadyExistsException.class);
    }
}
