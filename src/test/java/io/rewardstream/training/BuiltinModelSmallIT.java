package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo-size model generalises: trained with the CLI defaults ({@code small}, 2000 steps, 20k pairs,
 * verbosity trap on), it ranks pairs over operand tuples never seen in training at >= 0.95, also
 * without the trap (plain answers only, so length cannot help). Takes a few minutes on 2 cores.
 */
class BuiltinModelSmallIT {

    @Test
    void shouldReachNinetyFivePercentOnHeldOutOperandPairs(@TempDir Path tmp) throws Exception {
        ArithmeticTask task = new ArithmeticTask(ArithmeticTask.Config.defaults());
        List<PreferenceExample> train = task.generate(20000, ArithmeticTask.Part.TRAIN, true);
        List<PreferenceExample> heldOut = task.generate(1000, ArithmeticTask.Part.HELD_OUT, false);
        List<PreferenceExample> plain = new ArithmeticTask(ArithmeticTask.Config.defaults().withVerbosityTrap(0))
                .generate(1000, ArithmeticTask.Part.HELD_OUT, false);
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.SMALL), TrainConfig.defaults(ModelSize.SMALL))) {
            TrainingResult r = m.train(train, heldOut);
            assertThat(r.finalEval().accuracy()).isGreaterThanOrEqualTo(0.95);
            assertThat(r.finalEval().lengthCorrelation()).isLessThan(0);
            m.export(tmp.resolve("small"));
            try (ExportedModel e = ExportedModel.load(tmp.resolve("small"))) {
                assertThat(EvalMetrics.evaluate(e, plain).accuracy()).isGreaterThanOrEqualTo(0.95);
            }
        }
    }
}
