package io.rewardstream.cli;

import io.rewardstream.avro.ModelRelease;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.scoring.ReleaseTestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;

class KeysAndReleaseCommandTest {

    @TempDir
    Path dir;

    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    @Test
    void shouldGenerateAUsableKeyPairWithAPrivateFile() throws Exception {
        assertThat(run("keys", "generate", "--out", dir.toString(), "--id", "prod-2026")).isZero();
        Path key = dir.resolve("prod-2026.key");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        ModelRelease r = ReleaseSigning.signed(ReleaseSigningFixture.release(), KeyFiles.readPrivate(key), "prod-2026");
        assertThat(ReleaseSigning.verify(r, KeyFiles.readPublicKeyDir(dir).get("prod-2026"))).isTrue();
        // never overwrites
        assertThat(run("keys", "generate", "--out", dir.toString(), "--id", "prod-2026")).isEqualTo(1);
        assertThat(run("keys", "generate", "--out", dir.toString(), "--id", "../evil")).isEqualTo(2);
    }

    @Test
    void shouldRefuseAVersionThatDiffersFromTheManifestBeforeTouchingAnything() throws Exception {
        Path model = ReleaseTestModels.fakeModelDir(dir.resolve("staging"), "m", 3);
        Path root = Files.createDirectories(dir.resolve("models"));
        int code = run("release", "publish", "--model-dir", model.toString(), "--model-root", root.toString(),
                "--version", "4", "--unsigned", "--bootstrap-servers", "127.0.0.1:1",
                "--schema-registry-url", "http://127.0.0.1:1");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--version 4 differs from the manifest's version 3");
        assertThat(model).exists();
    }

    @Test
    void shouldRequireExactlyOneOfKeyOrUnsigned() throws Exception {
        Path model = ReleaseTestModels.fakeModelDir(dir.resolve("staging"), "m", 3);
        int code = run("release", "publish", "--model-dir", model.toString(), "--model-root", dir.toString(),
                "--version", "3", "--bootstrap-servers", "127.0.0.1:1", "--schema-registry-url", "http://127.0.0.1:1");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--key FILE or --unsigned");
    }

    /** A release to sign (no files needed). */
    static final class ReleaseSigningFixture {
        static ModelRelease release() {
            return ModelRelease.newBuilder().setModelName("m").setVersion(1).setLocation("m/v1")
                    .setDigests(java.util.Map.of("saved_model.pb", "a".repeat(64)))
                    .setCreatedAt(java.time.Instant.now()).build();
        }
    }
}
