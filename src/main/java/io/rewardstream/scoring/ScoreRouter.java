package io.rewardstream.scoring;

import io.rewardstream.scoring.InvalidRolloutException.Reason;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The routing stage between combine and shape: picks a rollout's route by its task ({@link RouteConfig}) and makes
 * its score the weighted sum of the route's sources (the model's combined score, a named head, the built-in
 * {@link Verifiers}). The row's {@code heads} become the sources' (unweighted) scores by source name, which the scorer
 * writes to {@code Reward.head_scores}. A rollout whose route is exactly {@code model=1} keeps the model's row score
 * unchanged (its heads stay the model's named heads), so a scorer without routes behaves as before.
 *
 * <p>Immutable and thread-safe.
 */
public final class ScoreRouter {
    /** Metadata key holding the exact_answer verifier's reference answer. */
    public static final String REFERENCE_ANSWER = "reference_answer";

    private final RouteConfig config;

    /**
     * A router for one model.
     *
     * @param manifest the served model's manifest, or null for stages without a model (then no route may name a head)
     * @throws IllegalArgumentException naming the route's key when it names a head the model does not have
     */
    public ScoreRouter(RouteConfig config, ModelManifest manifest) {
        this.config = config;
        java.util.List<RouteConfig.Route> all = new java.util.ArrayList<>(config.routes().values());
        all.add(config.defaultRoute());
        java.util.Set<String> heads = new java.util.LinkedHashSet<>();
        if (manifest != null) {
            manifest.heads().forEach(h -> heads.add(h.name()));
        }
        for (RouteConfig.Route r : all) {
            for (RouteConfig.Source s : r.sources()) {
                String head = s.head();
                if (head != null && !heads.contains(head)) {
                    throw new IllegalArgumentException(r.key() + ": source '" + s.name() + "': model "
                            + (manifest == null ? "(none)" : manifest.modelVersion()) + " has no head '" + head
                            + "' (heads: " + heads + ")");
                }
            }
        }
    }

    public RouteConfig config() {
        return config;
    }

    /**
     * The routed score of one row.
     *
     * @param in    the rollout (metadata, response text and length)
     * @param model the model's row score after combine
     * @throws InvalidRolloutException NO_REFERENCE_ANSWER / NO_RESPONSE_TEXT when a verifier of the route lacks its
     *                                 input, NON_FINITE_SCORE when a used model score is not finite
     */
    public RowStages.RowScore route(ScoringInput in, RowStages.RowScore model) {
        RouteConfig.Route route = config.routeOf(in.metadata());
        if (route.modelOnly()) {
            return model;
        }
        Map<String, Double> scores = new LinkedHashMap<>();
        double sum = 0;
        for (RouteConfig.Source s : route.sources()) {
            double v = source(s, in, model);
            scores.put(s.name(), v);
            sum += s.weight() * v;
        }
        return new RowStages.RowScore(sum, java.util.Collections.unmodifiableMap(scores), route.uses(RouteConfig.MODEL) ? model.uncertainty() : null);
    }

    /**
     * The weight of the served model's own score in the route of {@code in}: 1 for a model-only route, the weight of
     * source {@code model} otherwise (0 when the route does not use it). Scales the model's process rewards.
     */
    public double modelWeight(ScoringInput in) {
        RouteConfig.Route route = config.routeOf(in.metadata());
        if (route.modelOnly()) {
            return 1.0;
        }
        double w = 0;
        for (RouteConfig.Source s : route.sources()) {
            if (s.head() == null && RouteConfig.MODEL.equals(s.name())) {
                w += s.weight();
            }
        }
        return w;
    }

    private double source(RouteConfig.Source s, ScoringInput in, RowStages.RowScore model) {
        String head = s.head();
        if (head != null) {
            Double v = model.heads() == null ? null : model.heads().get(head);
            if (v == null) {
                throw new InvalidRolloutException(Reason.MISSING_FIELD, "model output has no head '" + head + "'");
            }
            return finite(s.name(), v);
        }
        return switch (s.name()) {
            case RouteConfig.MODEL -> finite(s.name(), model.score());
            case RouteConfig.EXACT_ANSWER -> {
                String ref = in.metadata().get(REFERENCE_ANSWER);
                if (ref == null || ref.isBlank()) {
                    throw new InvalidRolloutException(Reason.NO_REFERENCE_ANSWER, "route " + route(in)
                            + " uses exact_answer but metadata." + REFERENCE_ANSWER + " is missing");
                }
                yield Verifiers.exactAnswer(text(in, s.name()), ref);
            }
            case RouteConfig.FORMAT -> Verifiers.format(config.formatRegex(), text(in, s.name()));
            case RouteConfig.LENGTH -> Verifiers.length(responseTokens(in), config.lengthMaxTokens());
            default -> throw new IllegalStateException("unknown source " + s.name()); // RouteConfig refuses it
        };
    }

    private String route(ScoringInput in) {
        return config.routeOf(in.metadata()).key();
    }

    private String text(ScoringInput in, String verifier) {
        String t = in.parts() == null ? null : in.parts().responseText();
        if (t == null) {
            throw new InvalidRolloutException(Reason.NO_RESPONSE_TEXT, "route " + route(in) + " uses " + verifier
                    + ", which reads response_text, but the rollout has none");
        }
        return t;
    }

    private static int responseTokens(ScoringInput in) {
        return in.parts() == null || in.parts().responseIds() == null ? 0 : in.parts().responseIds().length;
    }

    private static double finite(String source, double v) {
        if (!Double.isFinite(v)) {
            throw new InvalidRolloutException(Reason.NON_FINITE_SCORE, "source '" + source + "' scored " + v);
        }
        return v;
    }
}
