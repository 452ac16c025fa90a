package io.rewardstream.topology;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the topic spec ({@code topology/topics.json}, from a file or the classpath), applies per-deployment
 * overrides and creates the missing topics.
 *
 * <p>Overrides are read from a flat map of dotted keys (other keys are ignored, so a whole application config
 * may be passed): {@code topics.<logical>.name}, {@code topics.<logical>.partitions},
 * {@code topics.<logical>.replication-factor} and {@code topics.<logical>.config.<kafka topic config>}. A
 * {@code topics.*} key naming an unknown topic or attribute is an error naming the key.
 *
 * <p>Immutable and thread-safe; the {@link Admin} passed to {@link #createAll(Admin)} stays owned by the caller.
 */
public final class TopicProvisioner {

    private static final Logger log = LoggerFactory.getLogger(TopicProvisioner.class);

    /** Classpath location of the default spec (a copy of {@code topology/topics.json}). */
    public static final String DEFAULT_RESOURCE = "topology/topics.json";

    public static final String ROLLOUTS = "rollouts";
    public static final String REWARDS = "rewards";
    public static final String GROUP_ADVANTAGES = "group-advantages";
    public static final String PREFERENCES = "preferences";
    public static final String RANKED_PREFERENCES = "ranked-preferences";
    public static final String MODEL_RELEASES = "model-releases";
    public static final String DEAD_LETTERS = "rewardstream-dead-letters";
    /** Per-flush KL observations for the shared adaptive KL controller (KlObservation). */
    public static final String KL_OBSERVATIONS = "kl-observations";
    /** Compacted: the shared beta after each controller update (KlCoefficient). */
    public static final String KL_COEFFICIENTS = "kl-coefficients";

    private static final long ADMIN_TIMEOUT_SECONDS = 60;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, TopicSpec> specs;

    private TopicProvisioner(Map<String, TopicSpec> specs) {
        this.specs = specs;
    }

    /**
     * The spec from the classpath copy of {@code topology/topics.json}, with overrides applied.
     *
     * @throws IllegalStateException    if the resource is missing
     * @throws IllegalArgumentException if the spec or an override is invalid (message names the key)
     */
    public static TopicProvisioner fromClasspath(Map<String, ?> overrides) {
        ClassLoader cl = Thread.currentThread().getContextClassLoader() != null
                ? Thread.currentThread().getContextClassLoader() : TopicProvisioner.class.getClassLoader();
        try (InputStream in = cl.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(DEFAULT_RESOURCE + " not found on the classpath");
            }
            return new TopicProvisioner(applyOverrides(parse(JSON.readTree(in), "classpath:" + DEFAULT_RESOURCE),
                    overrides));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read classpath:" + DEFAULT_RESOURCE, e);
        }
    }

    /**
     * The spec from a JSON file, with overrides applied.
     *
     * @throws UncheckedIOException     if the file cannot be read or is not JSON
     * @throws IllegalArgumentException if the spec or an override is invalid (message names the key)
     */
    public static TopicProvisioner fromFile(Path file, Map<String, ?> overrides) {
        try {
            return new TopicProvisioner(applyOverrides(parse(JSON.readTree(Files.readAllBytes(file)),
                    file.toString()), overrides));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UncheckedIOException("Topic spec " + file + " not found", e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read topic spec " + file + ": " + e.getMessage(), e);
        }
    }

    /** The specs, keyed by logical name, in declaration order (unmodifiable). */
    public Map<String, TopicSpec> specs() {
        return specs;
    }

    /**
     * The spec of one logical topic.
     *
     * @throws IllegalArgumentException if the logical name is not declared
     */
    public TopicSpec spec(String logicalName) {
        TopicSpec s = specs.get(logicalName);
        if (s == null) {
            throw new IllegalArgumentException("Unknown logical topic '" + logicalName + "', declared: "
                    + specs.keySet());
        }
        return s;
    }

    /** The actual Kafka topic name of a logical topic (after overrides). */
    public String topicName(String logicalName) {
        return spec(logicalName).name();
    }

    /**
     * Creates every declared topic that does not exist yet; existing topics are left untouched (a partition count
     * or cleanup policy differing from the spec is reported as a warning). Idempotent, also under a concurrent
     * creation race.
     *
     * @throws ProvisioningException if the cluster refuses a creation or does not answer within 60 s
     * @throws InterruptedException  if interrupted while waiting for the cluster
     */
    public Report createAll(Admin admin) throws InterruptedException {
        Set<String> present = await(admin.listTopics(new ListTopicsOptions().listInternal(false)).names(),
                "list topics");
        List<TopicSpec> missing = new ArrayList<>();
        List<String> existing = new ArrayList<>();
        for (TopicSpec s : specs.values()) {
            if (present.contains(s.name())) {
                existing.add(s.name());
            } else {
                missing.add(s);
            }
        }
        List<String> created = new ArrayList<>();
        if (!missing.isEmpty()) {
            CreateTopicsResult result = admin.createTopics(missing.stream().map(TopicSpec::toNewTopic).toList());
            for (TopicSpec s : missing) {
                try {
                    result.values().get(s.name()).get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    created.add(s.name());
                    log.info("Created topic {} ({} partitions, replication {}, {})", s.name(),
                            s.partitions() == -1 ? "default" : s.partitions(),
                            s.replicationFactor() == -1 ? "default" : s.replicationFactor(), s.configs());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof TopicExistsException) {
                        existing.add(s.name()); // someone else created it meanwhile
                    } else {
                        throw new ProvisioningException("Creating topic " + s.name() + " failed: "
                                + e.getCause().getMessage(), e.getCause());
                    }
                } catch (TimeoutException e) {
                    throw new ProvisioningException("Creating topic " + s.name() + " timed out", e);
                }
            }
        }
        if (!created.isEmpty()) {
            awaitVisible(admin, created);
        }
        List<String> warnings = existing.isEmpty() ? List.of() : checkExisting(admin, existing);
        warnings.forEach(w -> log.warn("{}", w));
        return new Report(List.copyOf(created), List.copyOf(existing), List.copyOf(warnings));
    }

    /**
     * Creation completes on the controller before the broker's metadata has the topic; wait until every partition
     * has a leader so callers (e.g. a Streams app checking its source topics) can use the topics right away.
     */
    private static void awaitVisible(Admin admin, List<String> names) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ADMIN_TIMEOUT_SECONDS);
        Throwable last = null;
        while (System.nanoTime() < deadline) {
            try {
                Map<String, TopicDescription> d = admin.describeTopics(names).allTopicNames()
                        .get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                if (d.values().stream().allMatch(t -> t.partitions().stream().allMatch(p -> p.leader() != null
                        && !p.leader().isEmpty()))) {
                    return;
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw new ProvisioningException("describe topics failed: " + e.getCause().getMessage(),
                            e.getCause());
                }
                last = e.getCause();
            } catch (TimeoutException e) {
                last = e;
            }
            Thread.sleep(50);
        }
        throw new ProvisioningException("Created topics " + names + " not visible within " + ADMIN_TIMEOUT_SECONDS
                + " s", last);
    }

    private List<String> checkExisting(Admin admin, List<String> existing) throws InterruptedException {
        Map<String, TopicSpec> byName = specs.values().stream()
                .collect(Collectors.toMap(TopicSpec::name, s -> s, (a, b) -> a, LinkedHashMap::new));
        Map<String, TopicDescription> descriptions =
                await(admin.describeTopics(existing).allTopicNames(), "describe topics");
        List<ConfigResource> resources = existing.stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        Map<ConfigResource, Config> configs = await(admin.describeConfigs(resources).all(), "describe configs");
        List<String> warnings = new ArrayList<>();
        for (String name : existing) {
            TopicSpec s = byName.get(name);
            int actual = descriptions.get(name).partitions().size();
            if (s.partitions() != -1 && actual != s.partitions()) {
                warnings.add("Topic " + name + " exists with " + actual + " partitions, spec says "
                        + s.partitions() + " (left unchanged)");
            }
            ConfigEntry policy = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name)).get("cleanup.policy");
            String wanted = s.configs().getOrDefault("cleanup.policy", "delete");
            if (policy != null && !normalizePolicy(policy.value()).equals(normalizePolicy(wanted))) {
                warnings.add("Topic " + name + " exists with cleanup.policy=" + policy.value() + ", spec says "
                        + wanted + " (left unchanged)");
            }
        }
        return warnings;
    }

    private static String normalizePolicy(String p) {
        return List.of(p.replace(" ", "").split(",")).stream().sorted().collect(Collectors.joining(","));
    }

    private static <T> T await(KafkaFuture<T> f, String what) throws InterruptedException {
        try {
            return f.get(ADMIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new ProvisioningException(what + " failed: " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new ProvisioningException(what + " timed out after " + ADMIN_TIMEOUT_SECONDS + " s", e);
        }
    }

    // ---- parsing ------------------------------------------------------------------------------------------

    static Map<String, TopicSpec> parse(JsonNode root, String source) {
        JsonNode topics = root == null ? null : root.get("topics");
        if (topics == null || !topics.isObject() || topics.isEmpty()) {
            throw new IllegalArgumentException(source + ": expected a non-empty object \"topics\"");
        }
        Map<String, TopicSpec> out = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> it = topics.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String logical = e.getKey();
            JsonNode t = e.getValue();
            String where = source + ": topics." + logical;
            if (!t.isObject()) {
                throw new IllegalArgumentException(where + ": expected an object");
            }
            Map<String, String> configs = new LinkedHashMap<>();
            JsonNode c = t.get("configs");
            if (c != null && !c.isNull()) {
                if (!c.isObject()) {
                    throw new IllegalArgumentException(where + ".configs: expected an object");
                }
                c.fields().forEachRemaining(ce -> {
                    if (!ce.getValue().isValueNode() || ce.getValue().isNull()) {
                        throw new IllegalArgumentException(where + ".configs." + ce.getKey()
                                + ": expected a string or number");
                    }
                    configs.put(ce.getKey(), ce.getValue().asText());
                });
            }
            String name = t.hasNonNull("name") ? t.get("name").asText() : logical;
            int partitions = intField(t, "partitions", where);
            int rf = intField(t, "replicationFactor", where);
            if (rf > Short.MAX_VALUE) {
                throw new IllegalArgumentException(where + ".replicationFactor: too large: " + rf);
            }
            try {
                out.put(logical, new TopicSpec(logical, name,
                        t.hasNonNull("description") ? t.get("description").asText() : "",
                        partitions, (short) rf, configs));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(source + ": " + ex.getMessage(), ex);
            }
        }
        checkUniqueNames(out.values(), source);
        return out;
    }

    private static int intField(JsonNode t, String field, String where) {
        JsonNode n = t.get(field);
        if (n == null || n.isNull()) {
            return -1; // broker default
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new IllegalArgumentException(where + "." + field + ": expected an integer, got " + n);
        }
        return n.intValue();
    }

    static Map<String, TopicSpec> applyOverrides(Map<String, TopicSpec> specs, Map<String, ?> overrides) {
        Map<String, TopicSpec> out = new LinkedHashMap<>(specs);
        if (overrides != null) {
            for (Map.Entry<String, ?> o : overrides.entrySet()) {
                String key = o.getKey();
                if (key == null || !key.startsWith("topics.")) {
                    continue;
                }
                String rest = key.substring("topics.".length());
                String logical = out.keySet().stream()
                        .filter(l -> rest.startsWith(l + "."))
                        .max((a, b) -> Integer.compare(a.length(), b.length()))
                        .orElseThrow(() -> new IllegalArgumentException(key + ": unknown logical topic, declared: "
                                + specs.keySet()));
                String attr = rest.substring(logical.length() + 1);
                String value = o.getValue() == null ? null : String.valueOf(o.getValue()).trim();
                if (value == null || value.isEmpty()) {
                    throw new IllegalArgumentException(key + ": value must not be empty");
                }
                TopicSpec s = out.get(logical);
                try {
                    if (attr.equals("name")) {
                        s = s.withName(value);
                    } else if (attr.equals("partitions")) {
                        s = s.withPartitions(Integer.parseInt(value));
                    } else if (attr.equals("replication-factor")) {
                        s = s.withReplicationFactor(Short.parseShort(value));
                    } else if (attr.startsWith("config.") && attr.length() > "config.".length()) {
                        s = s.withConfig(attr.substring("config.".length()), value);
                    } else {
                        throw new IllegalArgumentException(key + ": unknown attribute '" + attr
                                + "' (name, partitions, replication-factor, config.<kafka key>)");
                    }
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(key + ": expected an integer, got '" + value + "'", e);
                }
                out.put(logical, s);
            }
        }
        checkUniqueNames(out.values(), "overrides");
        return Collections.unmodifiableMap(out);
    }

    private static void checkUniqueNames(Collection<TopicSpec> specs, String source) {
        Map<String, String> seen = new LinkedHashMap<>();
        for (TopicSpec s : specs) {
            String previous = seen.putIfAbsent(s.name(), s.logicalName());
            if (previous != null) {
                throw new IllegalArgumentException(source + ": topics." + previous + " and topics." + s.logicalName()
                        + " both map to Kafka topic '" + s.name() + "'");
            }
        }
    }

    /**
     * What {@link #createAll(Admin)} did.
     *
     * @param created  topics created by this call
     * @param existing declared topics that already existed (left unchanged)
     * @param warnings differences between existing topics and the spec
     */
    public record Report(List<String> created, List<String> existing, List<String> warnings) {
        /** One line, e.g. {@code created [a, b]; existing [c]; 0 warnings}. */
        public String summary() {
            return "created " + created + "; existing " + existing + "; " + warnings.size() + " warning(s)";
        }
    }

    /** The cluster refused or did not answer a provisioning request. */
    public static final class ProvisioningException extends RuntimeException {
        public ProvisioningException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
