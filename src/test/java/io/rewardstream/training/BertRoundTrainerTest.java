package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Routing of retraining rounds: BERT models to the head trainer, everything else to the other trainer. */
class BertRoundTrainerTest {

    @Test
    void shouldSendNonBertModelsToTheOtherTrainer(@TempDir Path dir) throws Exception {
        new ModelManifest("builtin-tiny", 1, 64, 0, 260, "bytes", null, null, null, null, null, null, 0, Map.of())
                .write(dir);
        RoundTrainer.Input in = new RoundTrainer.Input(dir, List.of(new PreferenceExample("a", "q", "y", "n")),
                List.of(), List.of(new PreferenceExample("b", "q", "y", "n")), 1, 1, 0, 1e-3, 1, Map.of());
        int[] calls = {0};
        RoundTrainer other = (i, t, s) -> {
            calls[0]++;
            return null;
        };
        assertThat(BertRoundTrainer.handles(dir)).isFalse();
        BertRoundTrainer.orElse(other).train(in, dir.resolve("out"), () -> false);
        assertThat(calls[0]).isEqualTo(1);
        assertThatThrownBy(() -> new BertRoundTrainer().train(in, dir.resolve("out"), () -> false))
                .hasMessageContaining("is not a BERT reward model");
    }

    @Test
    void shouldRecogniseABertModelByTokenizerAndHead(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("assets"));
        new ModelManifest("bert-base-uncased-rm", 1, 128, 0, 30522, "wordpiece", "assets/vocab.txt", null, null, null,
                null, null, 0, Map.of()).write(dir);
        assertThat(BertRoundTrainer.handles(dir)).isFalse();   // no head.json yet
        new LinearHead(new float[]{0}, new float[]{1}, new double[]{1}, 0).write(dir);
        assertThat(BertRoundTrainer.handles(dir)).isTrue();
        assertThat(BertRoundTrainer.handles(dir.resolve("nowhere"))).isFalse();
    }

    @Test
    void shouldPickTheRoundsLayersFromTheSettingOrTheModelsLineage() {
        ModelManifest headOnly = new ModelManifest("bert-base-uncased-rm", 1, 128, 0, 30522, "wordpiece", "assets/vocab.txt",
                null, null, null, null, Map.of(), 0, Map.of());
        ModelManifest topFour = new ModelManifest("bert-base-uncased-rm", 1, 128, 0, 30522, "wordpiece", "assets/vocab.txt",
                null, null, null, null, Map.of("train_layers", "4"), 0, Map.of());
        BertRoundTrainer auto = new BertRoundTrainer(BertRoundTrainer.AUTO, 5e-5);
        assertThat(auto.layersFor(headOnly)).isZero();
        assertThat(auto.layersFor(topFour)).isEqualTo(4);
        assertThat(new BertRoundTrainer("0", 5e-5).layersFor(topFour)).isZero();
        assertThat(new BertRoundTrainer("all", 5e-5).layersFor(headOnly)).isEqualTo(BertTrainGraph.ALL);
        assertThat(new BertRoundTrainer().layersFor(topFour)).isZero();   // the plain constructor keeps head-only rounds
        assertThatThrownBy(() -> new BertRoundTrainer("13", 5e-5)).hasMessageContaining("13");
        assertThatThrownBy(() -> new BertRoundTrainer("2", 0)).hasMessageContaining("learning rate");
    }
}
