package io.rewardstream.training;

import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class SavedModelRoundTrainerTest {
    @TempDir
    Path dir;

    /** The tiny built-in model trained briefly on addition only. */
    public static Path additionModel(Path dir, int steps) throws Exception {
        ArithmeticTask add = new ArithmeticTask(ArithmeticTask.Config.defaults());
        Path base = dir.resolve("base");
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY),
                TrainConfig.defaults(ModelSize.TINY).withSteps(steps).withProgress(false))) {
            m.train(add.generate(1000, ArithmeticTask.Part.TRAIN, false), List.of());
            m.export(base, add.generate(100, ArithmeticTask.Part.HELD_OUT, false));
        }
        return base;
    }

    @Test
    void shouldFineTuneOnAShiftedTaskAndExportAVerifiableCandidate() throws Exception {
        long t0 = System.nanoTime();
        Path base = additionModel(dir, 200);
        long t1 = System.nanoTime();
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(11));
        List<PreferenceExample> train = mul.generate(300, ArithmeticTask.Part.TRAIN, false);
        List<PreferenceExample> held = mul.generate(100, ArithmeticTask.Part.HELD_OUT, false);
        Path out = dir.resolve("candidate");
        RoundTrainer.Output o = new SavedModelRoundTrainer().train(new RoundTrainer.Input(base, train,
                new ArithmeticTask(ArithmeticTask.Config.defaults()).generate(200, ArithmeticTask.Part.TRAIN, false),
                held, 150, 32, 0.25, 1e-3, 3, Map.of("note", "unit test")), out, () -> false);
        long t2 = System.nanoTime();
        System.out.printf("base training %.1f s, round %.1f s: current %s | candidate %s%n", (t1 - t0) / 1e9,
                (t2 - t1) / 1e9, o.current(), o.candidate());
        assertThat(o.candidate().accuracy()).isGreaterThan(o.current().accuracy() + 0.1);
        assertThat(o.training().stepLoss()).hasSize(150);
        ModelManifest m = ModelLoader.verifyFiles(out, true);
        assertThat(m.parentVersion()).isEqualTo(1L);
        assertThat(Files.exists(out.resolve("report/index.html"))).isTrue();
        assertThat(Files.readString(out.resolve("report/index.html"))).contains("candidate.accuracy").contains("unit test");
        assertThat(Files.exists(out.resolve("report/accuracy.png"))).isTrue();
    }

    @Test
    void shouldStopBetweenStepsWhenAsked() throws Exception {
        Path base = additionModel(dir, 20);
        List<PreferenceExample> pairs = new ArithmeticTask(ArithmeticTask.Config.defaults()).generate(50,
                ArithmeticTask.Part.TRAIN, false);
        assertThatThrownBy(() -> new SavedModelRoundTrainer().train(new RoundTrainer.Input(base, pairs, List.of(),
                pairs.subList(0, 10), 100, 8, 0, 1e-3, 1, Map.of()), dir.resolve("c"), () -> true))
                .isInstanceOf(RoundTrainer.Interrupted.class);
    }

    @Test
    void shouldWarmUpThenDecayTheLearningRateFromItsPeak() {
        assertThat(SavedModelRoundTrainer.scheduledRate(1e-3, 1, 800)).isCloseTo(1e-3 / 40, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(SavedModelRoundTrainer.scheduledRate(1e-3, 40, 800)).isCloseTo(1e-3, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(SavedModelRoundTrainer.scheduledRate(1e-3, 420, 800)).isBetween(0.5e-3, 0.6e-3);
        assertThat(SavedModelRoundTrainer.scheduledRate(1e-3, 800, 800)).isCloseTo(1e-4, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(SavedModelRoundTrainer.scheduledRate(1e-3, 1, 1)).isCloseTo(1e-3, org.assertj.core.api.Assertions.within(1e-12));
    }
}
