package io.rewardstream.release;

import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.release.ReleaseRefusedException.Reason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Decides whether a {@link ModelRelease} may be installed. Pure checks on the release and the files under the model
 * root; it loads nothing (except through {@link #verifyAndLoad}). Immutable; thread-safe.
 *
 * <p>Checks, in this order (the first failure throws {@link ReleaseRefusedException} with its reason):
 * <ol>
 *   <li>{@code location} and every digest path are relative, '/'-separated and free of '..' (no I/O):
 *       {@code PATH_ESCAPES_ROOT};</li>
 *   <li>signature: absent → {@code UNSIGNED} unless unsigned releases are allowed; unknown or missing key id →
 *       {@code UNKNOWN_KEY}; invalid → {@code BAD_SIGNATURE} (a present signature is always checked);</li>
 *   <li>version above the serving version of the same model, unless {@code rollback} and rollbacks are allowed:
 *       {@code STALE_VERSION};</li>
 *   <li>the model directory and every file in it resolve (real path, symlinks followed) inside the model root:
 *       {@code PATH_ESCAPES_ROOT};</li>
 *   <li>the release lists files, all present ({@code MISSING_FILES}), with equal SHA-256 ({@code DIGEST_MISMATCH}),
 *       and the directory holds no other file ({@code EXTRA_FILES}); the release's digests include the manifest
 *       file, so the signature covers it;</li>
 *   <li>the manifest is readable and names the release's model and version ({@code MANIFEST_MISMATCH}), and its
 *       own {@code files} digests agree with the files ({@code MISSING_FILES} / {@code DIGEST_MISMATCH} /
 *       {@code EXTRA_FILES}).</li>
 * </ol>
 * Files can still change between these checks and the load: keep the model root writable only by the publisher.
 */
public final class ReleaseVerifier {
    private static final Logger LOG = LoggerFactory.getLogger(ReleaseVerifier.class);

    /**
     * A release that passed every check.
     *
     * @param release  the release
     * @param modelDir real path of its model directory
     * @param manifest the manifest read from it
     * @param keyId    id of the key whose signature verified, or null for an allowed unsigned release
     */
    public record Verdict(ModelRelease release, Path modelDir, ModelManifest manifest, String keyId) {
        public boolean signed() {
            return keyId != null;
        }
    }

    private final Path modelRoot;
    private final Map<String, PublicKey> publicKeys;
    private final boolean allowUnsigned;
    private final boolean allowRollback;

    /**
     * @param modelRoot     existing directory every release location is relative to
     * @param publicKeys    trusted public keys by key id (may be empty only if unsigned releases are allowed)
     * @param allowUnsigned accept releases without a signature (local development only)
     * @param allowRollback accept {@code rollback=true} releases whose version is not above the serving one
     * @throws IllegalArgumentException when the root does not exist or there is no key and unsigned is not allowed
     */
    public ReleaseVerifier(Path modelRoot, Map<String, PublicKey> publicKeys, boolean allowUnsigned,
                           boolean allowRollback) {
        Objects.requireNonNull(modelRoot, "modelRoot");
        try {
            this.modelRoot = modelRoot.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("model root " + modelRoot + " does not exist", e);
        }
        if (!Files.isDirectory(this.modelRoot)) {
            throw new IllegalArgumentException("model root " + modelRoot + " is not a directory");
        }
        this.publicKeys = Map.copyOf(Objects.requireNonNull(publicKeys, "publicKeys"));
        if (this.publicKeys.isEmpty() && !allowUnsigned) {
            throw new IllegalArgumentException("no trusted public keys and unsigned releases are not allowed: "
                    + "every release would be refused");
        }
        this.allowUnsigned = allowUnsigned;
        this.allowRollback = allowRollback;
    }

    /** Real path of the model root. */
    public Path modelRoot() {
        return modelRoot;
    }

    /**
     * Runs every check (see the class comment).
     *
     * @param serving manifest of the model serving now, or null if none; only its name and version are used
     * @return the verdict
     * @throws ReleaseRefusedException at the first failed check
     */
    public Verdict verify(ModelRelease release, ModelManifest serving) {
        Objects.requireNonNull(release, "release");
        String what = release.getModelName() + ":" + release.getVersion();
        checkRelativePath("location", release.getLocation());
        Map<String, String> listed = release.getDigests() == null ? Map.of() : release.getDigests();
        for (String p : listed.keySet()) {
            checkRelativePath("digest path", p);
        }
        String keyId = checkSignature(release, what);
        checkVersion(release, serving, what);

        Path dir = modelRoot.resolve(release.getLocation()).normalize();
        if (!Files.isDirectory(dir)) {
            throw new ReleaseRefusedException(Reason.MISSING_FILES, "release " + what + ": model directory " + dir
                    + " does not exist");
        }
        Path real = realPath(dir);
        if (!real.startsWith(modelRoot) || real.equals(modelRoot)) {
            throw new ReleaseRefusedException(Reason.PATH_ESCAPES_ROOT, "release " + what + ": location '"
                    + release.getLocation() + "' resolves to " + real + ", outside the model root " + modelRoot);
        }
        Map<String, String> actual = digestAll(real, what);
        if (listed.isEmpty()) {
            throw new ReleaseRefusedException(Reason.MISSING_FILES, "release " + what + " lists no files");
        }
        compare(what, "release", listed, actual);

        ModelManifest manifest;
        try {
            manifest = ModelManifest.read(real);
        } catch (IOException e) {
            throw new ReleaseRefusedException(Reason.MANIFEST_MISMATCH, "release " + what + ": " + e.getMessage(), e);
        }
        if (!manifest.name().equals(release.getModelName()) || manifest.version() != release.getVersion()) {
            throw new ReleaseRefusedException(Reason.MANIFEST_MISMATCH, "release " + what + " points at a model whose "
                    + "manifest says " + manifest.modelVersion());
        }
        Map<String, String> modelFiles = new TreeMap<>(actual);
        modelFiles.remove(ModelManifest.FILE_NAME);
        compare(what, "manifest", manifest.files(), modelFiles);
        if (keyId == null) {
            LOG.warn("release {} is UNSIGNED and accepted because unsigned releases are allowed", what);
        }
        return new Verdict(release, real, manifest, keyId);
    }

    /**
     * {@link #verify} then {@code loader.apply(modelDir)}; any exception of the loader (other than a refusal) becomes
     * {@code LOAD_FAILED}. The caller owns the returned model.
     */
    public <M extends RewardModel> M verifyAndLoad(ModelRelease release, ModelManifest serving,
                                                   Function<Path, M> loader) {
        Verdict v = verify(release, serving);
        try {
            return Objects.requireNonNull(loader.apply(v.modelDir()), "loader returned null");
        } catch (ReleaseRefusedException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ReleaseRefusedException(Reason.LOAD_FAILED, "release " + release.getModelName() + ":"
                    + release.getVersion() + " did not load from " + v.modelDir() + ": " + e.getMessage(), e);
        }
    }

    private String checkSignature(ModelRelease release, String what) {
        if (release.getSignature() == null) {
            if (allowUnsigned) {
                return null;
            }
            throw new ReleaseRefusedException(Reason.UNSIGNED, "release " + what + " is not signed and unsigned "
                    + "releases are not allowed (release.allow.unsigned=false)");
        }
        String keyId = release.getSigningKeyId();
        PublicKey key = keyId == null ? null : publicKeys.get(keyId);
        if (key == null) {
            throw new ReleaseRefusedException(Reason.UNKNOWN_KEY, "release " + what + " is signed by key '" + keyId
                    + "', not among the trusted keys " + new TreeSet<>(publicKeys.keySet()));
        }
        if (!ReleaseSigning.verify(release, key)) {
            throw new ReleaseRefusedException(Reason.BAD_SIGNATURE, "release " + what + ": signature does not verify "
                    + "under key '" + keyId + "'");
        }
        return keyId;
    }

    private void checkVersion(ModelRelease release, ModelManifest serving, String what) {
        if (serving == null || !serving.name().equals(release.getModelName())
                || release.getVersion() > serving.version()) {
            return;
        }
        if (release.getRollback() && allowRollback) {
            LOG.warn("release {} is a ROLLBACK from serving version {}", what, serving.version());
            return;
        }
        throw new ReleaseRefusedException(Reason.STALE_VERSION, "release " + what + " is not newer than the serving "
                + serving.modelVersion() + (release.getRollback()
                ? " and rollbacks are not allowed (release.allow.rollback=false)" : " and is not a rollback"));
    }

    private static void checkRelativePath(String field, String p) {
        if (p == null || p.isBlank()) {
            throw new ReleaseRefusedException(Reason.PATH_ESCAPES_ROOT, field + " is empty");
        }
        if (p.startsWith("/") || p.contains("\\") || p.indexOf(':') >= 0 || p.indexOf('\0') >= 0
                || Path.of(p).isAbsolute()) {
            throw new ReleaseRefusedException(Reason.PATH_ESCAPES_ROOT, field + " '" + p + "' is not a relative "
                    + "'/'-separated path");
        }
        for (String seg : p.split("/", -1)) {
            if (seg.equals("..") || seg.equals(".") || seg.isEmpty()) {
                throw new ReleaseRefusedException(Reason.PATH_ESCAPES_ROOT, field + " '" + p + "' has a '" + seg
                        + "' segment");
            }
        }
    }

    private Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new ReleaseRefusedException(Reason.MISSING_FILES, "cannot resolve " + p + ": " + e.getMessage(), e);
        }
    }

    /** SHA-256 of every regular file below {@code dir} (manifest included), checking each real path. */
    private Map<String, String> digestAll(Path dir, String what) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                Path real = realPath(p);
                if (!real.startsWith(modelRoot)) {
                    throw new ReleaseRefusedException(Reason.PATH_ESCAPES_ROOT, "release " + what + ": "
                            + dir.relativize(p) + " is a link to " + real + ", outside the model root " + modelRoot);
                }
                if (Files.isRegularFile(real)) {
                    out.put(dir.relativize(p).toString().replace('\\', '/'), ModelManifest.sha256(real));
                }
            }
        } catch (IOException | UncheckedIOException e) {
            throw new ReleaseRefusedException(Reason.MISSING_FILES, "release " + what + ": cannot read " + dir + ": "
                    + e.getMessage(), e);
        }
        return out;
    }

    private static void compare(String what, String source, Map<String, String> expected, Map<String, String> actual) {
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(expected).entrySet()) {
            String found = actual.get(e.getKey());
            if (found == null) {
                missing.add(e.getKey());
            } else if (!found.equalsIgnoreCase(e.getValue())) {
                mismatched.add("'" + e.getKey() + "' (" + source + " " + e.getValue() + ", actual " + found + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new ReleaseRefusedException(Reason.MISSING_FILES, "release " + what + ": files listed in the "
                    + source + " are missing: " + missing);
        }
        if (!mismatched.isEmpty()) {
            throw new ReleaseRefusedException(Reason.DIGEST_MISMATCH, "release " + what + ": SHA-256 mismatch of "
                    + String.join(", ", mismatched));
        }
        List<String> extra = new ArrayList<>(new TreeSet<>(actual.keySet()));
        extra.removeAll(expected.keySet());
        if (!extra.isEmpty()) {
            throw new ReleaseRefusedException(Reason.EXTRA_FILES, "release " + what + ": files not listed in the "
                    + source + ": " + extra);
        }
    }
}
