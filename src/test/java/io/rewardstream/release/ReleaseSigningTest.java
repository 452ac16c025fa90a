package io.rewardstream.release;

import io.rewardstream.avro.ModelRelease;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
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

    /**
     * Cross-language test vector of scoring/RELEASES.md: key = RFC 8032 test 1 seed, signature computed
     * independently with Python's {@code cryptography} package over the hand-built payload.
     */
    @Test
    void shouldMatchTheDocumentedTestVector() throws Exception {
        byte[] seed = HexFormat.of().parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        byte[] pkcs8 = HexFormat.of().parseHex("302e020100300506032b657004220420" + HexFormat.of().formatHex(seed));
        PrivateKey key = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        ModelRelease r = release();
        r.setDigests(Map.of("saved_model.pb", "b".repeat(64), "variables/variables.index", SHA_A,
                "rewardstream-model.json", "c".repeat(64)));
        assertThat(ReleaseSigning.sign(r, key)).isEqualTo(
                "b9t7amBKfzxC+ZgonJwE0B+t8RU89FE/8TUaqFhGaC9ksApA6Y0Kz++7MeMPIU9X9NQ+MNT/n7lJ4wrZdWAyAw==");
        byte[] spki = HexFormat.of().parseHex("302a300506032b6570032100"
                + "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        PublicKey pub = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        assertThat(ReleaseSigning.verify(ReleaseSigning.signed(r, key, "rfc8032"), pub)).isTrue();
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
