package io.rewardstream.scoring;

import io.rewardstream.avro.ModelRelease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReleaseSigningTest {

    private static final String SHA_A = "a".repeat(64);
    private static final String SHA_B = "B".repeat(64);

    static ModelRelease release() {
        return ModelRelease.newBuilder()
                .setModelName("builtin-small").setVersion(7).setLocation("builtin-small/v7")
                .setDigests(Map.of("variables/variables.index", SHA_A, "saved_model.pb", SHA_B))
                .setParentVersion(6L).setRollback(false).setEvalMetrics(Map.of("accuracy", 0.9))
                .setCreatedAt(java.time.Instant.ofEpochMilli(1_700_000_000_000L)).build();
    }

    @Test
    void shouldProduceTheDocumentedCanonicalText() {
        assertThat(ReleaseSigning.canonicalText(release())).isEqualTo("""
                rewardstream-release-v1
                model_name=builtin-small
                version=7
                location=builtin-small/v7
                parent_version=6
                rollback=false
                digest saved_model.pb %s
                digest variables/variables.index %s
                """.formatted("b".repeat(64), SHA_A));
    }

    @Test
    void shouldWriteAnEmptyParentVersionWhenNull() {
        ModelRelease r = release();
        r.setParentVersion(null);
        assertThat(ReleaseSigning.canonicalText(r)).contains("\nparent_version=\nrollback=false\n");
    }

    @Test
    void shouldVerifyASignedRelease() {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        ModelRelease signed = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        assertThat(signed.getSigningKeyId()).isEqualTo("k1");
        assertThat(ReleaseSigning.verify(signed, kp.getPublic())).isTrue();
    }

    @Test
    void shouldIgnoreUncoveredFieldsWhenVerifying() {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        ModelRelease signed = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        signed.setEvalMetrics(Map.of("accuracy", 0.1));
        assertThat(ReleaseSigning.verify(signed, kp.getPublic())).isTrue();
    }

    @Test
    void shouldRejectATamperedPayload() {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        ModelRelease version = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        version.setVersion(8);
        ModelRelease digest = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        digest.setDigests(Map.of("variables/variables.index", SHA_B, "saved_model.pb", SHA_B));
        ModelRelease location = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        location.setLocation("../elsewhere");
        ModelRelease rollback = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        rollback.setRollback(true);
        assertThat(ReleaseSigning.verify(version, kp.getPublic())).isFalse();
        assertThat(ReleaseSigning.verify(digest, kp.getPublic())).isFalse();
        assertThat(ReleaseSigning.verify(location, kp.getPublic())).isFalse();
        assertThat(ReleaseSigning.verify(rollback, kp.getPublic())).isFalse();
    }

    @Test
    void shouldRejectTheWrongKey() {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        KeyPair other = ReleaseSigning.generateKeyPair();
        ModelRelease signed = ReleaseSigning.signed(release(), kp.getPrivate(), "k1");
        assertThat(ReleaseSigning.verify(signed, other.getPublic())).isFalse();
    }

    @Test
    void shouldRejectMissingOrMalformedSignatures() {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        ModelRelease r = release();
        assertThat(ReleaseSigning.verify(r, kp.getPublic())).isFalse();
        r.setSignature("not base64 !!");
        assertThat(ReleaseSigning.verify(r, kp.getPublic())).isFalse();
    }

    @Test
    void shouldRefuseControlCharactersThatWouldMakeThePayloadAmbiguous() {
        ModelRelease r = release();
        r.setLocation("a\nversion=99");
        assertThatThrownBy(() -> ReleaseSigning.canonicalPayload(r))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("location");
        ModelRelease d = release();
        d.setDigests(Map.of("x", "nothex"));
        assertThatThrownBy(() -> ReleaseSigning.canonicalPayload(d)).hasMessageContaining("'x'");
    }

    @Test
    void shouldRoundTripKeysThroughPemFilesWithAPrivateMode600(@TempDir Path dir) throws IOException {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(dir.resolve("k1.key"), kp.getPrivate());
        KeyFiles.writePublic(dir.resolve("k1.pub"), kp.getPublic());
        assertThat(Files.readString(dir.resolve("k1.pub"))).startsWith("-----BEGIN PUBLIC KEY-----\n");
        assertThat(Files.readString(dir.resolve("k1.key"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("k1.key"))))
                .isEqualTo("rw-------");
        ModelRelease signed = ReleaseSigning.signed(release(), KeyFiles.readPrivate(dir.resolve("k1.key")), "k1");
        assertThat(ReleaseSigning.verify(signed, KeyFiles.readPublic(dir.resolve("k1.pub")))).isTrue();
        assertThat(KeyFiles.readPublicKeyDir(dir)).containsOnlyKeys("k1");
        assertThatThrownBy(() -> KeyFiles.writePublic(dir.resolve("k1.pub"), kp.getPublic()))
                .hasMessageContaining("overwrite");
    }

    @Test
    void shouldReadDerKeysAndRefuseTheWrongKind(@TempDir Path dir) throws IOException {
        KeyPair kp = ReleaseSigning.generateKeyPair();
        Files.write(dir.resolve("d.pub"), kp.getPublic().getEncoded());
        assertThat(KeyFiles.readPublic(dir.resolve("d.pub"))).isEqualTo(kp.getPublic());
        KeyFiles.writePrivate(dir.resolve("p.pem"), kp.getPrivate());
        assertThatThrownBy(() -> KeyFiles.readPublic(dir.resolve("p.pem")))
                .isInstanceOf(IOException.class).hasMessageContaining("p.pem").hasMessageContaining("PRIVATE KEY");
        assertThatThrownBy(() -> KeyFiles.readPublicKeyDir(dir)).hasMessageContaining("p.pem");
    }
}
