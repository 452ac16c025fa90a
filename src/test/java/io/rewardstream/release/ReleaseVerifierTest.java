package io.rewardstream.release;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.release.ReleaseRefusedException.Reason;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReleaseVerifierTest {

    @TempDir
    Path root;
    @TempDir
    Path outside;

    private final KeyPair key = ReleaseSigning.generateKeyPair();
    private ReleaseVerifier verifier;

    @BeforeEach
    void setUp() {
        verifier = new ReleaseVerifier(root, Map.of("k1", key.getPublic()), false, false);
    }

    static ModelManifest manifest(String name, long version) {
        return new ModelManifest(name, version, 128, 0, 260, "bytes", null, List.of(), null, Map.of(), null,
                Map.of(), 1L, Map.of());
    }

    /** A fake model directory (no TensorFlow needed): two files plus a manifest with their digests. */
    static Path modelDir(Path root, String name, long version) throws IOException {
        Path dir = root.resolve(name).resolve("v" + version);
        Files.createDirectories(dir.resolve("variables"));
        Files.writeString(dir.resolve("saved_model.pb"), "graph " + name + version);
        Files.writeString(dir.resolve("variables/variables.index"), "weights " + version);
        manifest(name, version).withDigestsOf(dir).write(dir);
        return dir;
    }

    static ModelRelease unsignedRelease(Path root, String name, long version) throws IOException {
        Path dir = root.resolve(name).resolve("v" + version);
        if (!Files.exists(dir)) {
            modelDir(root, name, version);
        }
        return ModelRelease.newBuilder().setModelName(name).setVersion(version).setLocation(name + "/v" + version)
                .setDigests(ReleaseSigning.releaseDigests(dir)).setCreatedAt(Instant.now()).build();
    }

    private ModelRelease signed(ModelRelease r) {
        return ReleaseSigning.signed(r, key.getPrivate(), "k1");
    }

    private ModelRelease good(long version) throws IOException {
        return signed(unsignedRelease(root, "m", version));
    }

    private void assertRefused(ModelRelease r, ModelManifest serving, Reason reason, String... messageParts) {
        assertThatThrownBy(() -> verifier.verify(r, serving))
                .isInstanceOfSatisfying(ReleaseRefusedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(reason);
                    if (messageParts.length > 0) {
                        assertThat(e.getMessage()).contains(messageParts);
                    }
                });
    }

    @Test
    void shouldAcceptAValidSignedRelease() throws IOException {
        ReleaseVerifier.Verdict v = verifier.verify(good(2), manifest("m", 1));
        assertThat(v.signed()).isTrue();
        assertThat(v.keyId()).isEqualTo("k1");
        assertThat(v.modelDir()).isEqualTo(root.toRealPath().resolve("m/v2"));
        assertThat(v.manifest().modelVersion()).isEqualTo("m:2");
    }

    @Test
    void shouldRefuseAbsoluteAndDotDotLocations() throws IOException {
        ModelRelease abs = unsignedRelease(root, "m", 1);
        abs.setLocation(root.resolve("m/v1").toString());
        assertRefused(signed(abs), null, Reason.PATH_ESCAPES_ROOT, "location");
        ModelRelease up = unsignedRelease(root, "m", 1);
        up.setLocation("../x");
        assertRefused(signed(up), null, Reason.PATH_ESCAPES_ROOT, "'..'");
        ModelRelease file = unsignedRelease(root, "m", 1);
        Map<String, String> d = new HashMap<>(file.getDigests());
        d.put("../../etc/passwd", "0".repeat(64));
        file.setDigests(d);
        assertRefused(signed(file), null, Reason.PATH_ESCAPES_ROOT, "digest path");
    }

    @Test
    void shouldRefuseASymlinkOutOfTheRoot() throws IOException {
        Path real = modelDir(outside, "m", 3);
        Files.createDirectories(root.resolve("m"));
        Files.createSymbolicLink(root.resolve("m/v3"), real);
        assertRefused(good(3), null, Reason.PATH_ESCAPES_ROOT, "outside the model root");
    }

    @Test
    void shouldRefuseASymlinkedFileOutOfTheRoot() throws IOException {
        ModelRelease r = unsignedRelease(root, "m", 1);
        Path secret = Files.writeString(outside.resolve("secret"), "s");
        Files.createSymbolicLink(root.resolve("m/v1/extra"), secret);
        Map<String, String> d = new HashMap<>(r.getDigests());
        d.put("extra", ModelManifest.sha256(secret));
        r.setDigests(d);
        assertRefused(signed(r), null, Reason.PATH_ESCAPES_ROOT, "extra is a link");
    }

    @Test
    void shouldRefuseMissingFiles() throws IOException {
        ModelRelease r = good(1);
        Files.delete(root.resolve("m/v1/variables/variables.index"));
        assertRefused(r, null, Reason.MISSING_FILES, "variables/variables.index");
        ModelRelease nowhere = good(1);
        nowhere.setLocation("m/v9");
        assertRefused(signed(nowhere), null, Reason.MISSING_FILES, "does not exist");
    }

    @Test
    void shouldRefuseAChangedFileNamingIt() throws IOException {
        ModelRelease r = good(1);
        Files.writeString(root.resolve("m/v1/saved_model.pb"), "tampered");
        assertRefused(r, null, Reason.DIGEST_MISMATCH, "'saved_model.pb'");
    }

    @Test
    void shouldRefuseAManifestWhoseDigestsDisagreeWithTheFiles() throws IOException {
        Path dir = modelDir(root, "m", 1);
        ModelManifest m = ModelManifest.read(dir);
        Map<String, String> files = new HashMap<>(m.files());
        files.put("saved_model.pb", "f".repeat(64));
        new ModelManifest(m.name(), m.version(), m.maxSeqLen(), m.padId(), m.vocabSize(), m.tokenizer(), null,
                m.heads(), null, m.metrics(), null, m.lineage(), m.createdAt(), files).write(dir);
        // the release is signed over the (bad) manifest as it now is: only the manifest check can catch it
        assertRefused(good(1), null, Reason.DIGEST_MISMATCH, "manifest", "'saved_model.pb'");
    }

    @Test
    void shouldRefuseExtraFiles() throws IOException {
        ModelRelease r = good(1);
        Files.writeString(root.resolve("m/v1/variables/injected.so"), "x");
        assertRefused(r, null, Reason.EXTRA_FILES, "variables/injected.so");
    }

    @Test
    void shouldRefuseAnEmptyDigestList() throws IOException {
        ModelRelease r = unsignedRelease(root, "m", 1);
        r.setDigests(Map.of());
        assertRefused(signed(r), null, Reason.MISSING_FILES, "lists no files");
    }

    @Test
    void shouldRefuseUnsignedUnlessAllowed() throws IOException {
        ModelRelease r = unsignedRelease(root, "m", 1);
        assertRefused(r, null, Reason.UNSIGNED, "release.allow.unsigned");
        ReleaseVerifier dev = new ReleaseVerifier(root, Map.of(), true, false);
        assertThat(dev.verify(r, null).signed()).isFalse();
    }

    @Test
    void shouldRefuseABadSignatureEvenWhenUnsignedIsAllowed() throws IOException {
        ModelRelease r = good(1);
        r.setParentVersion(0L); // covered field changed after signing
        assertRefused(r, null, Reason.BAD_SIGNATURE, "k1");
        ModelRelease other = ReleaseSigning.signed(unsignedRelease(root, "m", 1),
                ReleaseSigning.generateKeyPair().getPrivate(), "k1");
        assertRefused(other, null, Reason.BAD_SIGNATURE);
        ReleaseVerifier dev = new ReleaseVerifier(root, Map.of("k1", key.getPublic()), true, false);
        assertThatThrownBy(() -> dev.verify(other, null))
                .isInstanceOfSatisfying(ReleaseRefusedException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.BAD_SIGNATURE));
    }

    @Test
    void shouldRefuseAnUnknownOrMissingKeyId() throws IOException {
        ModelRelease r = ReleaseSigning.signed(unsignedRelease(root, "m", 1), key.getPrivate(), "k2");
        assertRefused(r, null, Reason.UNKNOWN_KEY, "'k2'", "[k1]");
        ModelRelease noId = good(1);
        noId.setSigningKeyId(null);
        assertRefused(noId, null, Reason.UNKNOWN_KEY);
    }

    @Test
    void shouldRefuseStaleVersionsUnlessAnAllowedRollback() throws IOException {
        ModelRelease same = good(3);
        assertRefused(same, manifest("m", 3), Reason.STALE_VERSION, "m:3");
        ModelRelease older = good(2);
        assertRefused(older, manifest("m", 3), Reason.STALE_VERSION, "not a rollback");
        ModelRelease rollback = unsignedRelease(root, "m", 2);
        rollback.setRollback(true);
        ModelRelease signedRollback = signed(rollback);
        assertRefused(signedRollback, manifest("m", 3), Reason.STALE_VERSION, "release.allow.rollback");
        ReleaseVerifier permissive = new ReleaseVerifier(root, Map.of("k1", key.getPublic()), false, true);
        assertThat(permissive.verify(signedRollback, manifest("m", 3)).release().getVersion()).isEqualTo(2);
        // another model's serving version does not make a release stale
        assertThat(verifier.verify(older, manifest("other", 9)).release().getVersion()).isEqualTo(2);
    }

    @Test
    void shouldRefuseAManifestNamingAnotherModelOrVersion() throws IOException {
        Path dir = modelDir(root, "m", 4);
        manifest("m", 5).withDigestsOf(dir).write(dir);
        assertRefused(good(4), null, Reason.MANIFEST_MISMATCH, "m:5");
        Path broken = modelDir(root, "m", 6);
        Files.writeString(broken.resolve(ModelManifest.FILE_NAME), "{not json");
        assertRefused(good(6), null, Reason.MANIFEST_MISMATCH, "malformed");
    }

    @Test
    void shouldReportALoaderFailureAsLoadFailed() throws IOException {
        ModelRelease r = good(1);
        assertThatThrownBy(() -> verifier.verifyAndLoad(r, null, dir -> {
            throw new IllegalStateException("corrupt variables");
        })).isInstanceOfSatisfying(ReleaseRefusedException.class, e -> {
            assertThat(e.reason()).isEqualTo(Reason.LOAD_FAILED);
            assertThat(e.getMessage()).contains("corrupt variables");
        });
    }

    @Test
    void shouldRefuseAConfigurationThatWouldRefuseEverything() {
        assertThatThrownBy(() -> new ReleaseVerifier(root, Map.of(), false, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no trusted public keys");
    }
}
