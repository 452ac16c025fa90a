package io.rewardstream.scoring;

import io.rewardstream.avro.ModelRelease;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Test helper for other packages: model directories and releases of them (public face of {@link TinySavedModels}). */
public final class ReleaseTestModels {
    private ReleaseTestModels() {
    }

    /** A real, loadable tiny SavedModel with manifest at {@code <root>/<name>/v<version>}. */
    public static Path tinySavedModel(Path root, String name, long version, long seed) {
        return TinySavedModels.build(root.resolve(name).resolve("v" + version), name, version, seed);
    }

    /** A fake (not loadable) model directory at {@code <root>/<name>/v<version>}: two files and a manifest. */
    public static Path fakeModelDir(Path root, String name, long version) throws IOException {
        Path dir = root.resolve(name).resolve("v" + version);
        Files.createDirectories(dir.resolve("variables"));
        Files.writeString(dir.resolve("saved_model.pb"), "graph " + name + version);
        Files.writeString(dir.resolve("variables/variables.index"), "weights " + version);
        manifest(name, version).withDigestsOf(dir).write(dir);
        return dir;
    }

    public static ModelManifest manifest(String name, long version) {
        return new ModelManifest(name, version, 128, 0, 260, "bytes", null, List.of(), null, Map.of(), null,
                Map.of(), 1L, Map.of());
    }

    /** An unsigned release of {@code <root>/<name>/v<version>} as it is on disk now. */
    public static ModelRelease release(Path root, String name, long version) {
        Path dir = root.resolve(name).resolve("v" + version);
        return ModelRelease.newBuilder().setModelName(name).setVersion(version).setLocation(name + "/v" + version)
                .setDigests(ReleaseSigning.releaseDigests(dir)).setCreatedAt(Instant.now()).build();
    }

    public static ModelRelease signedRelease(Path root, String name, long version, PrivateKey key, String keyId) {
        return ReleaseSigning.signed(release(root, name, version), key, keyId);
    }
}
