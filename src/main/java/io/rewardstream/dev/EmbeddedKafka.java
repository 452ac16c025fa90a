package io.rewardstream.dev;

import io.rewardstream.files.FileTrees;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-process, single-node KRaft Kafka broker (combined broker + controller) bound to 127.0.0.1 on free
 * ports, with settings tuned for tests (replication 1, no rebalance delay, no auto topic creation).
 *
 * <p>Ownership: the caller owns the instance and must {@link #close()} it; closing shuts the broker down and
 * deletes its temporary log directory. {@link #start()} blocks until the broker answers an Admin request.
 * Thread-safe after start; {@link #close()} is idempotent.
 *
 * <p>Secured mode ({@link #builder()}{@code .saslSsl(certs).start()}): the client listener speaks SASL_SSL with
 * SCRAM-SHA-512 (certificate with SAN IP:127.0.0.1, so clients keep hostname verification on), the controller
 * listener SASL_SSL with PLAIN (static broker credential: SCRAM is not usable between broker and controller before the
 * metadata is loaded), the inter-broker listener is the client listener with the super user, and KRaft's
 * {@code StandardAuthorizer} denies everything without an ACL ({@code allow.everyone.if.no.acl.found=false}) except to
 * the super user. The super user's SCRAM credential is written at format time ({@code --add-scram}); other users are
 * added with {@link #addScramUser}. The generated server.properties holds secrets: it is owner-readable only and
 * deleted on close; passwords are never logged.
 */
public final class EmbeddedKafka implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

    private final Path dir;
    private volatile KafkaRaftServer server;
    private volatile Properties props;
    private final String bootstrapServers;
    private final Security security;
    private volatile boolean closed;

    /** Secured-mode settings (null = the default PLAINTEXT broker). */
    private record Security(DevCertificates certs, String superUser, String superPassword, String controllerPassword) {
    }

    private EmbeddedKafka(Path dir, KafkaRaftServer server, String bootstrapServers, Security security) {
        this.dir = dir;
        this.server = server;
        this.bootstrapServers = bootstrapServers;
        this.security = security;
    }

    /** Options for a broker other than the default PLAINTEXT one. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder of an {@link EmbeddedKafka}; {@link #start()} without options equals {@link EmbeddedKafka#start()}. */
    public static final class Builder {
        private DevCertificates certs;
        private String superUser = "admin";
        private String superPassword;

        private Builder() {
        }

        /**
         * SASL_SSL (SCRAM-SHA-512) client listener and ACLs (StandardAuthorizer), TLS from {@code certs} (e.g.
         * {@link DevCertificates#generate}).
         */
        public Builder saslSsl(DevCertificates certs) {
            this.certs = Objects.requireNonNull(certs, "certs");
            return this;
        }

        /** The super user (broker and admin principal); default {@code admin} with a random password. */
        public Builder superUser(String name, String password) {
            if (name == null || !name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("super user name must match [A-Za-z0-9._-]+, got '" + name + "'");
            }
            checkSecret(password);
            this.superUser = name;
            this.superPassword = password;
            return this;
        }

        public EmbeddedKafka start() throws Exception {
            if (certs == null) {
                return EmbeddedKafka.start(null);
            }
            String pw = superPassword != null ? superPassword : DevCertificates.randomSecret();
            return EmbeddedKafka.start(new Security(certs, superUser, pw, DevCertificates.randomSecret()));
        }
    }

    /**
     * Formats a fresh log directory and starts a broker.
     *
     * @return a running broker, ready to accept Admin, producer and consumer clients
     * @throws Exception if formatting fails, the broker fails to start, or it is not ready within 120 s
     *                   (everything started so far is cleaned up)
     */
    public static EmbeddedKafka start() throws Exception {
        return start(null);
    }

    private static EmbeddedKafka start(Security security) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Files.createTempDirectory("rewardstream-kafka-");
        KafkaRaftServer server = null;
        try {
            int brokerPort = freePort();
            int controllerPort = freePort();
            Path logDir = Files.createDirectories(dir.resolve("logs"));
            Properties props = brokerProperties(logDir, brokerPort, controllerPort);
            if (security != null) {
                secure(props, security, brokerPort, controllerPort);
            }
            Path propsFile = dir.resolve("server.properties");
            Files.createFile(propsFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (OutputStream out = Files.newOutputStream(propsFile)) {
                props.store(out, "rewardstream embedded broker");
            }
            format(propsFile, security);

            server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            String bootstrap = "127.0.0.1:" + brokerPort;
            EmbeddedKafka kafka = new EmbeddedKafka(dir, server, bootstrap, security);
            kafka.props = props;
            awaitReady(bootstrap, kafka.adminProperties());
            log.info("Embedded Kafka ready at {}{} in {} ms", bootstrap,
                    security == null ? "" : " (SASL_SSL SCRAM-SHA-512, ACLs on, super user " + security.superUser() + ")",
                    (System.nanoTime() - t0) / 1_000_000);
            return kafka;
        } catch (Exception | Error e) {
            if (server != null) {
                shutdownQuietly(server);
            }
            deleteRecursively(dir);
            throw e;
        }
    }

    /** {@code 127.0.0.1:<port>} of the PLAINTEXT broker listener. */
    public String bootstrapServers() {
        return bootstrapServers;
    }

    /** Whether this broker runs in secured mode (SASL_SSL + ACLs). */
    public boolean secured() {
        return security != null;
    }

    /**
     * Client properties (bootstrap servers, and in secured mode the super user's SASL_SSL settings) for an Admin
     * client: what tests use to create topics, users and ACLs.
     */
    public Map<String, Object> adminProperties() {
        if (security == null) {
            return Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        }
        return clientProperties(security.superUser(), security.superPassword());
    }

    /**
     * SASL_SSL SCRAM-SHA-512 client properties for {@code user}: bootstrap servers, {@code security.protocol},
     * {@code sasl.mechanism}, {@code sasl.jaas.config} and the truststore (hostname verification stays on).
     *
     * @throws IllegalStateException when the broker is not secured
     */
    public Map<String, Object> clientProperties(String user, String password) {
        if (security == null) {
            throw new IllegalStateException("not a secured broker");
        }
        checkSecret(password);
        Map<String, Object> m = new HashMap<>();
        m.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        m.put("security.protocol", "SASL_SSL");
        m.put("sasl.mechanism", "SCRAM-SHA-512");
        m.put("sasl.jaas.config", scramJaas(user, password));
        m.put("ssl.truststore.location", security.certs().truststore().toString());
        m.put("ssl.truststore.password", security.certs().truststorePassword());
        m.put("ssl.truststore.type", security.certs().storeType());
        return m;
    }

    /**
     * Creates or replaces the SCRAM-SHA-512 credential of {@code user} (Admin {@code alterUserScramCredentials} as
     * the super user) and waits until the broker can authenticate it.
     */
    public void addScramUser(String user, String password) throws Exception {
        if (security == null) {
            throw new IllegalStateException("not a secured broker");
        }
        checkSecret(password);
        try (Admin admin = Admin.create(adminProperties())) {
            admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password))).all().get();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!admin.describeUserScramCredentials(List.of(user)).all().get().containsKey(user)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("SCRAM credential of " + user + " not visible within 30 s");
                }
                Thread.sleep(50);
            }
        }
        log.info("SCRAM-SHA-512 user {} added", user);
    }

    /**
     * Stops the broker (controlled shutdown) and starts it again on the SAME ports and log directory, as an operator
     * restart would: topics, committed offsets and transaction state survive. Blocks until it answers again. For
     * fault-injection tests; clients see a broker outage of a few seconds.
     *
     * @throws IllegalStateException when closed
     * @throws Exception             when the broker does not come back within 120 s
     */
    public synchronized void restart() throws Exception {
        if (closed) {
            throw new IllegalStateException("broker closed");
        }
        long t0 = System.nanoTime();
        shutdownQuietly(server);
        server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
        server.startup();
        awaitReady(bootstrapServers, adminProperties());
        log.info("Embedded Kafka restarted at {} in {} ms", bootstrapServers, (System.nanoTime() - t0) / 1_000_000);
    }

    /** Shuts the broker down and deletes its log directory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutdownQuietly(server);
        deleteRecursively(dir);
    }

    static Properties brokerProperties(Path logDir, int brokerPort, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toAbsolutePath().toString());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", "1");
        p.put("min.insync.replicas", "1");
        p.put("auto.create.topics.enable", "false");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("log.flush.interval.messages", String.valueOf(Long.MAX_VALUE));
        p.put("log.segment.bytes", String.valueOf(64 * 1024 * 1024));
        // 1 MiB offset/time indexes, not Kafka's 10 MiB: ample for 64 MiB segments (16,384 entries at most, 128 / 192
        // KiB), and on this machine's kernel (6.18) a page fault on a sparse preallocated index mmap read ahead large
        // folios and zero-filled them (perf: 32% of the bench's CPU in __pi_memset <- ext4_mpage_readpages <-
        // filemap_fault in the request handlers), so every stage creating topics slowed the broker 3-5x for the rest
        // of the process (README "Benchmark").
        p.put("log.index.size.max.bytes", String.valueOf(1024 * 1024));
        return p;
    }

    /** Listener, SASL, TLS and authorizer settings of the secured mode (see the class comment). */
    static void secure(Properties p, Security s, int brokerPort, int controllerPort) {
        p.put("listeners", "SECURE://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "SECURE://127.0.0.1:" + brokerPort);
        p.put("listener.security.protocol.map", "SECURE:SASL_SSL,CONTROLLER:SASL_SSL");
        p.put("inter.broker.listener.name", "SECURE");
        p.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
        p.put("listener.name.secure.sasl.enabled.mechanisms", "SCRAM-SHA-512");
        p.put("sasl.mechanism.inter.broker.protocol", "SCRAM-SHA-512");
        p.put("listener.name.secure.scram-sha-512.sasl.jaas.config", scramJaas(s.superUser(), s.superPassword()));
        p.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
        p.put("sasl.mechanism.controller.protocol", "PLAIN");
        p.put("listener.name.controller.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + s.superUser()
                        + "\" password=\"" + s.controllerPassword() + "\" user_" + s.superUser() + "=\""
                        + s.controllerPassword() + "\";");
        DevCertificates c = s.certs();
        p.put("ssl.keystore.location", c.keystore().toString());
        p.put("ssl.keystore.password", c.keystorePassword());
        p.put("ssl.key.password", c.keystorePassword());
        p.put("ssl.keystore.type", c.storeType());
        p.put("ssl.truststore.location", c.truststore().toString());
        p.put("ssl.truststore.password", c.truststorePassword());
        p.put("ssl.truststore.type", c.storeType());
        p.put("ssl.endpoint.identification.algorithm", "https");
        p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
        p.put("allow.everyone.if.no.acl.found", "false");
        p.put("super.users", "User:" + s.superUser());
    }

    private static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    /** Passwords end up inside a JAAS line: no quotes, backslashes or semicolons. */
    private static void checkSecret(String password) {
        if (password == null || password.isEmpty() || password.matches(".*[\"\\\\;\\s].*")) {
            throw new IllegalArgumentException("password must be non-empty without quotes, backslashes, ';' or spaces");
        }
    }

    private static void format(Path propsFile, Security security) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        List<String> args = new java.util.ArrayList<>(List.of(
                "format", "--standalone", "-t", Uuid.randomUuid().toString(), "-c", propsFile.toString()));
        if (security != null) {
            // the super user must exist before the broker can authenticate to itself (inter-broker SCRAM)
            args.add("--add-scram");
            args.add("SCRAM-SHA-512=[name=" + security.superUser() + ",password=" + security.superPassword() + "]");
        }
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            code = StorageTool.execute(args.toArray(String[]::new), out);
        }
        if (code != 0) {
            String output = buf.toString(StandardCharsets.UTF_8);
            if (security != null) {
                output = output.replace(security.superPassword(), "[hidden]");
            }
            throw new IllegalStateException("Kafka storage format failed (exit " + code + "): " + output);
        }
    }

    private static void awaitReady(String bootstrap, Map<String, Object> clientProps) throws Exception {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Map<String, Object> props = new HashMap<>(clientProps);
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000);
        try (Admin admin = Admin.create(props)) {
            Exception last = null;
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster().nodes().get().isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    last = e;
                }
                Thread.sleep(100);
            }
            throw new IllegalStateException("Embedded Kafka at " + bootstrap + " not ready within " + READY_TIMEOUT, last);
        }
    }

    /** A currently free TCP port on 127.0.0.1 (racy by nature, but adequate for one machine's tests). */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    private static void shutdownQuietly(KafkaRaftServer server) {
        try {
            server.shutdown();
            server.awaitShutdown();
        } catch (RuntimeException e) {
            log.warn("Embedded Kafka shutdown failed: {}", e.toString());
        }
    }

    static void deleteRecursively(Path dir) {
        List<Path> left = FileTrees.deleteBestEffort(dir);
        if (!left.isEmpty()) {
            log.warn("Could not delete {} path(s) under {}, e.g. {}", left.size(), dir, left.get(0));
        }
    }
}
