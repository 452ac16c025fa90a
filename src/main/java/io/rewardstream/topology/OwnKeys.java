package io.rewardstream.topology;

import io.rewardstream.scoring.RouteConfig;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Refuses unknown keys under the scorer's own prefixes, so a typo ({@code scoring.kl.coeff}) or a key this version does
 * not implement stops start-up instead of being silently ignored. The known keys are the ones documented in the
 * defaults file {@value ScorerConfig#DEFAULTS_RESOURCE} (set or shown commented out), so a key is accepted exactly when
 * the configuration reference describes it; {@code scoring.routes.<task>.weights} is checked by {@link RouteConfig}.
 * {@code batch.*} is shared with Kafka's producer ({@code batch.size}): Kafka client and Streams names pass.
 * Stateless; thread-safe.
 */
final class OwnKeys {
    /** Prefixes only the scorer uses (Kafka has no keys under them, except the Kafka names of {@code batch.}). */
    static final List<String> CHECKED_PREFIXES = List.of("scoring.", "model.", "release.", "batch.", "validation.",
            "rewards.", "shutdown.timeout.");
    private static final Pattern DOCUMENTED = Pattern.compile("^#?([a-z][a-z0-9_.\\-]*\\.[a-z0-9_.\\-]+)=.*$");
    private static final Set<String> KNOWN = documented();
    private static final Set<String> KAFKA = kafkaNames();

    private OwnKeys() {
    }

    /**
     * @throws IllegalArgumentException naming the first unknown own key and the nearest known one
     */
    static void check(Map<String, ?> props) {
        for (String key : new TreeSet<>(props.keySet())) {
            if (CHECKED_PREFIXES.stream().noneMatch(key::startsWith) || KNOWN.contains(key) || KAFKA.contains(key)
                    || key.startsWith(RouteConfig.ROUTES_PREFIX)) {
                continue;
            }
            throw new IllegalArgumentException("unknown key " + key + " (did you mean " + nearest(key)
                    + "? every key is listed in topology/CONFIGURATION.md)");
        }
    }

    /** The documented key closest to {@code key} by edit distance. */
    static String nearest(String key) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String k : KNOWN) {
            int d = distance(key, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    /** Every key documented in the defaults file. */
    static Set<String> known() {
        return KNOWN;
    }

    private static Set<String> documented() {
        Set<String> keys = new TreeSet<>();
        try (InputStream in = OwnKeys.class.getClassLoader().getResourceAsStream(ScorerConfig.DEFAULTS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + ScorerConfig.DEFAULTS_RESOURCE + " is missing");
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
                Matcher m = DOCUMENTED.matcher(line.strip());
                if (m.matches()) {
                    keys.add(m.group(1));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Set.copyOf(keys);
    }

    private static Set<String> kafkaNames() {
        Set<String> s = new TreeSet<>(StreamsConfig.configDef().names());
        s.addAll(ProducerConfig.configNames());
        s.addAll(ConsumerConfig.configNames());
        s.addAll(AdminClientConfig.configNames());
        return Set.copyOf(s);
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
