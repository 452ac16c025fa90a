package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Heads trained per objective on a real TensorFlow model (built-in tiny): two objectives with opposite preferences
 * (brief: the short answer is better; verbose: the long one is) on the same kind of pairs train two heads that
 * disagree, each right on its own objective's held-out pairs, and the release manifest records both accuracies.
 */
class PerObjectiveHeadsTest {
    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"};

    /** n pairs short-vs-long; for "brief" the short one is chosen, for "verbose" the long one. */
    private static List<PreferenceExample> pairs(String objective, int n, long seed, String idPrefix) {
        Random rnd = new Random(seed);
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String prompt = "Describe " + WORDS[rnd.nextInt(WORDS.length)] + ": ";
            String shortAnswer = words(rnd, 1 + rnd.nextInt(2));
            String longAnswer = words(rnd, 7 + rnd.nextInt(4));
            boolean brief = objective.equals("brief");
            out.add(new PreferenceExample(idPrefix + objective + "-" + i, prompt, brief ? shortAnswer : longAnswer,
                    brief ? longAnswer : shortAnswer, 0.0, objective));
        }
        return out;
    }

    private static String words(Random rnd, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(i == 0 ? "" : " ").append(WORDS[rnd.nextInt(WORDS.length)]);
        }
        return sb.toString();
    }

    @Test
    void shouldTrainEachNamedHeadOnItsOwnObjectivesPairs(@TempDir Path tmp) throws Exception {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head("brief", 1.0),
                new ModelManifest.Head("verbose", 1.0));
        ModelConfig cfg = ModelConfig.of(ModelSize.TINY).withHeads(heads);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(120).withProgress(false);
        List<PreferenceExample> train = new ArrayList<>(pairs("brief", 200, 1, "t"));
        train.addAll(pairs("verbose", 200, 2, "t"));
        List<PreferenceExample> heldBrief = pairs("brief", 60, 3, "h");
        List<PreferenceExample> heldVerbose = pairs("verbose", 60, 4, "h");
        List<PreferenceExample> heldOut = new ArrayList<>(heldBrief);
        heldOut.addAll(heldVerbose);
        Path dir = tmp.resolve("objectives");
        try (BuiltinModel m = BuiltinModel.create(cfg, tc)) {
            m.train(train, List.of());
            Map<String, EvalMetrics> perHead = m.evaluatePerHead(heldOut);
            System.out.printf("PerObjectiveHeadsTest: held-out accuracy brief head %.3f, verbose head %.3f%n",
                    perHead.get("brief").accuracy(), perHead.get("verbose").accuracy());
            assertThat(perHead.get("brief").accuracy()).isGreaterThan(0.9);
            assertThat(perHead.get("verbose").accuracy()).isGreaterThan(0.9);
            // the heads really disagree: the brief head ranks the verbose objective's pairs the other way round
            double briefOnVerbose = EvalMetrics.evaluate((p, r) -> m.scoreHead("brief", p, r), heldVerbose).accuracy();
            assertThat(briefOnVerbose).isLessThan(0.1);
            m.export(dir, heldOut);
            assertThatThrownBy(() -> m.trainStep(List.of(heldBrief.get(0).withObjective("harmless"))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'harmless'")
                    .hasMessageContaining("brief");
        }
        Map<String, Double> metrics = ModelManifest.read(dir).metrics();
        assertThat(metrics.get("head.brief.accuracy")).isGreaterThan(0.9);
        assertThat(metrics.get("head.verbose.accuracy")).isGreaterThan(0.9);
        assertThat(metrics.get("head.brief.pairs")).isEqualTo(60.0);
    }

    @Test
    void shouldTrainHeadsPerObjectiveInARetrainingRoundAndRecordTheirAccuracyInTheRelease(@TempDir Path tmp)
            throws Exception {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head("brief", 1.0),
                new ModelManifest.Head("verbose", 1.0));
        Path base = tmp.resolve("base");
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY).withHeads(heads),
                TrainConfig.defaults(ModelSize.TINY).withSteps(5).withProgress(false))) {
            m.train(pairs("brief", 20, 9, "b"), List.of());
            m.export(base, List.of());
        }
        List<PreferenceExample> fresh = new ArrayList<>(pairs("brief", 200, 1, "t"));
        fresh.addAll(pairs("verbose", 200, 2, "t"));
        List<PreferenceExample> held = new ArrayList<>(pairs("brief", 60, 3, "h"));
        held.addAll(pairs("verbose", 60, 4, "h"));
        Path out = tmp.resolve("candidate");
        RoundTrainer.Output o = new SavedModelRoundTrainer().train(new RoundTrainer.Input(base, fresh, List.of(), held,
                150, 16, 0, 1e-3, 3, Map.of()), out, () -> false);
        Map<String, Double> metrics = ModelManifest.read(out).metrics();
        System.out.printf("PerObjectiveHeadsTest: round held-out accuracy brief head %.3f, verbose head %.3f, "
                + "combined %.3f%n", metrics.get("head.brief.accuracy"), metrics.get("head.verbose.accuracy"),
                o.candidate().accuracy());
        assertThat(metrics.get("head.brief.accuracy")).isGreaterThan(0.9);
        assertThat(metrics.get("head.verbose.accuracy")).isGreaterThan(0.9);
        assertThat(metrics.get("head.verbose.pairs")).isEqualTo(60.0);
    }

    @Test
    void shouldCarryTheObjectiveFromTheAvroRecordToTheTrainingExample() throws Exception {
        io.rewardstream.avro.PreferencePair p = io.rewardstream.avro.PreferencePair.newBuilder()
                .setPairId("p-1").setPromptText("q").setChosenText("a").setRejectedText("b")
                .setObjective("brief").setCreatedAt(java.time.Instant.EPOCH).build();
        StoredPair stored = PreferenceValidator.validate(p, "preferences", 0, 7);
        String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(stored);
        StoredPair back = new com.fasterxml.jackson.databind.ObjectMapper().readValue(json, StoredPair.class);
        assertThat(back.toExample().objective()).isEqualTo("brief");
        p.setObjective(null);
        assertThat(PreferenceValidator.validate(p, "preferences", 0, 8).toExample().objective()).isNull();
    }

    /** Rankings of a 1-word, a 4-word and an 8-word answer: shortest first for brief, longest first for verbose. */
    private static List<RankedExample> rankings(String objective, int n, long seed) {
        Random rnd = new Random(seed);
        List<RankedExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> best = new ArrayList<>(List.of(words(rnd, 1), words(rnd, 4), words(rnd, 8)));
            if (objective.equals("verbose")) {
                java.util.Collections.reverse(best);
            }
            out.add(new RankedExample("r-" + objective + "-" + seed + "-" + i,
                    "Describe " + WORDS[rnd.nextInt(WORDS.length)] + ": ", best, objective));
        }
        return out;
    }

    @Test
    void shouldTrainEachNamedHeadOnItsOwnObjectivesRankings() {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head("brief", 1.0),
                new ModelManifest.Head("verbose", 1.0));
        List<RankedExample> train = new ArrayList<>(rankings("brief", 100, 1));
        train.addAll(rankings("verbose", 100, 2));
        java.util.Collections.shuffle(train, new Random(5));
        List<PreferenceExample> held = new ArrayList<>();
        rankings("brief", 30, 3).forEach(r -> held.addAll(r.impliedPairs()));
        rankings("verbose", 30, 4).forEach(r -> held.addAll(r.impliedPairs()));
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY).withHeads(heads),
                TrainConfig.defaults(ModelSize.TINY).withSteps(120).withProgress(false))) {
            for (int step = 0; step < 120; step++) {
                int from = (step * 16) % train.size();
                m.trainRankedStep(train.subList(from, Math.min(train.size(), from + 16)));
            }
            Map<String, EvalMetrics> perHead = m.evaluatePerHead(held);
            System.out.printf("PerObjectiveHeadsTest: rankings, held-out accuracy brief head %.3f, verbose head %.3f%n",
                    perHead.get("brief").accuracy(), perHead.get("verbose").accuracy());
            assertThat(perHead.get("brief").accuracy()).isGreaterThan(0.9);
            assertThat(perHead.get("verbose").accuracy()).isGreaterThan(0.9);
        }
    }

    @Test
    void shouldLeaveOutRoundExamplesWhoseObjectiveNamesNoHead() {
        ModelManifest mf = new ModelManifest("m", 1, 64, 0, 260, "bytes", null,
                List.of(new ModelManifest.Head("brief", 1.0)), null, Map.of(), null, Map.of(), 0L, null);
        List<PreferenceExample> fresh = List.of(new PreferenceExample("a", "p", "x", "y", 0, "brief"),
                new PreferenceExample("b", "p", "x", "y", 0, "harmless"), new PreferenceExample("c", "p", "x", "y"));
        RoundTrainer.Input in = new RoundTrainer.Input(Path.of("m"), fresh, List.of(), fresh, 10, 4, 0, 1e-3, 1,
                Map.of());
        RoundTrainer.Input out = SavedModelRoundTrainer.knownObjectivesOnly(in, mf);
        assertThat(out.fresh()).extracting(PreferenceExample::id).containsExactly("a", "c");
        assertThat(out.heldOut()).extracting(PreferenceExample::id).containsExactly("a", "c");
    }
}
