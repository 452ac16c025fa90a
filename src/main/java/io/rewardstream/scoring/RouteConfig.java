package io.rewardstream.scoring;

import io.rewardstream.config.ConfigValues;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Which score sources make a rollout's score, by task. Immutable; validated on construction (messages name the key).
 *
 * <p>The task is {@code Rollout.metadata[scoring.route.key]} (default key {@code task}); its route is
 * {@code scoring.routes.<task>.weights}, else {@code scoring.routes.default.weights} (default {@code model=1}). A route
 * is a comma list {@code source=weight}; the score is the weighted sum of the sources' scores. Sources:
 * <ul>
 *   <li>{@code model}: the served model's score (head-weighted, uncertainty-penalized: what it scores without routing);</li>
 *   <li>{@code model.<head>}: one named head of a multi-head model (checked against the manifest when a model is served);</li>
 *   <li>{@code exact_answer}, {@code format}, {@code length}: the built-in {@link Verifiers}.</li>
 * </ul>
 *
 * @param routeKey        {@code scoring.route.key}: the metadata key naming the task
 * @param routes          task -> route, from {@code scoring.routes.<task>.weights} (not the default)
 * @param defaultRoute    {@code scoring.routes.default.weights}: route of every task without its own
 * @param formatRegex     {@code scoring.verifier.format.regex}: the format verifier's pattern, or null when unset
 * @param lengthMaxTokens {@code scoring.verifier.length.max.tokens}: response tokens the length verifier allows
 */
