package io.rewardstream.scoring;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reward-shaping configuration: KL estimator and coefficient, KL controller, missing-EOS penalty, score
 * normalization and clipping, group advantages. Immutable; validated on construction (messages name the
 * config key). Read from dotted keys with {@link #from(Map)}; absent keys take the defaults of
 * {@link #defaults()}, with which {@code reward = score - 0.05 * sum(lp - lr)}.
 *
 * @param klEstimator         {@code scoring.kl.estimator}: k1 | k2 | k3 | abs (default k1)
 * @param klCoef              {@code scoring.kl.coef}: beta, or the initial beta of the adaptive controller (default 0.05, >= 0)
 * @param klClamp             {@code scoring.kl.clamp}: per-token KL values clamped to [-c, c] (default 10, > 0)
 * @param klController        {@code scoring.kl.controller}: fixed | adaptive (default fixed)
 * @param klTarget            {@code scoring.kl.target}: adaptive target sequence KL (default 6, > 0)
 * @param klHorizon           {@code scoring.kl.horizon}: adaptive horizon in rewards (default 10000, > 0)
 * @param klWindow            {@code scoring.kl.window}: adaptive update window in rewards (default 64, in [1, horizon])
 * @param missingEosPenalty   {@code scoring.missing.eos.penalty}: subtracted from s when finish_reason != STOP (default 0 = off, >= 0)
 * @param normalization       {@code scoring.normalization}: none | running | static (default none)
 * @param scoreClip           {@code scoring.score.clip}: s' clipped to [-c, c]; {@code +Infinity} (key absent, "off" or "none") = no clip
 * @param groupAdvantage      {@code scoring.group.advantage}: grpo | rloo | none (default grpo)
 * @param advantageIncludesKl {@code scoring.group.advantage.include.kl}: advantages from the sequence reward s' - beta*kl instead of s' (default false)
 * @param groupEps            {@code scoring.group.eps}: GRPO epsilon (default 1e-6, >= 0)
 * @param uncertaintyPenalty  {@code scoring.uncertainty.penalty}: lambda in s = mean - lambda * std for ensembles (default 0, >= 0)
 * @param headWeights         {@code scoring.head.weights}: optional {@code name:weight,name:weight} overriding the manifest's head weights; empty = use the manifest
 */
public record ShapingConfig(
        KlEstimator klEstimator,
        double klCoef,
        double klClamp,
        ControllerType klController,
        double klTarget,
        long klHorizon,
        int klWindow,
        double missingEosPenalty,
        NormalizationMode normalization,
        double scoreClip,
        GroupAdvantages.Method groupAdvantage,
        boolean advantageIncludesKl,
        double groupEps,
        double uncertaintyPenalty,
        Map<String, Double> headWeights) {

    public static final String KL_ESTIMATOR = "scoring.kl.estimator";
    public static final String KL_COEF = "scoring.kl.coef";
    public static final String KL_CLAMP = "scoring.kl.clamp";
    public static final String KL_CONTROLLER = "scoring.kl.controller";
    public static final String KL_TARGET = "scoring.kl.target";
    public static final String KL_HORIZON = "scoring.kl.horizon";
    public static final String KL_WINDOW = "scoring.kl.window";
    public static final String MISSING_EOS_PENALTY = "scoring.missing.eos.penalty";
    public static final String NORMALIZATION = "scoring.normalization";
    public static final String SCORE_CLIP = "scoring.score.clip";
    public static final String GROUP_ADVANTAGE = "scoring.group.advantage";
    public static final String GROUP_ADVANTAGE_INCLUDE_KL = "scoring.group.advantage.include.kl";
    public static final String GROUP_EPS = "scoring.group.eps";
    public static final String UNCERTAINTY_PENALTY = "scoring.uncertainty.penalty";
    public static final String HEAD_WEIGHTS = "scoring.head.weights";

    /** KL coefficient controller. */
    public enum ControllerType {
        FIXED, ADAPTIVE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Score normalization before clipping. */
    public enum NormalizationMode {
        /** s' = s. */
        NONE,
        /** Whitened with the Welford stats of every score of this model version, the current one included. */
        RUNNING,
        /** Whitened with the manifest's {@code normalization} mean/std. */
        STATIC;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ShapingConfig {
        if (klEstimator == null) {
            throw new IllegalArgumentException(KL_ESTIMATOR + " is required");
        }
        requireFinite(KL_COEF, klCoef, 0, false);
        requireFinite(KL_CLAMP, klClamp, 0, true);
        if (klController == null) {
            throw new IllegalArgumentException(KL_CONTROLLER + " is required");
        }
        requireFinite(KL_TARGET, klTarget, 0, true);
        if (klHorizon <= 0) {
            throw new IllegalArgumentException(KL_HORIZON + " must be > 0, got " + klHorizon);
        }
        // window <= horizon keeps the multiplicative update 1 +- 0.2*n/horizon positive.
        if (klWindow <= 0 || klWindow > klHorizon) {
            throw new IllegalArgumentException(KL_WINDOW + " must be in [1, " + KL_HORIZON + "=" + klHorizon
                    + "], got " + klWindow);
        }
        requireFinite(MISSING_EOS_PENALTY, missingEosPenalty, 0, false);
        if (normalization == null) {
            throw new IllegalArgumentException(NORMALIZATION + " is required");
        }
        if (Double.isNaN(scoreClip) || scoreClip <= 0) {
            throw new IllegalArgumentException(SCORE_CLIP + " must be > 0 (or off), got " + scoreClip);
        }
        if (groupAdvantage == null) {
            throw new IllegalArgumentException(GROUP_ADVANTAGE + " is required");
        }
        requireFinite(GROUP_EPS, groupEps, 0, false);
        requireFinite(UNCERTAINTY_PENALTY, uncertaintyPenalty, 0, false);
        headWeights = headWeights == null ? Map.of() : Map.copyOf(headWeights);
        headWeights.forEach((k, w) -> {
            if (k.isBlank() || !Double.isFinite(w)) {
                throw new IllegalArgumentException(HEAD_WEIGHTS + ": head '" + k + "' needs a name and a finite weight, got " + w);
            }
        });
    }

    /** The defaults: k1, beta 0.05 fixed, clamp 10, no EOS penalty, no normalization, no clip, grpo. */
    public static ShapingConfig defaults() {
        return from(Map.of());
    }

    /** Whether s' is clipped. */
    public boolean scoreClipEnabled() {
        return scoreClip != Double.POSITIVE_INFINITY;
    }

    /**
     * Reads the {@code scoring.*} keys above from {@code props}; values may be strings, numbers or booleans.
     * Other keys are ignored (the same map configures other components).
     *
     * @throws IllegalArgumentException naming the key when a value is malformed or out of range
     */
    public static ShapingConfig from(Map<String, ?> props) {
        return new ShapingConfig(
                parse(props, KL_ESTIMATOR, "k1", KlEstimator::parse),
                dbl(props, KL_COEF, 0.05),
                dbl(props, KL_CLAMP, 10.0),
                parse(props, KL_CONTROLLER, "fixed", s -> enumOf(ControllerType.class, s)),
                dbl(props, KL_TARGET, 6.0),
                parse(props, KL_HORIZON, "10000", Long::parseLong),
                parse(props, KL_WINDOW, "64", Integer::parseInt),
                dbl(props, MISSING_EOS_PENALTY, 0.0),
                parse(props, NORMALIZATION, "none", s -> enumOf(NormalizationMode.class, s)),
                parse(props, SCORE_CLIP, "off", s -> s.equalsIgnoreCase("off") || s.equalsIgnoreCase("none")
                        ? Double.POSITIVE_INFINITY : Double.parseDouble(s)),
                parse(props, GROUP_ADVANTAGE, "grpo", GroupAdvantages.Method::parse),
                parse(props, GROUP_ADVANTAGE_INCLUDE_KL, "false", ShapingConfig::bool),
                dbl(props, GROUP_EPS, 1e-6),
                dbl(props, UNCERTAINTY_PENALTY, 0.0),
                parse(props, HEAD_WEIGHTS, "", ShapingConfig::weights));
    }

    /** The dotted-key form of this config; {@code from(toMap())} equals this. */
    public Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KL_ESTIMATOR, klEstimator.id());
        m.put(KL_COEF, Double.toString(klCoef));
        m.put(KL_CLAMP, Double.toString(klClamp));
        m.put(KL_CONTROLLER, klController.id());
        m.put(KL_TARGET, Double.toString(klTarget));
        m.put(KL_HORIZON, Long.toString(klHorizon));
        m.put(KL_WINDOW, Integer.toString(klWindow));
        m.put(MISSING_EOS_PENALTY, Double.toString(missingEosPenalty));
        m.put(NORMALIZATION, normalization.id());
        m.put(SCORE_CLIP, scoreClipEnabled() ? Double.toString(scoreClip) : "off");
        m.put(GROUP_ADVANTAGE, groupAdvantage.id());
        m.put(GROUP_ADVANTAGE_INCLUDE_KL, Boolean.toString(advantageIncludesKl));
        m.put(GROUP_EPS, Double.toString(groupEps));
        m.put(UNCERTAINTY_PENALTY, Double.toString(uncertaintyPenalty));
        StringBuilder w = new StringBuilder();
        new java.util.TreeMap<>(headWeights).forEach((k, v) -> w.append(w.length() == 0 ? "" : ",").append(k).append(':').append(v));
        m.put(HEAD_WEIGHTS, w.toString());
        return m;
    }

    private interface Parser<T> {
        T parse(String s);
    }

    private static <T> T parse(Map<String, ?> props, String key, String dflt, Parser<T> parser) {
        Object raw = props.get(key);
        String s = raw == null ? dflt : raw.toString().trim();
        try {
            return parser.parse(s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(key + ": invalid value '" + s + "': " + e.getMessage(), e);
        }
    }

    private static double dbl(Map<String, ?> props, String key, double dflt) {
        return parse(props, key, Double.toString(dflt), Double::parseDouble);
    }

    private static boolean bool(String s) {
        if (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(s);
        }
        throw new IllegalArgumentException("expected true or false");
    }

    private static <E extends Enum<E>> E enumOf(Class<E> type, String s) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s)) {
                return e;
            }
        }
        throw new IllegalArgumentException("expected one of " + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT));
    }

    private static Map<String, Double> weights(String s) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (s.isBlank()) {
            return out;
        }
        for (String part : s.split(",")) {
            int colon = part.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("expected name:weight, got '" + part.trim() + "'");
            }
            String name = part.substring(0, colon).trim();
            if (out.put(name, Double.parseDouble(part.substring(colon + 1).trim())) != null) {
                throw new IllegalArgumentException("head '" + name + "' given twice");
            }
        }
        return out;
    }

    private static void requireFinite(String key, double v, double min, boolean strict) {
        if (!Double.isFinite(v) || (strict ? v <= min : v < min)) {
            throw new IllegalArgumentException(key + " must be finite and " + (strict ? "> " : ">= ") + min + ", got " + v);
        }
    }
}
