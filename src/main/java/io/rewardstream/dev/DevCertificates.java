package io.rewardstream.dev;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Throw-away TLS material for local stacks and tests, made by the JDK's own {@code keytool} run as a process: a CA
 * (basic constraints CA:true), a server certificate signed by it with SAN {@code IP:127.0.0.1,DNS:localhost}, a
 * PKCS12 server keystore (key + chain) and a PKCS12 truststore holding only the CA. Store passwords are random and
 * passed to keytool through its environment ({@code -storepass:env}), never on a command line.
 *
 * <p>Valid for 2 days: for tests and the dev stack only, never production.
 *
 * @param dir                directory holding the files (owned by the caller)
 * @param keystore           PKCS12 server keystore (alias {@code server})
 * @param truststore         PKCS12 truststore with the CA certificate (alias {@code ca})
 * @param caPem              the CA certificate, PEM
 * @param keystorePassword   store and key password of {@link #keystore}
 * @param truststorePassword store password of {@link #truststore}
 */
public record DevCertificates(Path dir, Path keystore, Path truststore, Path caPem, String keystorePassword,
                              String truststorePassword) {

    private static final String STORE_TYPE = "PKCS12";

    public DevCertificates {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(keystore, "keystore");
        Objects.requireNonNull(truststore, "truststore");
        Objects.requireNonNull(caPem, "caPem");
        Objects.requireNonNull(keystorePassword, "keystorePassword");
        Objects.requireNonNull(truststorePassword, "truststorePassword");
    }

    /** {@code PKCS12}: the type of both stores. */
    public String storeType() {
        return STORE_TYPE;
    }

    /**
     * Generates a CA, a server certificate for 127.0.0.1/localhost signed by it, a keystore and a truststore in
     * {@code dir} (created if absent).
     *
     * @throws IOException          when keytool cannot be run or fails (its output is in the message, never a password)
     * @throws InterruptedException when interrupted while keytool runs
     */
    public static DevCertificates generate(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String caPass = randomSecret();
        String ksPass = randomSecret();
        String tsPass = randomSecret();
        Path ca = dir.resolve("ca.p12");
        Path caPem = dir.resolve("ca.pem");
        Path ks = dir.resolve("server.p12");
        Path csr = dir.resolve("server.csr");
        Path crt = dir.resolve("server.pem");
        Path ts = dir.resolve("truststore.p12");
        String san = "SAN=IP:127.0.0.1,DNS:localhost";

        keytool(dir, List.of("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=rewardstream-dev-ca", "-ext", "bc:c", "-validity", "2",
                "-keystore", ca.toString(), "-storetype", STORE_TYPE, "-storepass:env", "CA_PASS"), caPass, ksPass, tsPass);
        keytool(dir, List.of("-exportcert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storetype", STORE_TYPE,
                "-storepass:env", "CA_PASS", "-file", caPem.toString()), caPass, ksPass, tsPass);
        keytool(dir, List.of("-genkeypair", "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=127.0.0.1", "-ext", san, "-validity", "2",
                "-keystore", ks.toString(), "-storetype", STORE_TYPE, "-storepass:env", "KS_PASS"), caPass, ksPass, tsPass);
        keytool(dir, List.of("-certreq", "-alias", "server", "-keystore", ks.toString(), "-storetype", STORE_TYPE,
                "-storepass:env", "KS_PASS", "-file", csr.toString()), caPass, ksPass, tsPass);
        keytool(dir, List.of("-gencert", "-rfc", "-alias", "ca", "-keystore", ca.toString(), "-storetype", STORE_TYPE,
                "-storepass:env", "CA_PASS", "-infile", csr.toString(), "-outfile", crt.toString(),
                "-ext", san, "-ext", "ku:c=digitalSignature,keyAgreement", "-ext", "eku=serverAuth,clientAuth",
                "-validity", "2"), caPass, ksPass, tsPass);
        keytool(dir, List.of("-importcert", "-noprompt", "-alias", "ca", "-file", caPem.toString(),
                "-keystore", ks.toString(), "-storetype", STORE_TYPE, "-storepass:env", "KS_PASS"), caPass, ksPass, tsPass);
        keytool(dir, List.of("-importcert", "-noprompt", "-alias", "server", "-file", crt.toString(),
                "-keystore", ks.toString(), "-storetype", STORE_TYPE, "-storepass:env", "KS_PASS"), caPass, ksPass, tsPass);
        keytool(dir, List.of("-importcert", "-noprompt", "-alias", "ca", "-file", caPem.toString(),
                "-keystore", ts.toString(), "-storetype", STORE_TYPE, "-storepass:env", "TS_PASS"), caPass, ksPass, tsPass);
        Files.deleteIfExists(csr);
        Files.deleteIfExists(ca); // the CA key is not needed any more: nothing else can be signed with it
        return new DevCertificates(dir, ks, ts, caPem, ksPass, tsPass);
    }

    /** Redacted: the passwords never appear. */
    @Override
    public String toString() {
        return "DevCertificates[keystore=" + keystore + ", truststore=" + truststore + ", passwords=[hidden]]";
    }

    private static void keytool(Path dir, List<String> args, String caPass, String ksPass, String tsPass)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("CA_PASS", caPass);
        pb.environment().put("KS_PASS", ksPass);
        pb.environment().put("TS_PASS", tsPass);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("keytool " + args.get(0) + " timed out");
        }
        if (p.exitValue() != 0) {
            throw new IOException("keytool " + args.get(0) + " failed (exit " + p.exitValue() + "): "
                    + new String(out, StandardCharsets.UTF_8).strip());
        }
    }

    /** 24 random bytes, URL-safe base64: no quotes or backslashes (safe inside a JAAS line). */
    public static String randomSecret() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