public record RouteConfig(String routeKey, Map<String, Route> routes, Route defaultRoute, Pattern formatRegex,
                          int lengthMaxTokens) {

    public static final String ROUTE_KEY = "scoring.route.key";
    public static final String ROUTES_PREFIX = "scoring.routes.";
    public static final String WEIGHTS_SUFFIX = ".weights";
    public static final String DEFAULT_TASK = "default";
    public static final String DEFAULT_WEIGHTS = ROUTES_PREFIX + DEFAULT_TASK + WEIGHTS_SUFFIX;
    public static final String FORMAT_REGEX = "scoring.verifier.format.regex";
    public static final String LENGTH_MAX_TOKENS = "scoring.verifier.length.max.tokens";

    public static final String MODEL = "model";
    public static final String EXACT_ANSWER = "exact_answer";
    public static final String FORMAT = "format";
    public static final String LENGTH = "length";
    /** The built-in verifiers a route may name. */
    public static final List<String> VERIFIERS = List.of(EXACT_ANSWER, FORMAT, LENGTH);

    /** Task names: what a key segment can hold without ambiguity. */
    private static final Pattern TASK = Pattern.compile("[A-Za-z0-9_\\-]+");

    /** One weighted score source of a route. */
    public record Source(String name, double weight) {
        /** The head name of a {@code model.<head>} source, else null. */
        public String head() {
            return name.startsWith(MODEL + ".") ? name.substring(MODEL.length() + 1) : null;
        }
    }

    /**
     * A route: its sources in config order, and the key it came from (for error messages).
     *
     * @param key     the config key that defined it
     * @param sources at least one; names unique
     */
    public record Route(String key, List<Source> sources) {
        public Route {
            sources = List.copyOf(sources);
        }

        /** Exactly {@code model=1}: the model's score unchanged. */
        public boolean modelOnly() {
            return sources.size() == 1 && sources.get(0).name().equals(MODEL) && sources.get(0).weight() == 1.0;
        }

        /** Whether a source of this name is in the route. */
        public boolean uses(String source) {
            return sources.stream().anyMatch(s -> s.name().equals(source));
        }
    }

    public RouteConfig {
        if (routeKey == null || routeKey.isBlank()) {
            throw new IllegalArgumentException(ROUTE_KEY + " must name a metadata key, got '" + routeKey + "'");
        }
        routes = Map.copyOf(routes);
        if (defaultRoute == null) {
            throw new IllegalArgumentException(DEFAULT_WEIGHTS + " is required");
        }
        if (lengthMaxTokens < 0) {
            throw new IllegalArgumentException(LENGTH_MAX_TOKENS + " must be >= 0, got " + lengthMaxTokens);
        }
        List<Route> all = new ArrayList<>(routes.values());
        all.add(defaultRoute);
        for (Route r : all) {
            if (r.uses(FORMAT) && formatRegex == null) {
                throw new IllegalArgumentException(r.key() + " uses the format verifier but " + FORMAT_REGEX
                        + " is not set");
            }
        }
    }

    /** No routes and default {@code model=1}: every rollout gets the model's score, as without routing. */
    public static RouteConfig defaults() {
        return from(Map.of());
    }

    /** Whether routing changes nothing (no task routes, default route {@code model=1}). */
    public boolean trivial() {
        return routes.isEmpty() && defaultRoute.modelOnly();
    }

    /** The route of a rollout with this metadata. */
    public Route routeOf(Map<String, String> metadata) {
        String task = metadata == null ? null : metadata.get(routeKey);
        Route r = task == null ? null : routes.get(task);
        return r == null ? defaultRoute : r;
    }

    /**
     * Reads {@code scoring.route.key}, every {@code scoring.routes.<task>.weights} and the verifier keys.
     *
     * @throws IllegalArgumentException naming the key when a route or verifier setting is invalid, or a
     *                                  {@code scoring.routes.*} key is not {@code scoring.routes.<task>.weights}
     */
    public static RouteConfig from(Map<String, ?> props) {
        Map<String, Route> routes = new TreeMap<>();
        Route dflt = null;
        for (Map.Entry<String, ?> e : new TreeMap<>(props).entrySet()) {
            String key = e.getKey();
            if (!key.startsWith(ROUTES_PREFIX) || e.getValue() == null) {
                continue;
            }
            String rest = key.substring(ROUTES_PREFIX.length());
            if (!rest.endsWith(WEIGHTS_SUFFIX)) {
                throw new IllegalArgumentException(key + ": unknown key; routes are set as " + ROUTES_PREFIX
                        + "<task>" + WEIGHTS_SUFFIX);
            }
            String task = rest.substring(0, rest.length() - WEIGHTS_SUFFIX.length());
            if (!TASK.matcher(task).matches()) {
                throw new IllegalArgumentException(key + ": task name '" + task
                        + "' must be letters, digits, '_' or '-'");
            }
            Route r = parseRoute(key, e.getValue().toString());
            if (task.equals(DEFAULT_TASK)) {
                dflt = r;
            } else {
                routes.put(task, r);
            }
        }
        if (dflt == null) {
            dflt = parseRoute(DEFAULT_WEIGHTS, "model=1");
        }
        Object regex = props.get(FORMAT_REGEX);
        Pattern pattern = null;
        if (regex != null && !regex.toString().isBlank()) {
            try {
                pattern = Pattern.compile(regex.toString().trim());
            } catch (PatternSyntaxException ex) {
                throw new IllegalArgumentException(FORMAT_REGEX + ": invalid regular expression: "
                        + ex.getDescription(), ex);
            }
        }
        Object route = props.get(ROUTE_KEY);
        return new RouteConfig(route == null ? "task" : route.toString().trim(), routes, dflt, pattern,
                ConfigValues.intValue(props, LENGTH_MAX_TOKENS, 512));
    }

    /** Parses {@code source=weight,source=weight}. @throws IllegalArgumentException naming {@code key} */
    static Route parseRoute(String key, String value) {
        Map<String, Double> m = new LinkedHashMap<>();
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(key + " must list at least one source=weight (sources: " + MODEL
                    + ", " + MODEL + ".<head>, " + String.join(", ", VERIFIERS) + ")");
        }
        for (String part : value.split(",")) {
            String p = part.trim();
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) {
                throw new IllegalArgumentException(key + ": expected source=weight, got '" + p + "'");
            }
            String source = p.substring(0, eq).trim();
            String w = p.substring(eq + 1).trim();
            boolean known = source.equals(MODEL) || VERIFIERS.contains(source)
                    || (source.startsWith(MODEL + ".") && source.length() > MODEL.length() + 1);
            if (!known) {
                throw new IllegalArgumentException(key + ": unknown score source '" + source + "' (sources: " + MODEL
                        + ", " + MODEL + ".<head>, " + String.join(", ", VERIFIERS) + ")");
            }
            double weight;
            try {
                weight = Double.parseDouble(w);
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(key + ": weight of '" + source + "' must be a number, got '" + w + "'");
            }
            if (!Double.isFinite(weight)) {
                throw new IllegalArgumentException(key + ": weight of '" + source + "' must be finite, got " + w);
            }
            if (m.put(source, weight) != null) {
                throw new IllegalArgumentException(key + ": source '" + source + "' given twice");
            }
        }
        List<Source> sources = new ArrayList<>();
        m.forEach((s, w) -> sources.add(new Source(s, w)));
        return new Route(key, sources);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("RouteConfig[key=").append(routeKey);
        routes.forEach((t, r) -> b.append(", ").append(t).append('=').append(r.sources()));
        return b.append(", default=").append(defaultRoute.sources()).append(']').toString();
    }
}
