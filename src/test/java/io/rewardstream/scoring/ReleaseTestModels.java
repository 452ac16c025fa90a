package io.rewardstream.scoring;

import io.rewardstream.release.ReleaseSigning;
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

    /**
     * As {@link #tinySavedModel}, with a packaging bug: its manifest claims {@code vocab} ids, its embedding has 260
     * rows, so a rollout holding an id in [260, vocab) passes validation and fails the model call (TF's Gather, CPU).
     */
    public static Path tinySavedModelClaimingVocab(Path root, String name, long version, long seed, int vocab) {
        return TinySavedModels.claimVocab(tinySavedModel(root, name, version, seed), vocab);
    }

    /** Words of {@link #tinyWordPieceModel}'s vocabulary (besides the special tokens and fillers). */
    public static final List<String> WORDPIECE_WORDS = List.of("what", "is", "two", "plus", "the", "answer", "four",
            "five", "three", "?", ".", "##s");

    /**
     * A real, loadable tiny SavedModel with tokenizer {@code wordpiece} at {@code <root>/<name>/v<version>}: its
     * vocabulary {@code assets/vocab.txt} ({@link TinySavedModels#VOCAB} tokens: specials, {@link #WORDPIECE_WORDS},
     * fillers) travels inside the directory and is listed in the manifest's digests.
     */
    public static Path tinyWordPieceModel(Path root, String name, long version, long seed) {
        Path dir = tinySavedModel(root, name, version, seed);
        try {
            ModelManifest m = ModelManifest.read(dir);
            java.util.List<String> vocab = new java.util.ArrayList<>();
            java.util.Iterator<String> words = new java.util.ArrayList<>(List.of("[UNK]", "[CLS]", "[SEP]", "[MASK]"))
                    .iterator();
            java.util.List<String> rest = new java.util.ArrayList<>();
            words.forEachRemaining(rest::add);
            rest.addAll(WORDPIECE_WORDS);
            for (int i = 0; rest.size() < TinySavedModels.VOCAB - 1; i++) {
                rest.add("filler" + i);
            }
            java.util.Iterator<String> it = rest.iterator();
            for (int i = 0; i < TinySavedModels.VOCAB; i++) {
                vocab.add(i == m.padId() ? "[PAD]" : it.next());
            }
            Files.createDirectories(dir.resolve("assets"));
            Files.write(dir.resolve("assets/vocab.txt"), vocab);
            new ModelManifest(m.name(), m.version(), m.maxSeqLen(), m.padId(), m.vocabSize(), "wordpiece",
                    "assets/vocab.txt", m.heads(), m.normalization(), m.metrics(), m.parentVersion(), m.lineage(),
                    m.createdAt(), null).withDigestsOf(dir).write(dir);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return dir;
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
