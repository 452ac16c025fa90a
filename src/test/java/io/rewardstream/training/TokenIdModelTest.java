package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenIdModelTest {

    @Test
    void shouldTrainAndExportATokenIdModelOfAGivenVocabulary(@TempDir Path tmp) throws Exception {
        // chosen responses end in token 7, rejected ones in token 9
        Random r = new Random(3);
        List<PreferenceExample> pairs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String prompt = (10 + r.nextInt(30)) + " " + (10 + r.nextInt(30));
            String body = Integer.toString(10 + r.nextInt(30));
            pairs.add(new PreferenceExample("ids-" + i, prompt, body + " 7", body + " 9"));
        }
        ModelConfig cfg = ModelConfig.ofTokenIds(ModelSize.TINY, 50);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(60).withProgress(false);
        Path dir = tmp.resolve("ids");
        float[] before;
        List<String> prompts = pairs.stream().map(PreferenceExample::prompt).toList();
        List<String> responses = pairs.stream().map(PreferenceExample::chosen).toList();
        try (BuiltinModel m = BuiltinModel.create(cfg, tc)) {
            TrainingResult res = m.train(pairs.subList(0, 150), pairs.subList(150, 200));
            assertThat(res.finalEval().accuracy()).isGreaterThanOrEqualTo(0.9);
            m.export(dir);
            before = m.score(prompts, responses);
            assertThatThrownBy(() -> m.score(List.of("1 2"), List.of("50")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside [0,50)");
        }
        ModelManifest manifest = ModelManifest.read(dir);
        assertThat(manifest.tokenizer()).isEqualTo("ids");
        assertThat(manifest.vocabSize()).isEqualTo(50);
        try (ExportedModel e = ExportedModel.load(dir)) {
            assertThat(e.score(prompts, responses)).containsExactly(before);
        }
    }

    @Test
    void shouldTruncateFromTheLeftKeepingTheLastToken() {
        int[] ids = Batches.encode("ids", 100, "1 2 3 4 5", "6 7", 4);
        assertThat(ids).containsExactly(4, 5, 6, 7);
        assertThatThrownBy(() -> Batches.encode("ids", 100, "1 x", "2", 8)).hasMessageContaining("not an integer");
    }
}
