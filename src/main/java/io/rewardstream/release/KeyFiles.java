package io.rewardstream.release;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads and writes Ed25519 keys: public keys as X.509 SubjectPublicKeyInfo, private keys as PKCS#8, each either PEM
 * ({@code -----BEGIN PUBLIC KEY-----} / {@code -----BEGIN PRIVATE KEY-----}) or raw DER. Stateless; thread-safe.
 * Every failure is an {@link IOException} naming the file.
 */
public final class KeyFiles {

    private static final String PUBLIC_LABEL = "PUBLIC KEY";
    private static final String PRIVATE_LABEL = "PRIVATE KEY";

    private KeyFiles() {
    }

    /** Reads an Ed25519 public key (X.509, PEM or DER). */
    public static PublicKey readPublic(Path file) throws IOException {
        byte[] der = readDer(file, PUBLIC_LABEL);
        try {
            return factory().generatePublic(new X509EncodedKeySpec(der));
        } catch (InvalidKeySpecException | RuntimeException e) {
            throw new IOException("public key " + file + " is not an Ed25519 X.509 key: " + e.getMessage(), e);
        }
    }

    /** Reads an Ed25519 private key (PKCS#8, PEM or DER). */
    public static PrivateKey readPrivate(Path file) throws IOException {
        byte[] der = readDer(file, PRIVATE_LABEL);
        try {
            return factory().generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (InvalidKeySpecException | RuntimeException e) {
            throw new IOException("private key " + file + " is not an Ed25519 PKCS#8 key: " + e.getMessage(), e);
        }
    }

    /** Writes {@code key} as X.509 PEM; refuses to overwrite. */
    public static void writePublic(Path file, PublicKey key) throws IOException {
        write(file, pem(PUBLIC_LABEL, key.getEncoded()), false);
    }

    /** Writes {@code key} as PKCS#8 PEM with POSIX mode 600 (set at creation, never world-readable); refuses to overwrite. */
    public static void writePrivate(Path file, PrivateKey key) throws IOException {
        write(file, pem(PRIVATE_LABEL, key.getEncoded()), true);
    }

    /**
     * Every public key in {@code dir}: files named {@code *.pub} or {@code *.pem}, key id = file name without the
     * extension.
     *
     * @return key id to key, sorted by id
     * @throws IOException when the directory cannot be read, a file is not an Ed25519 public key, or two files
     *                     give the same id
     */
    public static Map<String, PublicKey> readPublicKeyDir(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("public key directory " + dir + " does not exist or is not a directory");
        }
        Map<String, PublicKey> keys = new TreeMap<>();
        Map<String, Path> seen = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.{pub,pem}")) {
            for (Path f : files) {
                if (!Files.isRegularFile(f)) {
                    continue;
                }
                String name = f.getFileName().toString();
                String id = name.substring(0, name.lastIndexOf('.'));
                Path other = seen.put(id, f);
                if (other != null) {
                    throw new IOException("key id '" + id + "' is given by two files: " + other + " and " + f);
                }
                keys.put(id, readPublic(f));
            }
        }
        return keys;
    }

    /** PEM text of {@code der} under {@code label}, 64 Base64 characters a line. */
    public static String pem(String label, byte[] der) {
        String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + label + "-----\n" + b64 + "\n-----END " + label + "-----\n";
    }

    private static byte[] readDer(Path file, String label) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("key file " + file + " does not exist or is not a file");
        }
        byte[] raw = Files.readAllBytes(file);
        String text = new String(raw, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN ");
        if (begin < 0) {
            return raw; // DER
        }
        String header = "-----BEGIN " + label + "-----";
        String footer = "-----END " + label + "-----";
        int h = text.indexOf(header);
        int f = text.indexOf(footer);
        if (h < 0 || f < h) {
            int eol = text.indexOf('\n', begin);
            throw new IOException("key file " + file + " is PEM but not '" + label + "': found '"
                    + text.substring(begin, eol < 0 ? text.length() : eol).strip() + "'");
        }
        try {
            return Base64.getMimeDecoder().decode(text.substring(h + header.length(), f));
        } catch (IllegalArgumentException e) {
            throw new IOException("key file " + file + " has malformed Base64: " + e.getMessage(), e);
        }
    }

    private static void write(Path file, String text, boolean secret) throws IOException {
        if (Files.exists(file)) {
            throw new FileAlreadyExistsException(file.toString(), null, "refusing to overwrite a key file");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        boolean posix = Files.getFileStore(parent).supportsFileAttributeView("posix");
        if (secret && posix) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(file);
        }
        Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    }

    private static KeyFactory factory() {
        try {
            return KeyFactory.getInstance(ReleaseSigning.ALGORITHM);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519 provider", e);
        }
    }
}
