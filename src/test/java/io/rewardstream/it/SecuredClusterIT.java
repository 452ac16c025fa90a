package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.ApicurioRegistry;
import io.rewardstream.dev.DevCertificates;
import io.rewardstream.dev.EmbeddedKafka;
import io.rewardstream.schema.AvroDeserializer;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.scoring.ConstantRewardModel;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The scorer and the retraining job on a SASL_SSL (SCRAM-SHA-512) broker with KRaft's StandardAuthorizer: each
 * principal can do exactly what its ACLs allow (the scorer reads rollouts and writes rewards but cannot publish a model
 * release; the retraining job can), an intruder is refused with an authorization error while the scorer keeps scoring,
 * the scorer's password comes from a {@code ${file:...}} placeholder and never appears in the logs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SecuredClusterIT {
    private static final String APP_ID = "secured-scorer";
    private static final String ROLLOUTS = "sec-rollouts";
    private static final String REWARDS = "sec-rewards";
    private static final String ADVANTAGES = "sec-advantages";
    private static final String DLQ = "sec-dlq";
    private static final String RELEASES = "sec-model-releases";
    private static final String PREFERENCES = "sec-preferences";

    private final Map<String, String> passwords = new HashMap<>();
    private Path dir;
    private EmbeddedKafka kafka;
    private ApicurioRegistry registry;

    @BeforeAll
    void startSecuredStack() throws Exception {
        dir = Files.createTempDirectory("secured-it-");
        long t0 = System.nanoTime();
        DevCertificates certs = DevCertificates.generate(dir.resolve("tls"));
        System.out.printf("keytool CA + broker certificate in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        kafka = EmbeddedKafka.builder().saslSsl(certs).start();
        registry = ApicurioRegistry.start();
        for (String user : List.of("scorer", "retrain", "trainer", "intruder")) {
            passwords.put(user, DevCertificates.randomSecret());
            kafka.addScramUser(user, passwords.get(user));
        }
        try (Admin admin = Admin.create(kafka.adminProperties())) {
            List<NewTopic> topics = new ArrayList<>();
            for (String t : List.of(ROLLOUTS, REWARDS, ADVANTAGES, DLQ, RELEASES, PREFERENCES)) {
                topics.add(new NewTopic(t, 1, (short) 1));
            }
            admin.createTopics(topics).all().get();
            admin.createAcls(acls()).all().get();
        }
    }

    /** Least privilege for each principal; the intruder has none. */
    private static List<AclBinding> acls() {
        List<AclBinding> b = new ArrayList<>();
        // scorer: read rollouts (and releases, for the release watcher), write its three outputs, own its internals
        allow(b, "scorer", ResourceType.TOPIC, ROLLOUTS, PatternType.LITERAL, AclOperation.READ, AclOperation.DESCRIBE);
        allow(b, "scorer", ResourceType.TOPIC, RELEASES, PatternType.LITERAL, AclOperation.READ, AclOperation.DESCRIBE);
        for (String out : List.of(REWARDS, ADVANTAGES, DLQ)) {
            allow(b, "scorer", ResourceType.TOPIC, out, PatternType.LITERAL, AclOperation.WRITE, AclOperation.DESCRIBE);
        }
        allow(b, "scorer", ResourceType.TOPIC, APP_ID, PatternType.PREFIXED, AclOperation.ALL); // changelogs
        allow(b, "scorer", ResourceType.GROUP, APP_ID, PatternType.PREFIXED, AclOperation.READ, AclOperation.DESCRIBE);
        allow(b, "scorer", ResourceType.TRANSACTIONAL_ID, APP_ID, PatternType.PREFIXED, AclOperation.WRITE,
                AclOperation.DESCRIBE);
        // retraining job: read preferences, publish releases
        allow(b, "retrain", ResourceType.TOPIC, PREFERENCES, PatternType.LITERAL, AclOperation.READ, AclOperation.DESCRIBE);
        allow(b, "retrain", ResourceType.TOPIC, RELEASES, PatternType.LITERAL, AclOperation.WRITE, AclOperation.DESCRIBE);
        allow(b, "retrain", ResourceType.GROUP, "rewardstream-retrain", PatternType.PREFIXED, AclOperation.READ);
        // an RL trainer: writes rollouts, reads rewards
        allow(b, "trainer", ResourceType.TOPIC, ROLLOUTS, PatternType.LITERAL, AclOperation.WRITE, AclOperation.DESCRIBE);
        allow(b, "trainer", ResourceType.TOPIC, REWARDS, PatternType.LITERAL, AclOperation.READ, AclOperation.DESCRIBE);
        allow(b, "trainer", ResourceType.GROUP, "trainer-", PatternType.PREFIXED, AclOperation.READ);
        return b;
    }

    private static void allow(List<AclBinding> out, String user, ResourceType type, String name, PatternType pattern,
                              AclOperation... ops) {
        for (AclOperation op : ops) {
            out.add(new AclBinding(new ResourcePattern(type, name, pattern),
                    new AccessControlEntry("User:" + user, "*", op, AclPermissionType.ALLOW)));
        }
    }

    @AfterAll
    void stopStack() {
        if (registry != null) {
            registry.close();
        }
        if (kafka != null) {
            kafka.close();
        }
        if (dir != null) {
            deleteRecursively(dir);
        }
    }

    @Test
    void shouldLetEachPrincipalDoOnlyWhatItsAclsAllow() throws Exception {
        // the retraining job may publish a release
        send("retrain", RELEASES, "model-a:7");
        // the scorer may NOT: a compromised scorer cannot push a model to every other scorer
        assertThatThrownBy(() -> send("scorer", RELEASES, "evil:99")).hasRootCauseInstanceOf(AuthorizationException.class)
                .rootCause().hasMessageContaining(RELEASES);
        // ... nor forge rollouts; the retraining job may not write rewards
        assertThatThrownBy(() -> send("scorer", ROLLOUTS, "x")).hasRootCauseInstanceOf(AuthorizationException.class);
        assertThatThrownBy(() -> send("retrain", REWARDS, "x")).hasRootCauseInstanceOf(AuthorizationException.class);
        // the intruder (authenticated, no ACLs) can neither write nor read anything
        assertThatThrownBy(() -> send("intruder", ROLLOUTS, "x")).hasRootCauseInstanceOf(AuthorizationException.class);
        assertThatThrownBy(() -> send("intruder", RELEASES, "x")).hasRootCauseInstanceOf(AuthorizationException.class);
        assertThatThrownBy(() -> poll("intruder", REWARDS, "trainer-intruder"))
                .isInstanceOf(AuthorizationException.class);
        // a wrong password is an authentication failure, not a silent anonymous connection
        assertThatThrownBy(() -> send(kafka.clientProperties("scorer", "not-the-password"), ROLLOUTS, "x"))
                .hasRootCauseInstanceOf(SaslAuthenticationException.class);
        // the scorer may read the release the retraining job wrote
        assertThat(poll("scorer", RELEASES, APP_ID + "-probe")).contains("model-a:7").doesNotContain("evil:99");
    }

    @Test
    void shouldScoreUnderAclsRefuseAnIntruderAndNeverLogThePassword() throws Exception {
        Path secret = dir.resolve("scorer.password");
        Files.writeString(secret, passwords.get("scorer") + "\n", StandardCharsets.UTF_8);
        Path truststorePass = dir.resolve("truststore.password");
        Map<String, Object> trust = kafka.clientProperties("scorer", passwords.get("scorer"));
        Files.writeString(truststorePass, (String) trust.get("ssl.truststore.password"), StandardCharsets.UTF_8);
        // the deployment file as an operator writes it: secrets only as placeholders
        Path cfgFile = dir.resolve("scorer.properties");
        Files.writeString(cfgFile, String.join("\n",
                "application.id=" + APP_ID,
                "bootstrap.servers=" + kafka.bootstrapServers(),
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                        + "username=\"scorer\" password=\"${file:" + secret + "}\";",
                "ssl.truststore.location=" + trust.get("ssl.truststore.location"),
                "ssl.truststore.type=PKCS12",
                "ssl.truststore.password=${env:SECURED_IT_TRUSTSTORE_PASSWORD}",
                "schema.registry.url=" + registry.confluentApiUrl(),
                "topics.rollouts.name=" + ROLLOUTS,
                "topics.rewards.name=" + REWARDS,
                "topics.group-advantages.name=" + ADVANTAGES,
                "topics.rewardstream-dead-letters.name=" + DLQ,
                "state.dir=" + dir.resolve("state"),
                "metrics.port=-1",
                "replication.factor=1",
                "commit.interval.ms=100",
                "group.timeout.ms=3000",
                "batch.max.delay.ms=100",
                "model.warmup=false") + "\n", StandardCharsets.UTF_8);
        assertThat(Files.readString(cfgFile)).doesNotContain(passwords.get("scorer"));

        CapturingAppender logs = CapturingAppender.install();
        ScorerApp app = null;
        try {
            // the environment variable is simulated through the same resolver the CLI uses (System.getenv is read-only)
            Map<String, String> env = Map.of("SECURED_IT_TRUSTSTORE_PASSWORD",
                    (String) trust.get("ssl.truststore.password"));
            Map<String, String> raw = io.rewardstream.schema.ConfigSecrets.resolve(readProperties(cfgFile), env::get);
            ScorerConfig cfg = ScorerConfig.from(raw);
            assertThat(cfg.toString()).doesNotContain(passwords.get("scorer")).contains("sasl.jaas.config=[hidden]");
            app = new ScorerApp(cfg, ReleaseHook.none(), ConstantRewardModel.of(0.5f, 128, 260), null);
            app.start();
            ScorerApp running = app;
            ScorerIt.await("scorer RUNNING", Duration.ofMinutes(2), () -> running.state() == KafkaStreams.State.RUNNING);

            RolloutGenerator gen = new RolloutGenerator(11, "sec", 260, 128);
            List<Rollout> first = gen.groups(5, 2);
            produceRollouts(first);
            Set<String> rewarded = new HashSet<>();
            awaitRewards(rewarded, ids(first));

            // an intruder tries to forge a reward and to inject rollouts: refused, the scorer is unaffected
            assertThatThrownBy(() -> send("intruder", REWARDS, "forged")).hasRootCauseInstanceOf(AuthorizationException.class);
            assertThatThrownBy(() -> send("intruder", ROLLOUTS, "junk")).hasRootCauseInstanceOf(AuthorizationException.class);
            assertThatThrownBy(() -> send("scorer", RELEASES, "evil:1")).hasRootCauseInstanceOf(AuthorizationException.class);

            List<Rollout> second = gen.groups(5, 2);
            produceRollouts(second);
            awaitRewards(rewarded, ids(second));
            assertThat(app.state()).isEqualTo(KafkaStreams.State.RUNNING);
            assertThat(rewarded).hasSize(first.size() + second.size());
        } finally {
            if (app != null) {
                app.close();
            }
            logs.uninstall();
        }
        String all = logs.text();
        // the capture really saw the Kafka client configuration dumps (so the absence below means something)
        assertThat(all).contains("sasl.jaas.config = [hidden]").contains("ssl.truststore.password = [hidden]");
        for (String pw : List.of(passwords.get("scorer"), (String) trust.get("ssl.truststore.password"))) {
            assertThat(all).as("a secret in the logs").doesNotContain(pw);
        }
        System.out.printf("captured %d log events (%d chars) during scorer config/startup/scoring: no secret in them%n",
                logs.events(), all.length());
    }

    // ----------------------------------------------------------------------------------------------------------

    private Map<String, Object> props(String user) {
        return kafka.clientProperties(user, passwords.get(user));
    }

    private void send(String user, String topic, String value) throws Exception {
        send(props(user), topic, value);
    }

    private static void send(Map<String, Object> client, String topic, String value) throws Exception {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 15_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8))).get();
        } catch (ExecutionException e) {
            throw new Exception(e.getCause());
        }
    }

    private List<String> poll(String user, String topic, String group) {
        Map<String, Object> p = new HashMap<>(props(user));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline && out.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    out.add(new String(r.value(), StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }

    private void produceRollouts(List<Rollout> rollouts) {
        Map<String, Object> p = new HashMap<>(props("trainer"));
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        AvroSerializer<Rollout> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", registry.confluentApiUrl()), false);
        try (KafkaProducer<String, Rollout> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            for (Rollout r : rollouts) {
                producer.send(new ProducerRecord<>(ROLLOUTS, r.getGroupId(), r));
            }
            producer.flush();
        }
    }

    /** Reads rewards as the trainer (read_committed) until every id in {@code expected} is in {@code seen}. */
    private void awaitRewards(Set<String> seen, Set<String> expected) {
        Map<String, Object> p = new HashMap<>(props("trainer"));
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "trainer-" + java.util.UUID.randomUUID());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        AvroDeserializer<Reward> d = new AvroDeserializer<>(Reward.class);
        d.configure(Map.of("schema.registry.url", registry.confluentApiUrl()), false);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            c.subscribe(List.of(REWARDS));
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!seen.containsAll(expected)) {
                assertThat(System.nanoTime()).as("rewards for %s", expected).isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    seen.add(d.deserialize(r.topic(), r.value()).getRolloutId());
                }
            }
        }
    }

    private static Set<String> ids(List<Rollout> rs) {
        Set<String> s = new HashSet<>();
        rs.forEach(r -> s.add(r.getRolloutId()));
        return s;
    }

    private static Map<String, String> readProperties(Path file) throws java.io.IOException {
        java.util.Properties p = new java.util.Properties();
        try (var r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        Map<String, String> m = new HashMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
        return m;
    }

    private static void deleteRecursively(Path d) {
        try (var s = Files.walk(d)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException ignored) {
            // temp dir: best effort
        }
    }

    /**
     * A log4j2 appender on the root logger that keeps every event's formatted message and stack trace; raises
     * {@code org.apache.kafka} to INFO while installed (the shipped config has WARN) so client config dumps are seen.
     */
    static final class CapturingAppender extends AbstractAppender {
        private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
        private Level kafkaLevelBefore;

        private CapturingAppender() {
            super("secret-capture", null, null, true, Property.EMPTY_ARRAY);
        }

        static CapturingAppender install() {
            CapturingAppender a = new CapturingAppender();
            a.start();
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            a.kafkaLevelBefore = LogManager.getLogger("org.apache.kafka").getLevel();
            ctx.getConfiguration().getRootLogger().addAppender(a, Level.ALL, null);
            ctx.updateLoggers();
            Configurator.setLevel("org.apache.kafka", Level.INFO);
            return a;
        }

        @Override
        public void append(LogEvent event) {
            StringBuilder sb = new StringBuilder(event.getMessage().getFormattedMessage());
            if (event.getThrown() != null) {
                StringWriter w = new StringWriter();
                event.getThrown().printStackTrace(new PrintWriter(w));
                sb.append('\n').append(w);
            }
            lines.add(sb.toString());
        }

        void uninstall() {
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            ctx.getConfiguration().getRootLogger().removeAppender(getName());
            Configurator.setLevel("org.apache.kafka", kafkaLevelBefore == null ? Level.WARN : kafkaLevelBefore);
            ctx.updateLoggers();
            stop();
        }

        int events() {
            return lines.size();
        }

        String text() {
            synchronized (lines) {
                return String.join("\n", lines);
            }
        }
    }
}
