package io.rewardstream.cli.demo;

import io.rewardstream.training.BuiltinModel;
import io.rewardstream.training.ExportedModel;
import io.rewardstream.training.ModelConfig;
import io.rewardstream.training.ModelSize;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.training.RankedExample;
import io.rewardstream.training.RoundTrainer;
import io.rewardstream.training.SavedModelRoundTrainer;
import io.rewardstream.training.TrainConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Measurement harness (not a test): trains the flawed v1 of {@link HackScenario}, fine-tunes it on exposing data with
 * the given recipe and prints AUCs and exploit scores before/after, without Kafka. Args: size v1Steps pairs rankings
 * steps lr mix(unused) [ensemble].
 */
public final class HackHarness {
    public static void main(String[] a) throws Exception {
        ModelSize size = ModelSize.parse(a[0]);
        int v1Steps = Integer.parseInt(a[1]);
        int pairs = Integer.parseInt(a[2]);
        int ranked = Integer.parseInt(a[3]);
        int steps = Integer.parseInt(a[4]);
        double lr = Double.parseDouble(a[5]);
        int ens = a.length > 7 ? Integer.parseInt(a[7]) : 4;
        HackScenario sc = new HackScenario(7);
        Path v1 = Path.of("/tmp/drift/v1-" + size.id() + "-" + v1Steps + "-e" + ens + "-prefix");
        long t0 = System.nanoTime();
        if (!Files.exists(v1.resolve("saved_model.pb"))) {
            try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(size).withEnsemble(ens),
                    TrainConfig.defaults(size).withSteps(v1Steps).withProgress(false))) {
                m.train(sc.v1Pairs(20_000), List.of());
                m.export(v1, sc.v1Pairs(500));
            }
            System.out.printf("v1 trained in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
        report("v1", v1, sc);
        if (steps == 0) {
            return;
        }
        List<PreferenceExample> fresh = sc.exposingPairs(pairs, 0.5, 101);
        List<RankedExample> lists = sc.exposingRankings(ranked, 0.5, 102);
        List<PreferenceExample> held = sc.exposingPairs(300, 0.5, 103);
        Path v2 = Files.createTempDirectory(Path.of("/tmp/drift"), "v2-");
        t0 = System.nanoTime();
        RoundTrainer.Output out = new SavedModelRoundTrainer().train(new RoundTrainer.Input(v1, fresh, List.of(), held,
                steps, 32, 0.0, lr, 5, Map.of(), lists, List.of()), v2.resolve("m"), () -> false);
        System.out.printf("round: %.1f s, %s | current %s | candidate %s%n", (System.nanoTime() - t0) / 1e9,
                out.stats(), out.current(), out.candidate());
        report("v2", v2.resolve("m"), sc);
    }

    static void report(String label, Path dir, HackScenario sc) throws Exception {
        try (ExportedModel m = ExportedModel.load(dir)) {
            List<HackScenario.Answer> orig = sc.answers(2000, 0.5, 0.0, 201);
            List<HackScenario.Answer> drift = sc.answers(2000, 0.5, 0.8, 202);
            System.out.printf("%s: original AUC %.3f | drifted AUC %.3f | %s | %s%n", label, auc(m, orig), auc(m, drift),
                    means("orig", m, orig), means("drift", m, drift));
        }
    }

    static double auc(ExportedModel m, List<HackScenario.Answer> as) {
        float[] s = m.score(as.stream().map(HackScenario.Answer::prompt).toList(),
                as.stream().map(HackScenario.Answer::text).toList());
        double[] d = new double[s.length];
        boolean[] y = new boolean[s.length];
        for (int i = 0; i < s.length; i++) {
            d[i] = s[i];
            y[i] = as.get(i).correct();
        }
        return DemoStats.auc(d, y);
    }

    static String means(String tag, ExportedModel m, List<HackScenario.Answer> as) {
        float[] s = m.score(as.stream().map(HackScenario.Answer::prompt).toList(),
                as.stream().map(HackScenario.Answer::text).toList());
        double[] sum = new double[4];
        int[] n = new int[4];
        for (int i = 0; i < s.length; i++) {
            int k = (as.get(i).correct() ? 0 : 2) + (as.get(i).padded() ? 1 : 0);
            sum[k] += s[i];
            n[k]++;
        }
        return String.format("%s correct/bare %.2f correct/padded %.2f wrong/bare %.2f wrong/padded %.2f", tag,
                sum[0] / Math.max(1, n[0]), sum[1] / Math.max(1, n[1]), sum[2] / Math.max(1, n[2]),
                sum[3] / Math.max(1, n[3]));
    }
}
