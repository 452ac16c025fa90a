package io.rewardstream.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/** Checks the Java maths against every golden vector file in {@code scoring/golden} (see its README). */
class GoldenVectorsTest {

    /** |actual - expected| <= REL * |expected| + ABS (ABS only matters when the expected value is 0). */
    static final double REL = 1e-6;
    static final double ABS = 1e-12;

    private static final ObjectMapper JSON = new ObjectMapper();

    static Path goldenDir() {
        return Path.of(System.getProperty("basedir", ".")).resolve("scoring/golden");
    }

    static List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(goldenDir())) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void shouldCoverEveryRuleWithAtLeastOneFile() throws IOException {
        List<String> names = files().stream().map(p -> p.getFileName().toString()).toList();
        assertThat(names).contains("estimators.json", "clamping.json", "score_clip.json", "missing_eos.json",
                "static_normalization.json", "running_normalization.json", "no_reference.json", "adaptive_beta.json",
                "group_advantages.json", "defaults_hand.json", "group_advantages_hand.json", "score_combination.json",
                "verifiers.json");
    }

    @TestFactory
    Stream<DynamicNode> shouldMatchEveryGoldenVector() throws IOException {
        List<DynamicNode> nodes = new ArrayList<>();
        for (Path file : files()) {
            JsonNode root = JSON.readTree(file.toFile());
            String kind = root.get("kind").asText();
            List<DynamicTest> tests = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                String name = c.get("name").asText();
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    switch (kind) {
                        case "shape" -> checkShape(c);
                        case "adaptive_beta" -> checkAdaptive(c);
                        case "group_advantage" -> checkAdvantage(c);
                        case "score_combination" -> checkCombination(c);
                        case "verifier" -> checkVerifier(c);
                        default -> fail("unknown kind " + kind + " in " + file);
                    }
                }));
            }
            assertThat(tests).as(file + " has cases").isNotEmpty();
            nodes.add(DynamicContainer.dynamicContainer(file.getFileName().toString(), tests));
        }
        return nodes.stream();
    }

    private static Map<String, Object> config(JsonNode c) {
        Map<String, Object> m = new HashMap<>();
        c.get("config").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }

    private static void checkShape(JsonNode c) {
        ShapingConfig cfg = ShapingConfig.from(config(c));
        JsonNode sn = c.get("static_normalization");
        RewardShaper shaper = new RewardShaper(cfg, sn == null ? null
                : new ModelManifest.Normalization(sn.get("mean").asDouble(), sn.get("std").asDouble()));
        RunningStats stats = c.has("initial_running_stats") ? stats(c.get("initial_running_stats")) : RunningStats.EMPTY;
        int step = 0;
        for (JsonNode s : c.get("steps")) {
            JsonNode in = s.get("input");
            JsonNode ex = s.get("expected");
            String at = c.get("name").asText() + " step " + step++;
            ShapedReward r = shaper.shape(in.get("score").asDouble(), doubles(in.get("policy_logprobs")),
                    in.get("reference_logprobs").isNull() ? null : doubles(in.get("reference_logprobs")),
                    in.get("finish_reason").asText().equals("STOP"), in.get("beta").asDouble(), stats);
            close(at + " kl_per_token", r.klPerToken(), doubles(ex.get("kl_per_token")));
            close(at + " kl", r.klSum(), ex.get("kl").asDouble());
            close(at + " shaped_score", r.shapedScore(), ex.get("shaped_score").asDouble());
            close(at + " token_rewards", r.tokenRewards(), doubles(ex.get("token_rewards")));
            close(at + " reward", r.reward(), ex.get("reward").asDouble());
            close(at + " beta", r.beta(), in.get("beta").asDouble());
            close(at + " score", r.score(), in.get("score").asDouble());
            List<String> flags = new ArrayList<>();
            ex.get("flags").forEach(f -> flags.add(f.asText()));
            assertThat(r.flags()).as(at + " flags").containsExactlyElementsOf(new TreeSet<>(flags));
            if (ex.has("running_stats")) {
                RunningStats want = stats(ex.get("running_stats"));
                assertThat(r.runningStats().count()).as(at + " count").isEqualTo(want.count());
                close(at + " running mean", r.runningStats().mean(), want.mean());
                close(at + " running m2", r.runningStats().m2(), want.m2());
            }
            stats = r.runningStats();
        }
    }

    private static void checkAdaptive(JsonNode c) {
        KlController controller = new KlController(ShapingConfig.from(config(c)));
        KlControllerState state = controller.initial();
        double[] kls = doubles(c.get("sequence_kls"));
        double[] want = doubles(c.get("expected").get("betas_used"));
        double[] used = new double[kls.length];
        for (int i = 0; i < kls.length; i++) {
            used[i] = state.beta();
            // through the bytes, as the topology persists it between rewards
            state = KlControllerState.fromBytes(controller.observe(state, kls[i]).toBytes());
        }
        close("betas_used", used, want);
        JsonNode fin = c.get("expected").get("final_state");
        close("final beta", state.beta(), fin.get("beta").asDouble());
        assertThat(state.count()).isEqualTo(fin.get("count").asLong());
        close("final kl_sum", state.klSum(), fin.get("kl_sum").asDouble());
    }

    private static void checkAdvantage(JsonNode c) {
        double[] r = doubles(c.get("rewards"));
        double[] a = GroupAdvantages.compute(r, GroupAdvantages.Method.parse(c.get("method").asText()), c.get("eps").asDouble());
        JsonNode ex = c.get("expected");
        close("advantages", a, doubles(ex.get("advantages")));
        close("mean", GroupAdvantages.mean(r), ex.get("mean").asDouble());
        close("std", GroupAdvantages.std(r), ex.get("std").asDouble());
    }

    private static void checkCombination(JsonNode c) {
        ShapingConfig cfg = ShapingConfig.from(config(c));
        JsonNode ex = c.get("expected");
        if (c.get("type").asText().equals("heads")) {
            List<ModelManifest.Head> heads = new ArrayList<>();
            c.get("manifest_heads").forEach(h -> heads.add(new ModelManifest.Head(h.get("name").asText(), h.get("weight").asDouble())));
            ModelManifest m = new ModelManifest("golden", 1, 16, 0, 260, "ids", null, heads, null, null, null, null, 0, null);
            Map<String, Double> scores = new HashMap<>();
            c.get("head_scores").fields().forEachRemaining(e -> scores.put(e.getKey(), e.getValue().asDouble()));
            close("heads score", new ScoreCombiner(cfg, m).weightedSum(scores), ex.get("score").asDouble());
        } else {
            ScoreCombiner.EnsembleScore e = new ScoreCombiner(cfg, null).ensemble(doubles(c.get("members")));
            close("ensemble score", e.score(), ex.get("score").asDouble());
            close("ensemble mean", e.mean(), ex.get("mean").asDouble());
            close("ensemble std", e.std(), ex.get("std").asDouble());
        }
    }

    private static void checkVerifier(JsonNode c) {
        Map<String, Object> cfg = config(c);
        Map<String, String> metadata = new HashMap<>();
        c.get("metadata").fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        Map<String, Double> heads = null;
        List<ModelManifest.Head> manifestHeads = new ArrayList<>();
        if (!c.get("model_heads").isNull()) {
            heads = new java.util.LinkedHashMap<>();
            for (var it = c.get("model_heads").fields(); it.hasNext(); ) {
                var e = it.next();
                heads.put(e.getKey(), e.getValue().asDouble());
                manifestHeads.add(new ModelManifest.Head(e.getKey(), 1.0));
            }
        }
        ModelManifest m = new ModelManifest("golden", 1, 16, 0, 260, "ids", null, manifestHeads, null, null, null, null,
                0, null);
        ScoreRouter router = new ScoreRouter(RouteConfig.from(cfg), m);
        String text = c.get("response_text").isNull() ? null : c.get("response_text").asText();
        ScoringInput in = new ScoringInput("golden", new SequenceParts(new int[]{1},
                new int[c.get("response_tokens").asInt()], null, text), null, null, true, metadata);
        RowStages.RowScore model = new RowStages.RowScore(c.get("model_score").asDouble(), heads, null);
        JsonNode ex = c.get("expected");
        if (ex.has("rejected")) {
            assertThatThrownBy(() -> router.route(in, model)).isInstanceOfSatisfying(InvalidRolloutException.class,
                    e -> assertThat(e.reason().name()).isEqualTo(ex.get("rejected").asText()));
            return;
        }
        RowStages.RowScore got = router.route(in, model);
        close("score", got.score(), ex.get("score").asDouble());
        if (ex.get("source_scores").isNull()) {
            assertThat(got.heads()).as("source scores").isNull();
        } else {
            Map<String, Double> want = new java.util.LinkedHashMap<>();
            ex.get("source_scores").fields().forEachRemaining(e -> want.put(e.getKey(), e.getValue().asDouble()));
            assertThat(got.heads()).as("source scores").containsOnlyKeys(want.keySet());
            want.forEach((k, v) -> close("source " + k, got.heads().get(k), v));
        }
    }

    private static RunningStats stats(JsonNode n) {
        return new RunningStats(n.get("count").asLong(), n.get("mean").asDouble(), n.get("m2").asDouble());
    }

    private static double[] doubles(JsonNode arr) {
        double[] d = new double[arr.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = arr.get(i).asDouble();
        }
        return d;
    }

    static void close(String what, double actual, double expected) {
        assertThat(Math.abs(actual - expected))
                .as("%s: actual %s, expected %s", what, actual, expected)
                .isLessThanOrEqualTo(REL * Math.abs(expected) + ABS);
    }

    static void close(String what, double[] actual, double[] expected) {
        assertThat(actual).as(what + " length").hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            close(what + "[" + i + "]", actual[i], expected[i]);
        }
    }
}
