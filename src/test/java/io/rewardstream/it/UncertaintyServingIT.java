package io.rewardstream.it;

import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.topology.ReleaseHook;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.training.TestEnsembles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Uncertainty on the real broker and registry: a scorer serving an exported built-in ensemble
 * ({@code model train --ensemble 3}: {@code reward} = member mean, {@code reward_std} = population std) with
 * {@code scoring.uncertainty.penalty} = 0.5 writes a non-null uncertainty >= 0 on EVERY reward, and every reward equals
 * the independent computation from the SavedModel's own outputs: {@code (mean - 0.5 * std) - 0.05 * sum(lp - lr)}.
 */
@ExtendWith(SharedLocalStack.class)
class UncertaintyServingIT {
    private static final double LAMBDA = 0.5;
    private static final double BETA = 0.05;
    private static final int MAX_SEQ_LEN = 64; // ModelSize.TINY

    @Test
    void shouldWriteTheEnsemblesUncertaintyOnEveryRewardAndPenalizeTheMean(LocalStack stack) throws Exception {
        ScorerIt.Names n = ScorerIt.Names.unique("uncert");
        ScorerTraffic.createTopics(stack, 2, n.dataTopics());
        Path work = ScorerIt.workDir(n.prefix());
        Path model = work.resolve("ensemble");
        TestEnsembles.exportTinyEnsemble(model, 260, 3, 21);
        Map<String, String> cfg = ScorerIt.config(stack, n, model, work.resolve("state"));
        cfg.put("scoring.uncertainty.penalty", Double.toString(LAMBDA));
        cfg.put("batch.max.size", "16");
        cfg.put("batch.max.delay.ms", "100");
        List<Rollout> all = new RolloutGenerator(5, n.prefix(), 260, MAX_SEQ_LEN).groups(60, 2);
        try (ScorerApp app = new ScorerApp(ScorerConfig.from(cfg), ReleaseHook.none(), null, null);
             ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards());
             SavedModelBundle bundle = SavedModelBundle.load(model.toString(), "serve")) {
            app.start();
            ScorerIt.await("scorer ready", Duration.ofSeconds(120), app::isReady);
            traffic.produce(n.rollouts(), all);
            assertThat(rewards.awaitIds(ScorerCrashIT.ids(all), Duration.ofSeconds(90)))
                    .as("every rollout rewarded; missing %s", ScorerCrashIT.missing(all, rewards.ids())).isTrue();

            Map<String, Reward> byId = new LinkedHashMap<>();
            rewards.all().forEach(r -> byId.put(r.getRolloutId(), r));
            double maxErr = 0;
            List<Double> stds = new ArrayList<>();
            for (Rollout r : all) {
                Reward got = byId.get(r.getRolloutId());
                assertThat(got.getUncertainty()).as("uncertainty of %s", r.getRolloutId()).isNotNull()
                        .isGreaterThanOrEqualTo(0.0);
                float[] direct = direct(bundle, ids(r));
                double expected = direct[0] - LAMBDA * direct[1] - BETA * klSum(r);
                assertThat(got.getUncertainty()).isCloseTo(direct[1], within(1e-5));
                assertThat(got.getReward()).as("reward of %s", r.getRolloutId()).isCloseTo(expected, within(1e-4));
                maxErr = Math.max(maxErr, Math.abs(got.getReward() - expected));
                stds.add(got.getUncertainty());
            }
            System.out.printf("%d rewards, uncertainty mean %.5f (min %.5f, max %.5f), max |reward - independent| %.2e%n",
                    all.size(), stds.stream().mapToDouble(Double::doubleValue).average().orElse(0),
                    stds.stream().mapToDouble(Double::doubleValue).min().orElse(0),
                    stds.stream().mapToDouble(Double::doubleValue).max().orElse(0), maxErr);
        }
    }

    private static int[] ids(Rollout r) {
        int[] all = new int[r.getPromptTokenIds().size() + r.getResponseTokenIds().size()];
        int k = 0;
        for (int v : r.getPromptTokenIds()) {
            all[k++] = v;
        }
        for (int v : r.getResponseTokenIds()) {
            all[k++] = v;
        }
        return all.length <= MAX_SEQ_LEN ? all : Arrays.copyOfRange(all, all.length - MAX_SEQ_LEN, all.length);
    }

    private static double klSum(Rollout r) {
        if (r.getReferenceLogprobs() == null) {
            return 0;
        }
        double kl = 0;
        for (int t = 0; t < r.getPolicyLogprobs().size(); t++) {
            kl += Math.max(-10, Math.min(10, (double) r.getPolicyLogprobs().get(t) - r.getReferenceLogprobs().get(t)));
        }
        return kl;
    }

    /** {reward, reward_std} of one unpadded row, straight from serving_default. */
    private static float[] direct(SavedModelBundle bundle, int[] ids) {
        int[] mask = new int[ids.length];
        Arrays.fill(mask, 1);
        try (TInt32 x = TInt32.tensorOf(Shape.of(1, ids.length), DataBuffers.of(ids, true, false));
             TInt32 m = TInt32.tensorOf(Shape.of(1, ids.length), DataBuffers.of(mask, true, false))) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("input_ids", x);
            in.put("attention_mask", m);
            try (Result res = bundle.function("serving_default").call(in)) {
                return new float[]{((TFloat32) res.get("reward").orElseThrow()).getFloat(0),
                        ((TFloat32) res.get("reward_std").orElseThrow()).getFloat(0)};
            }
        }
    }
}
