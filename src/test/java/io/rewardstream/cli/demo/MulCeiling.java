package io.rewardstream.cli.demo;

import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.BuiltinModel;
import io.rewardstream.training.ModelConfig;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.TrainConfig;

import java.util.List;

/**
 * Measurement harness (not a test): the from-scratch ceiling of the task-shift case. Trains the built-in model of
 * the given size from scratch on multiplication pairs (the demo's generator, default steps) and prints its AUC on
 * what the demo's multiplication policy produces. Args: size [ensemble].
 */
public final class MulCeiling {
    public static void main(String[] a) throws Exception {
        ModelSize size = ModelSize.parse(a[0]);
        int ens = a.length > 1 ? Integer.parseInt(a[1]) : 4;
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withHeldOutOperands(0).withSeed(1 + 11));
        long t0 = System.nanoTime();
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(size).withEnsemble(ens),
                TrainConfig.defaults(size).withProgress(false))) {
            m.train(mul.generate(20_000, ArithmeticTask.Part.ANY, false), List.of());
            SimulatedPolicy p = new SimulatedPolicy(99, 0.5, 4, 0.0);
            List<SimulatedPolicy.Sample> samples = new java.util.ArrayList<>();
            for (int g = 0; g < 500; g++) {
                samples.addAll(p.group(mul, "mul", "p", 0));
            }
            float[] s = m.score(samples.stream().map(x -> x.rollout().getPromptText().toString()).toList(),
                    samples.stream().map(x -> x.rollout().getResponseText().toString()).toList());
            double[] d = new double[s.length];
            boolean[] y = new boolean[s.length];
            for (int i = 0; i < s.length; i++) {
                d[i] = s[i];
                y[i] = samples.get(i).correct();
            }
            System.out.printf("from-scratch %s on mul (%d steps, %.0f s): AUC on the demo's mul policy %.3f; held-out "
                            + "pairs %s%n", size.id(), TrainConfig.defaults(size).steps(), (System.nanoTime() - t0) / 1e9,
                    DemoStats.auc(d, y), m.evaluate(new ArithmeticTask(mul.config().withSeed(77))
                            .generate(1000, ArithmeticTask.Part.ANY, false)));
        }
    }
}
