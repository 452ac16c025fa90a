package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Trains the tiny model once on the arithmetic task, then checks accuracy, export/reload and fine-tuning. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuiltinModelTest {
    private static final ArithmeticTask TASK = new ArithmeticTask(ArithmeticTask.Config.defaults()); // trap 0.5

    @TempDir
    static Path tmp;

    BuiltinModel model;
    TrainingResult result;
    List<PreferenceExample> heldOut;
    Path exported;

    @BeforeAll
    void train() throws IOException {
        List<PreferenceExample> train = TASK.generate(3000, ArithmeticTask.Part.TRAIN, true);
        heldOut = TASK.generate(600, ArithmeticTask.Part.HELD_OUT, false);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(400).withProgress(false);
        model = BuiltinModel.create(ModelConfig.of(ModelSize.TINY), tc);
        result = model.train(train, heldOut);
        exported = tmp.resolve("tiny-v1");
        model.export(exported, heldOut);
    }

    @AfterAll
    void close() {
        model.close();
    }

    @Test
    void shouldReachHeldOutAccuracyWithVerbosityTrapOn() {
        assertThat(TASK.config().verbosityTrap()).isGreaterThan(0);
        assertThat(result.finalEval().accuracy()).isGreaterThanOrEqualTo(0.80);
        assertThat(result.stepLoss().get(result.stepLoss().size() - 1)).isLessThan(result.stepLoss().get(0));
        // the trap: the learnt reward must not like length
        assertThat(result.finalEval().lengthCorrelation()).isLessThan(0);
    }

    @Test
    void shouldExportContractAndManifestWithDigests() throws IOException {
        ModelManifest m = ModelManifest.read(exported);
        assertThat(m.name()).isEqualTo("builtin-tiny");
        assertThat(m.maxSeqLen()).isEqualTo(64);
        assertThat(m.padId()).isZero();
        assertThat(m.vocabSize()).isEqualTo(260);
        assertThat(m.tokenizer()).isEqualTo("bytes");
        assertThat(m.normalization()).isNotNull();
        assertThat(m.metrics()).containsKeys("accuracy", "mean_margin", "length_correlation");
        assertThat(m.files()).containsKeys("saved_model.pb", "report/loss.png", "report/accuracy.png", "report/index.html");
        assertThat(m.files()).isEqualTo(ModelManifest.digest(exported));
        try (ExportedModel e = ExportedModel.load(exported)) {
            var sigs = e.signatures();
            assertThat(sigs.get("serving_default").get("inputs")).containsOnlyKeys("input_ids", "attention_mask");
            assertThat(sigs.get("serving_default").get("outputs").get("reward")).isEqualTo("DT_FLOAT [-1]");
            assertThat(sigs.get("train_step").get("inputs"))
                    .containsOnlyKeys("chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask", "margin");
            assertThat(sigs.get("train_step").get("outputs").get("loss")).isEqualTo("DT_FLOAT []");
            assertThat(e.parameterCount()).isEqualTo(model.parameterCount());
        }
        assertThat(Files.readString(exported.resolve("report/index.html"))).contains("loss.png", "accuracy.png");
    }

    @Test
    void shouldGiveIdenticalScoresAfterReload() throws IOException {
        List<String> prompts = new ArrayList<>();
        List<String> responses = new ArrayList<>();
        for (PreferenceExample p : heldOut.subList(0, 50)) {
            prompts.add(p.prompt());
            responses.add(p.chosen());
            prompts.add(p.prompt());
            responses.add(p.rejected());
        }
        float[] before = model.score(prompts, responses);
        try (ExportedModel e = ExportedModel.load(exported)) {
            assertThat(e.score(prompts, responses)).containsExactly(before);
        }
    }

    @Test
    void shouldGiveIdenticalEvaluationInAFreshProcess() throws Exception {
        Path out = tmp.resolve("eval.json");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.rewardstream.cli.Main",
                "model", "eval", exported.toString(), "--task", "arithmetic", "--eval-pairs", "600", "--json")
                .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readString(out, StandardCharsets.UTF_8));
        EvalMetrics here = model.evaluate(heldOut);
        assertThat(json.get("pairs").asInt()).isEqualTo(600);
        assertThat(json.get("accuracy").asDouble()).isEqualTo(here.accuracy());
        assertThat(json.get("score_mean").asDouble()).isEqualTo(here.scoreMean());
        assertThat(json.get("length_correlation").asDouble()).isEqualTo(here.lengthCorrelation());
    }

    @Test
    void shouldLowerLossOnNewPairsWithTrainStepAfterReloadAndReExport() throws IOException {
        // new pairs from another distribution: near misses only, no verbose answers
        ArithmeticTask other = new ArithmeticTask(ArithmeticTask.Config.defaults().withSeed(99)
                .withNearMiss(1.0).withVerbosityTrap(0.0));
        List<PreferenceExample> fresh = other.generate(64, ArithmeticTask.Part.TRAIN, false);
        Path v2 = tmp.resolve("tiny-v2");
        FineTuner.Result r = FineTuner.fineTune(exported, v2, fresh, fresh, 40, 32, 1);
        assertThat(r.after().loss()).isLessThan(r.before().loss());
        ModelManifest m2 = ModelManifest.read(v2);
        assertThat(m2.version()).isEqualTo(2);
        assertThat(m2.parentVersion()).isEqualTo(1L);
        assertThat(m2.files()).isEqualTo(ModelManifest.digest(v2));
        try (ExportedModel e = ExportedModel.load(v2)) {
            assertThat(e.signatures()).containsOnlyKeys("serving_default", "train_step", "train_step_ranked");
            assertThat(EvalMetrics.evaluate(e, fresh).loss()).isEqualTo(r.after().loss());
        }
        // the source directory is untouched
        assertThat(ModelManifest.read(exported).files()).isEqualTo(ModelManifest.digest(exported));
    }
}
