package io.rewardstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.ShapingConfig;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.release.ReleaseConfig;
import io.rewardstream.training.RetrainConfig;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * Keeps the operations kit (docker/, ops/) consistent with the code, so the docs cannot drift: every file parses,
 * every configuration key they set is one the application reads, and every metric an alert or the dashboard queries
 * is one the code registers (rewardstream_*: grepped from src/main; kafka_*: scraped from a real, unstarted
 * KafkaStreams bound with Micrometer's KafkaStreamsMetrics).
 */
class OpsKitTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DOTTED_KEY = Pattern.compile("[a-z][a-z0-9-]*(\\.[a-z0-9-]+)+");
    private static final Pattern PROPERTY_LINE = Pattern.compile("^#?\\s*([a-z][a-z0-9.-]*)\\s*=", Pattern.MULTILINE);
    private static final Pattern METRIC = Pattern.compile("\\b((?:rewardstream|kafka)_[a-z0-9_]+)\\b");
    /** Kafka Streams' prefixes for per-client overrides (StreamsConfig.consumerPrefix(...) and friends). */
    private static final List<String> STREAMS_CLIENT_PREFIXES = List.of(StreamsConfig.CONSUMER_PREFIX,
            StreamsConfig.MAIN_CONSUMER_PREFIX, StreamsConfig.RESTORE_CONSUMER_PREFIX,
            StreamsConfig.GLOBAL_CONSUMER_PREFIX, StreamsConfig.PRODUCER_PREFIX, StreamsConfig.ADMIN_CLIENT_PREFIX);

    private static Set<String> kafkaClientKeys;

    @BeforeAll
    static void clientKeys() {
        kafkaClientKeys = new TreeSet<>();
        kafkaClientKeys.addAll(ConsumerConfig.configNames());
        kafkaClientKeys.addAll(ProducerConfig.configNames());
        kafkaClientKeys.addAll(AdminClientConfig.configNames());
    }

    @Test
    void shouldParseEveryYamlAndJsonFileOfTheKit() throws IOException {
        List<Path> files = kitFiles(".yaml", ".yml", ".json");
        assertThat(files).extracting(p -> ROOT.relativize(p).toString()).contains("docker/compose.yaml",
                "ops/prometheus/prometheus.yml", "ops/prometheus/alerts.yml", "ops/grafana/rewardstream-dashboard.json",
                "ops/k8s/scorer.yaml", "ops/k8s/retrain.yaml", "ops/k8s/configmaps.yaml");
        for (Path f : files) {
            List<JsonNode> docs = documents(f);
            assertThat(docs).as(f.toString()).isNotEmpty().allSatisfy(d -> assertThat(d.isObject()).as(f.toString()).isTrue());
        }
        for (Path f : kitFiles(".yaml").stream().filter(p -> p.startsWith(ROOT.resolve("ops/k8s"))).toList()) {
            for (JsonNode d : documents(f)) {
                if (f.endsWith("kustomization.yaml")) {
                    continue;
                }
                assertThat(d.path("apiVersion").asText()).as(f + " apiVersion").isNotBlank();
                assertThat(d.path("kind").asText()).as(f + " kind").isNotBlank();
                assertThat(d.path("metadata").path("namespace").asText()).as(f + " namespace")
                        .isIn("rewardstream", "");
            }
        }
    }

    @Test
    void shouldSetOnlyScorerKeysTheApplicationKnows() throws IOException {
        Set<String> known = knownScorerKeys();
        Map<String, Map<String, String>> sources = scorerSettings();
        assertThat(sources).containsKeys("docker/config/scorer.properties", "ops/k8s/configmaps.yaml");
        sources.forEach((where, props) -> assertThat(props.keySet()).as("scorer keys set in " + where)
                .allSatisfy(k -> assertThat(isKnownScorerKey(k, known)).as(where + ": unknown scorer key '" + k + "'")
                        .isTrue()));
    }

    @Test
    void shouldSetOnlyRetrainKeysTheApplicationKnows() throws IOException {
        Set<String> known = knownRetrainKeys();
        Map<String, Map<String, String>> sources = retrainSettings();
        assertThat(sources).containsKeys("docker/config/retrain.properties", "ops/k8s/configmaps.yaml");
        // The job reads Kafka client keys only under kafka.*: a bare max.poll.records would be ignored silently.
        sources.forEach((where, props) -> assertThat(props.keySet()).as("retrain keys set in " + where)
                .allSatisfy(k -> assertThat(known.contains(k) || k.startsWith("schema.registry.")
                        || (k.startsWith(RetrainConfig.KAFKA_PREFIX)
                        && kafkaClientKeys.contains(k.substring(RetrainConfig.KAFKA_PREFIX.length()))))
                        .as(where + ": unknown retrain key '" + k + "'").isTrue()));
    }

    @Test
    void shouldLoadTheDeploymentFilesWithTheRealConfigClasses() throws IOException {
        // Whole files (not the --set fragments, which only override a key of a file).
        Map<String, Map<String, String>> scorerFiles = new TreeMap<>(scorerSettings());
        scorerFiles.keySet().removeIf(k -> k.endsWith("--set"));
        assertThat(scorerFiles).hasSize(2);
        scorerFiles.forEach((where, props) -> {
            assertThatCode(() -> ScorerConfig.from(props)).as(where).doesNotThrowAnyException();
            assertThatCode(() -> ReleaseConfig.from(props)).as(where).doesNotThrowAnyException();
        });
        Map<String, Map<String, String>> retrainFiles = new TreeMap<>(retrainSettings());
        retrainFiles.keySet().removeIf(k -> k.endsWith("--set"));
        assertThat(retrainFiles).hasSize(2);
        retrainFiles.forEach((where, props) ->
                assertThatCode(() -> RetrainConfig.from(props)).as(where).doesNotThrowAnyException());
        // Scorer and retraining job of one deployment must agree on what they share.
        for (String where : List.of("docker/config/", "ops/k8s/configmaps.yaml")) {
            Map<String, String> sp = where.endsWith("/") ? scorerFiles.get(where + "scorer.properties") : scorerFiles.get(where);
            Map<String, String> rp = where.endsWith("/") ? retrainFiles.get(where + "retrain.properties") : retrainFiles.get(where);
            ScorerConfig scorer = ScorerConfig.from(sp);
            ReleaseConfig release = ReleaseConfig.from(sp);
            RetrainConfig retrain = RetrainConfig.from(rp);
            assertThat(release.modelRoot()).as(where + " model root").isEqualTo(retrain.modelRoot());
            assertThat(release.topic()).as(where + " release topic").isEqualTo(retrain.releasesTopic());
            assertThat(release.modelName()).as(where + " model name").isEqualTo(retrain.modelName());
            assertThat(scorer.deadLettersTopic()).as(where + " dead-letter topic").isEqualTo(retrain.deadLettersTopic());
            assertThat(retrain.baseModelDir().startsWith(retrain.modelRoot()))
                    .as(where + " base model inside the shared root").isTrue();
        }
    }

    @Test
    void shouldMountTheConfigFilesTheComposeCommandsName() throws IOException {
        JsonNode services = documents(ROOT.resolve("docker/compose.yaml")).get(0).path("services");
        int checked = 0;
        for (Map.Entry<String, JsonNode> svc : iterable(services.fields())) {
            List<String> cmd = strings(svc.getValue().path("command"));
            int i = cmd.indexOf("--config");
            if (i < 0) {
                continue;
            }
            String target = cmd.get(i + 1);
            String mount = strings(svc.getValue().path("volumes")).stream().filter(v -> v.contains(":" + target))
                    .findFirst().orElse(null);
            assertThat(mount).as(svc.getKey() + " mounts " + target).isNotNull();
            Path source = ROOT.resolve("docker").resolve(mount.substring(0, mount.indexOf(':'))).normalize();
            assertThat(source).as(svc.getKey() + " config source").isRegularFile();
            checked++;
        }
        assertThat(checked).as("services with --config").isGreaterThanOrEqualTo(2);
    }

    @Test
    void shouldQueryOnlyMetricsTheCodeRegisters(@TempDir Path stateDir) throws IOException {
        Set<String> referenced = referencedMetrics();
        assertThat(referenced).as("metrics in alerts.yml and the dashboard").contains(
                "rewardstream_dead_letters_total", "rewardstream_releases_refused_total",
                "rewardstream_retrain_rounds_total", "kafka_consumer_fetch_manager_records_lag_max");
        Set<String> registered = registeredRewardstreamMeters();
        assertThat(registered).as("meter names grepped from src/main").contains("rewardstream.batch.size");
        Set<String> kafka = kafkaStreamsSampleNames(stateDir);
        for (String m : referenced) {
            if (m.startsWith("kafka_")) {
                assertThat(kafka).as("Kafka Streams metric " + m + " (KafkaStreamsMetrics exposition)").contains(m);
            } else {
                assertThat(registered).as("rewardstream meter behind " + m).contains(meterName(m));
            }
        }
    }

    @Test
    void shouldAlertOnTheConfiguredKlTargetAndScrapedJobs() throws IOException {
        JsonNode alerts = documents(ROOT.resolve("ops/prometheus/alerts.yml")).get(0);
        JsonNode prom = documents(ROOT.resolve("ops/prometheus/prometheus.yml")).get(0);
        Set<String> jobs = new TreeSet<>();
        prom.path("scrape_configs").forEach(j -> jobs.add(j.path("job_name").asText()));
        for (String f : strings(prom.path("rule_files"))) {
            assertThat(ROOT.resolve("ops/prometheus").resolve(f)).isRegularFile();
        }
        String target = readProperties(ROOT.resolve("topology/scorer.properties")).get(ShapingConfig.KL_TARGET);
        List<String> names = new ArrayList<>();
        for (JsonNode g : alerts.path("groups")) {
            for (JsonNode r : g.path("rules")) {
                String name = r.path("alert").asText();
                String expr = r.path("expr").asText();
                names.add(name);
                assertThat(r.path("annotations").path("runbook").asText()).as(name + " runbook")
                        .isEqualTo("ops/RUNBOOK.md#" + name.toLowerCase());
                Matcher m = Pattern.compile("job=\"([^\"]+)\"").matcher(expr);
                while (m.find()) {
                    assertThat(jobs).as(name + " job label").contains(m.group(1));
                }
                if (name.equals("RewardstreamKlAboveTarget")) {
                    assertThat(expr).as("KL alert threshold = scoring.kl.target").endsWith("> " + target);
                }
            }
        }
        String runbook = Files.readString(ROOT.resolve("ops/RUNBOOK.md"));
        assertThat(names).isNotEmpty().allSatisfy(n -> assertThat(runbook).as("RUNBOOK section for " + n)
                .contains("### " + n));
    }

    // ------------------------------------------------------------------------------------------------- keys

    private static boolean isKnownScorerKey(String k, Set<String> known) {
        if (known.contains(k) || k.startsWith("schema.registry.") || k.startsWith(StreamsConfig.TOPIC_PREFIX)) {
            return true;
        }
        return STREAMS_CLIENT_PREFIXES.stream().anyMatch(p -> k.startsWith(p)
                && kafkaClientKeys.contains(k.substring(p.length())));
    }

    /** scorer.properties keys (commented-out examples too), the config classes' key constants, Streams/client names. */
    private static Set<String> knownScorerKeys() throws IOException {
        Set<String> keys = new TreeSet<>(documentedKeys(ROOT.resolve("topology/scorer.properties")));
        for (Class<?> c : List.of(ScorerConfig.class, RuntimeConfig.class, ShapingConfig.class, BatchingConfig.class,
                ReleaseConfig.class)) {
            keys.addAll(keyConstants(c));
        }
        keys.addAll(StreamsConfig.configDef().names());
        keys.addAll(kafkaClientKeys);
        return keys;
    }

    private static Set<String> knownRetrainKeys() throws IOException {
        Set<String> keys = new TreeSet<>(documentedKeys(ROOT.resolve("topology/retrain.properties")));
        keys.addAll(keyConstants(RetrainConfig.class));
        return keys;
    }

    private static Set<String> documentedKeys(Path propertiesFile) throws IOException {
        Set<String> keys = new TreeSet<>();
        Matcher m = PROPERTY_LINE.matcher(Files.readString(propertiesFile));
        while (m.find()) {
            keys.add(m.group(1));
        }
        assertThat(keys).as(propertiesFile.toString()).isNotEmpty();
        return keys;
    }

    private static Set<String> keyConstants(Class<?> c) {
        Set<String> keys = new TreeSet<>();
        for (Field f : c.getFields()) {
            int mod = f.getModifiers();
            if (Modifier.isStatic(mod) && Modifier.isFinal(mod) && f.getType() == String.class) {
                try {
                    String v = (String) f.get(null);
                    if (v != null && DOTTED_KEY.matcher(v).matches()) {
                        keys.add(v);
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return keys;
    }

    /** Where the kit sets scorer keys: its properties files, ConfigMaps and --set arguments of score commands. */
    private static Map<String, Map<String, String>> scorerSettings() throws IOException {
        return settings("score", "docker/config/scorer.properties", "scorer.properties");
    }

    private static Map<String, Map<String, String>> retrainSettings() throws IOException {
        return settings("retrain", "docker/config/retrain.properties", "retrain.properties");
    }

    private static Map<String, Map<String, String>> settings(String command, String file, String configMapKey)
            throws IOException {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        out.put(file, readProperties(ROOT.resolve(file)));
        for (Path f : kitFiles(".yaml", ".yml")) {
            String where = ROOT.relativize(f).toString();
            for (JsonNode d : documents(f)) {
                if ("ConfigMap".equals(d.path("kind").asText()) && d.path("data").has(configMapKey)) {
                    out.merge(where, parseProperties(d.path("data").path(configMapKey).asText()), OpsKitTest::union);
                }
                for (JsonNode args : commandLines(d)) {
                    List<String> a = strings(args);
                    if (!a.isEmpty() && a.get(0).equals(command)) {
                        Map<String, String> sets = new LinkedHashMap<>();
                        for (int i = 0; i < a.size() - 1; i++) {
                            if (a.get(i).equals("--set")) {
                                String kv = a.get(i + 1);
                                sets.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                            }
                        }
                        out.merge(where + " --set", sets, OpsKitTest::union);
                    }
                }
            }
        }
        return out;
    }

    /** compose services' {@code command} and k8s containers' {@code args}. */
    private static List<JsonNode> commandLines(JsonNode doc) {
        List<JsonNode> out = new ArrayList<>();
        doc.path("services").forEach(s -> out.add(s.path("command")));
        doc.path("spec").path("template").path("spec").path("containers").forEach(c -> out.add(c.path("args")));
        return out;
    }

    private static Map<String, String> union(Map<String, String> a, Map<String, String> b) {
        Map<String, String> m = new LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    // ---------------------------------------------------------------------------------------------- metrics

    private static Set<String> referencedMetrics() throws IOException {
        List<String> exprs = new ArrayList<>();
        for (JsonNode g : documents(ROOT.resolve("ops/prometheus/alerts.yml")).get(0).path("groups")) {
            g.path("rules").forEach(r -> exprs.add(r.path("expr").asText()));
        }
        JsonNode dash = JSON.readTree(ROOT.resolve("ops/grafana/rewardstream-dashboard.json").toFile());
        dash.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        assertThat(exprs).doesNotContain("");
        Set<String> names = new TreeSet<>();
        for (String e : exprs) {
            Matcher m = METRIC.matcher(e);
            while (m.find()) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The dotted meter name behind a Prometheus sample name (Micrometer: timers _seconds, counters _total, ...). */
    static String meterName(String prometheusName) {
        String n = prometheusName.replaceFirst("_(bucket|count|sum|max|total)$", "").replaceFirst("_seconds$", "");
        return n.replace('_', '.');
    }

    /** Every "rewardstream.x.y" literal under src/main/java, plus CONSTANT + ".suffix" concatenations. */
    private static Set<String> registeredRewardstreamMeters() throws IOException {
        Set<String> names = new TreeSet<>();
        Pattern literal = Pattern.compile("\"(rewardstream\\.[a-z0-9.]+)\"");
        Pattern constant = Pattern.compile("([A-Z][A-Z0-9_]*)\\s*=\\s*\"(rewardstream\\.[a-z0-9.]+)\"");
        Pattern concat = Pattern.compile("([A-Z][A-Z0-9_]*)\\s*\\+\\s*\"(\\.[a-z0-9.]+)\"");
        try (Stream<Path> files = Files.walk(ROOT.resolve("src/main/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String src = Files.readString(f);
                Map<String, String> constants = new HashMap<>();
                Matcher c = constant.matcher(src);
                while (c.find()) {
                    constants.put(c.group(1), c.group(2));
                }
                Matcher l = literal.matcher(src);
                while (l.find()) {
                    names.add(l.group(1));
                }
                Matcher cc = concat.matcher(src);
                while (cc.find()) {
                    if (constants.containsKey(cc.group(1))) {
                        names.add(constants.get(cc.group(1)) + cc.group(2));
                    }
                }
            }
        }
        return names;
    }

    /**
     * Sample names Micrometer's KafkaStreamsMetrics exposes for a real KafkaStreams: created (threads, clients and
     * their metrics exist) but never started, so it connects to nothing.
     */
    private static Set<String> kafkaStreamsSampleNames(Path stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "opskit-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        StreamsBuilder b = new StreamsBuilder();
        b.stream("in").to("out");
        Set<String> names = new TreeSet<>();
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try {
            KafkaStreams streams = new KafkaStreams(b.build(), p);
            try (KafkaStreamsMetrics metrics = new KafkaStreamsMetrics(streams)) {
                metrics.bindTo(registry);
                for (String line : registry.scrape().split("\n")) {
                    if (!line.isBlank() && !line.startsWith("#")) {
                        names.add(line.split("[{ ]", 2)[0]);
                    }
                }
            } finally {
                streams.close(CloseOptions.timeout(Duration.ofSeconds(10)));
            }
        } finally {
            registry.close();
        }
        assertThat(names).as("KafkaStreamsMetrics exposition").anyMatch(n -> n.startsWith("kafka_stream_"));
        return names;
    }

    // ------------------------------------------------------------------------------------------------ files

    private static List<Path> kitFiles(String... suffixes) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String dir : List.of("docker", "ops")) {
            try (Stream<Path> s = Files.walk(ROOT.resolve(dir))) {
                s.filter(Files::isRegularFile)
                        .filter(f -> Stream.of(suffixes).anyMatch(x -> f.getFileName().toString().endsWith(x)))
                        .sorted().forEach(out::add);
            }
        }
        return out;
    }

    private static List<JsonNode> documents(Path f) throws IOException {
        if (f.toString().endsWith(".json")) {
            return List.of(JSON.readTree(f.toFile()));
        }
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
            return it.readAll().stream().filter(d -> d != null && !d.isNull() && !d.isMissingNode()).toList();
        }
    }

    private static Map<String, String> readProperties(Path f) throws IOException {
        return parseProperties(Files.readString(f));
    }

    private static Map<String, String> parseProperties(String text) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> m = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k).trim()));
        return m;
    }

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(e -> out.add(e.isTextual() ? e.asText() : e.toString()));
        } else if (n.isTextual()) {
            out.add(n.asText());
        }
        return out;
    }

    private static <T> Iterable<T> iterable(java.util.Iterator<T> it) {
        return () -> it;
    }
}
