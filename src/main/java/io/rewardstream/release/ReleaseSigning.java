package io.rewardstream.release;

import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.avro.ModelRelease;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Ed25519 signing and verification of {@link ModelRelease}s over their canonical payload, specified in
 * {@code scoring/RELEASES.md} so that any language can produce and check it. Stateless; thread-safe. Uses only the
 * JDK's built-in {@code Ed25519} provider.
 *
 * <p>The canonical payload is UTF-8 text, every line ending in a single {@code '\n'}:
 * <pre>
 * rewardstream-release-v1
 * model_name=&lt;model_name&gt;
 * version=&lt;version, decimal&gt;
 * location=&lt;location&gt;
 * parent_version=&lt;decimal, or empty when null&gt;
 * rollback=&lt;true|false&gt;
 * digest &lt;path&gt; &lt;sha256 lower-case hex&gt;     (one line per file, sorted by the UTF-8 bytes of path)
 * </pre>
 * {@code eval_metrics}, {@code created_at}, {@code signature} and {@code signing_key_id} are not covered.
 */
public final class ReleaseSigning {

    /** JCA name of the algorithm, for {@link KeyPairGenerator}, {@link Signature} and key factories. */
    public static final String ALGORITHM = "Ed25519";
    /** First line of the canonical payload; changes whenever the payload format changes. */
    public static final String PAYLOAD_HEADER = "rewardstream-release-v1";

    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");

    private ReleaseSigning() {
    }

    /**
     * The canonical payload bytes of {@code release} (see the class comment).
     *
     * @throws IllegalArgumentException when a covered field contains a control character (a line break would make
     *                                  the payload ambiguous), a digest is not 64 hex digits, or a path is empty
     */
    public static byte[] canonicalPayload(ModelRelease release) {
        Objects.requireNonNull(release, "release");
        StringBuilder sb = new StringBuilder(256);
        sb.append(PAYLOAD_HEADER).append('\n');
        sb.append("model_name=").append(field("model_name", release.getModelName())).append('\n');
        sb.append("version=").append(release.getVersion()).append('\n');
        sb.append("location=").append(field("location", release.getLocation())).append('\n');
        sb.append("parent_version=").append(release.getParentVersion() == null ? "" : release.getParentVersion())
                .append('\n');
        sb.append("rollback=").append(release.getRollback()).append('\n');
        Map<String, String> digests = release.getDigests() == null ? Map.of() : release.getDigests();
        List<Map.Entry<byte[], String>> files = new ArrayList<>(digests.size());
        for (Map.Entry<String, String> e : digests.entrySet()) {
            String path = field("digests path", e.getKey());
            if (path.isEmpty() || path.indexOf(' ') >= 0) {
                // a space would make "digest <path> <sha>" ambiguous to a naive parser
                throw new IllegalArgumentException("release digests: path '" + path + "' is empty or contains a space");
            }
            String sha = e.getValue();
            if (sha == null || !SHA256_HEX.matcher(sha).matches()) {
                throw new IllegalArgumentException("release digests: '" + path + "' has no SHA-256 (64 hex digits): "
                        + sha);
            }
            files.add(Map.entry(path.getBytes(StandardCharsets.UTF_8), sha.toLowerCase(Locale.ROOT)));
        }
        files.sort((a, b) -> Arrays.compareUnsigned(a.getKey(), b.getKey()));
        ByteArrayOutputStream out = new ByteArrayOutputStream(sb.length() + files.size() * 100);
        out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
        for (Map.Entry<byte[], String> f : files) {
            out.writeBytes("digest ".getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(f.getKey());
            out.writeBytes((" " + f.getValue() + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    /** The canonical payload as text (for logs, docs and cross-language tests). */
    public static String canonicalText(ModelRelease release) {
        return new String(canonicalPayload(release), StandardCharsets.UTF_8);
    }

    /**
     * The digests a release of {@code modelDir} carries: SHA-256 of every regular file, the manifest
     * {@value ModelManifest#FILE_NAME} included (so the signature covers it), by '/'-separated relative path.
     *
     * @throws java.io.UncheckedIOException when the directory cannot be read
     */
    public static Map<String, String> releaseDigests(java.nio.file.Path modelDir) {
        Map<String, String> out = new java.util.TreeMap<>(ModelManifest.digest(modelDir));
        java.nio.file.Path manifest = modelDir.resolve(ModelManifest.FILE_NAME);
        if (java.nio.file.Files.isRegularFile(manifest)) {
            try {
                out.put(ModelManifest.FILE_NAME, ModelManifest.sha256(manifest));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot digest " + manifest, e);
            }
        }
        return out;
    }

    /** A fresh Ed25519 key pair. */
    public static KeyPair generateKeyPair() {
        try {
            return KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519 provider", e);
        }
    }

    /**
     * The Base64 (standard alphabet, padded) Ed25519 signature of {@code release}'s canonical payload.
     *
     * @throws IllegalArgumentException when {@code key} is not an Ed25519 private key or the release is not
     *                                  canonicalizable
     */
    public static String sign(ModelRelease release, PrivateKey key) {
        return Base64.getEncoder().encodeToString(signBytes(canonicalPayload(release), key));
    }

    /**
     * A copy of {@code release} carrying its signature and {@code keyId}; the input is not modified.
     *
     * @param keyId the public key's id on the verifying side (its file name without extension)
     */
    public static ModelRelease signed(ModelRelease release, PrivateKey key, String keyId) {
        if (keyId == null || keyId.isBlank()) {
            throw new IllegalArgumentException("signing key id is required");
        }
        ModelRelease copy = ModelRelease.newBuilder(release).build();
        copy.setSignature(sign(release, key));
        copy.setSigningKeyId(keyId);
        return copy;
    }

    /**
     * Whether {@code release.signature} is a valid Ed25519 signature of its canonical payload under {@code key}.
     * False (never an exception) for a missing or malformed signature or a payload that cannot be canonicalized.
     */
    public static boolean verify(ModelRelease release, PublicKey key) {
        String sig = release.getSignature();
        if (sig == null) {
            return false;
        }
        byte[] raw;
        byte[] payload;
        try {
            raw = Base64.getDecoder().decode(sig.strip());
            payload = canonicalPayload(release);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return verifyBytes(payload, raw, key);
    }

    /** Ed25519 signature of raw bytes. @throws IllegalArgumentException when the key is not Ed25519 */
    public static byte[] signBytes(byte[] payload, PrivateKey key) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(key);
            s.update(payload);
            return s.sign();
        } catch (InvalidKeyException e) {
            throw new IllegalArgumentException("not an Ed25519 private key: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    /** Whether {@code signature} is valid for {@code payload} under {@code key}; false for a wrong key type. */
    public static boolean verifyBytes(byte[] payload, byte[] signature, PublicKey key) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            s.update(payload);
            return s.verify(signature);
        } catch (InvalidKeyException | SignatureException e) {
            return false;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519 provider", e);
        }
    }

    private static String field(String name, String value) {
        if (value == null) {
            throw new IllegalArgumentException("release " + name + " is required");
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                throw new IllegalArgumentException("release " + name + " contains a control character: '"
                        + value.replaceAll("\\p{Cntrl}", "?") + "'");
            }
        }
        return value;
    }
}
