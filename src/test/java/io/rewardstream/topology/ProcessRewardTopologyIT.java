package io.rewardstream.topology;

import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RewardModel;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.testing.TestTopics;
import io.rewardstream.training.ArithmeticSteps;
import io.rewardstream.training.ProcessRewardModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The built-in process reward model served by the scorer on the real broker and registry: the PRM is trained here
 * ({@link ProcessRewardModels}, ~40 s on 2 shared cores) on prompt ++ answer byte ids, the layout the scorer builds for
 * tokenizer {@code ids}; the scorer ({@link ScorerApp}) serves it as {@code model.dir}. Each of {@value #PROBLEMS}
 * multi-step problems is produced twice as an Avro rollout, answered right and with step {@code i % 3} wrong, with
 * random log-probs (so the KL terms are not 0). Read back read_committed, every reward must carry the model's own
 * per-token rewards (recomputed here from the SavedModel) on the response tokens next to -beta*kl, its sum as
 * {@code reward}, and on the wrong answers the rewards must fall at the wrong step and stay low.
 */
@ExtendWith(SharedLocalStack.class)
class ProcessRewardTopologyIT {
    private static final int PROBLEMS = 24;
    private static final int ANSWER_STEPS = 3;
    private static final double BETA = 0.05;

    @TempDir
    Path tmp;

    @Test
    void shouldLowerTheRewardsFromTheWrongStepOnThroughTheScorer(LocalStack stack) throws Exception {
        ProcessRewardModels.Recipe recipe = ProcessRewardModels.Recipe.defaults()
                .withSteps(Integer.getInteger("prm.steps", ProcessRewardModels.Recipe.defaults().steps()));
        Path modelDir = tmp.resolve("prm");
        ProcessRewardModels.Built built = ProcessRewardModels.build(recipe, modelDir, false);
        System.out.printf("PRM (%s): loss %.3f -> %.3f in %.1f s; measured in-process %s%n", recipe,
                built.firstLoss(), built.lastLoss(), built.seconds(), built.measured());
        assertThat(built.manifest().tokenizer()).isEqualTo("ids");

        String suffix = "-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = TestTopics.provision(stack.bootstrapServers(), "prm", suffix, 1);
        Map<String, Object> cfg = new HashMap<>(topics);
        cfg.put("application.id", "prm-scorer" + suffix);
        cfg.put("bootstrap.servers", stack.bootstrapServers());
        cfg.put("schema.registry.url", stack.schemaRegistryUrl());
        cfg.put("state.dir", tmp.resolve("state").toString());
        cfg.put("model.dir", modelDir.toString());
        cfg.put("metrics.port", "-1");
        cfg.put("scoring.kl.coef", Double.toString(BETA));
        cfg.put("rewards.emit.kl.per.token", "true");
        ScorerConfig config = ScorerConfig.from(cfg);

        Random rnd = new Random(23);
        List<Rollout> rollouts = new ArrayList<>();
        List<ArithmeticSteps.Answer[]> pairs = new ArrayList<>();
        for (int i = 0; i < PROBLEMS; i++) {
            int start = 1 + rnd.nextInt(recipe.maxOperand());
            int[] ops = new int[ANSWER_STEPS];
            int[] rhs = new int[ANSWER_STEPS];
            for (int k = 0; k < ANSWER_STEPS; k++) {
                ops[k] = rnd.nextInt(recipe.opCount());
                rhs[k] = 1 + rnd.nextInt(recipe.maxOperand());
            }
            int[] off = new int[ANSWER_STEPS];
            off[i % ANSWER_STEPS] = (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(3));
            ArithmeticSteps.Answer right = ArithmeticSteps.build(start, ops, rhs, new int[ANSWER_STEPS]);
            ArithmeticSteps.Answer wrong = ArithmeticSteps.build(start, ops, rhs, off);
            assertThat(wrong.firstWrongStep()).isEqualTo(i % ANSWER_STEPS);
            pairs.add(new ArithmeticSteps.Answer[]{right, wrong});
            rollouts.add(rollout("right-" + i, "p-" + i, right, rnd));
            rollouts.add(rollout("wrong-" + i, "p-" + i, wrong, rnd));
        }

        Map<String, Reward> rewards;
        try (ScorerApp app = new ScorerApp(config, ReleaseHook.none(), null, null)) {
            app.start();
            long readyBy = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!app.isReady() && System.nanoTime() < readyBy) {
                Thread.sleep(100);
            }
            assertThat(app.isReady()).as("scorer RUNNING within 90 s").isTrue();
            ScorerTopics.produce(stack, config, rollouts);
            rewards = ScorerTopics.consumeRewards(stack, config.rewardsTopic(), rollouts.size());
        }
        assertThat(rewards).hasSize(rollouts.size());

        // per step: [0] before the wrong step's result, [1] from there to the end of the shorter answer
        double[] right = new double[2];
        double[] wrong = new double[2];
        // wrong step k: from the first differing token on (right, wrong); last token (right, wrong)
        double[][] byStep = new double[ANSWER_STEPS][4];
        int[] perStep = new int[ANSWER_STEPS];
        double maxPrefixDiff = 0;
        try (RewardModel direct = ModelLoader.load(modelDir, RuntimeConfig.from(Map.of("model.warmup", "false")))) {
            for (int i = 0; i < PROBLEMS; i++) {
                ArithmeticSteps.Answer[] pair = pairs.get(i);
                double[][] p = new double[2][];
                for (int w = 0; w < 2; w++) {
                    ArithmeticSteps.Answer a = pair[w];
                    Reward got = rewards.get((w == 0 ? "right-" : "wrong-") + i);
                    assertThat(got).as("reward of %s", a.text()).isNotNull();
                    p[w] = checkedProcessRewards(got, a, direct);
                }
                int err = pair[1].firstWrongToken();
                int common = Math.min(pair[0].ids().length, pair[1].ids().length);
                for (int t = 0; t < err; t++) {
                    // causal model: the same prefix gets the same rewards, whatever follows
                    maxPrefixDiff = Math.max(maxPrefixDiff, Math.abs(p[0][t] - p[1][t]));
                }
                right[0] += mean(p[0], 0, err) / PROBLEMS;
                right[1] += mean(p[0], err, common) / PROBLEMS;
                wrong[0] += mean(p[1], 0, err) / PROBLEMS;
                wrong[1] += mean(p[1], err, common) / PROBLEMS;
                // per step: from the first token that differs (a result "13" written "12" differs only at the '2')
                int diff = err;
                while (pair[0].ids()[diff] == pair[1].ids()[diff]) {
                    diff++;
                }
                int k = pair[1].firstWrongStep();
                byStep[k][0] += mean(p[0], diff, common);
                byStep[k][1] += mean(p[1], diff, common);
                byStep[k][2] += p[0][p[0].length - 1];
                byStep[k][3] += p[1][p[1].length - 1];
                perStep[k]++;
            }
        }
        System.out.printf("ProcessRewardTopologyIT: %d rollouts scored through the topology; mean process reward "
                + "(token_rewards + beta*kl, s' removed) before the wrong step: right %.3f, wrong %.3f | from the "
                + "wrong step on: right %.3f, wrong %.3f | max |diff| before the error %.1e%n", rollouts.size(),
                right[0], wrong[0], right[1], wrong[1], maxPrefixDiff);
        for (int k = 0; k < ANSWER_STEPS; k++) {
            for (int j = 0; j < 4; j++) {
                byStep[k][j] /= perStep[k];
            }
            System.out.printf("  wrong step %d (%d problems): from the first differing token on: right %.3f, wrong "
                    + "%.3f | last token (= score): right %.3f, wrong %.3f%n", k, perStep[k], byStep[k][0],
                    byStep[k][1], byStep[k][2], byStep[k][3]);
        }
        assertThat(maxPrefixDiff).as("identical prefixes, identical rewards").isLessThan(1e-3);
        // measured: 1.000 before the error on both answers; from it on 0.953 right vs -0.939 wrong (the first digit of
        // a two-digit result does not show the error yet, its label is 0 all the same)
        assertThat(wrong[1]).as("a wrong step lowers the rewards from that step on").isLessThan(wrong[0] - 1.0);
        assertThat(wrong[1]).as("below the right answer's rewards at the same positions").isLessThan(right[1] - 1.0);
        for (int k = 0; k < ANSWER_STEPS; k++) {
            assertThat(byStep[k][1]).as("wrong step %d: from the error on, wrong vs right", k)
                    .isLessThan(byStep[k][0] - 1.0);
            assertThat(byStep[k][3]).as("wrong step %d: the last token's reward (the score), wrong vs right", k)
                    .isLessThan(byStep[k][2] - 1.0);
        }
    }

    /**
     * Checks the reward's shape and maths against the model served directly and returns the process rewards on its
     * response tokens: p[t] = token_rewards[t] + beta * kl[t] (minus s' on the last token).
     */
    private static double[] checkedProcessRewards(Reward got, ArithmeticSteps.Answer a, RewardModel direct) {
        int n = a.ids().length;
        assertThat(got.getTokenRewards()).as("one token reward per response token").hasSize(n);
        assertThat(got.getKlPerToken()).hasSize(n);
        assertThat(got.getKlCoef()).isCloseTo(BETA, within(1e-12));
        assertThat(got.getFlags()).isEmpty();
        int[] seq = a.sequence();
        ModelOutput out = direct.score(PaddedBatch.of(new int[][]{seq}, new int[]{0}, seq.length,
                direct.manifest().padId()));
        float[] served = out.tokenRewards()[0];
        // the PRM's sequence score is its token reward at the last token; normalization none, no clip
        assertThat(got.getScore()).isCloseTo(out.reward()[0], within(1e-4));
        assertThat(got.getScore()).isCloseTo(served[seq.length - 1], within(1e-6));
        assertThat(got.getShapedScore()).isCloseTo(got.getScore(), within(1e-9));
        double sum = 0;
        double klSum = 0;
        double[] p = new double[n];
        for (int t = 0; t < n; t++) {
            double kl = got.getKlPerToken().get(t);
            klSum += kl;
            double tr = got.getTokenRewards().get(t);
            sum += tr;
            p[t] = tr + BETA * kl - (t == n - 1 ? got.getShapedScore() : 0);
            // response token t sits at model position prompt + t
            assertThat(p[t]).as("%s token %d", a.text(), t).isCloseTo(served[a.promptIds().length + t], within(1e-4));
        }
        assertThat(got.getKl()).isCloseTo(klSum, within(1e-4));
        assertThat(klSum).as("random log-probs: the KL terms are not 0").isNotCloseTo(0, within(1e-3));
        assertThat(got.getReward()).as("reward = sum(token_rewards)").isCloseTo(sum, within(1e-4));
        return p;
    }

    private static double mean(double[] v, int from, int to) {
        double s = 0;
        for (int t = from; t < to; t++) {
            s += v[t];
        }
        return s / (to - from);
    }

    /** A rollout whose prompt and response token ids are the problem's and answer's byte ids. */
    private static Rollout rollout(String id, String group, ArithmeticSteps.Answer a, Random rnd) {
        List<Integer> p = new ArrayList<>();
        for (int v : a.promptIds()) {
            p.add(v);
        }
        List<Integer> resp = new ArrayList<>();
        List<Float> lp = new ArrayList<>();
        List<Float> lr = new ArrayList<>();
        for (int v : a.ids()) {
            resp.add(v);
            lp.add(-2f * rnd.nextFloat());
            lr.add(-2f * rnd.nextFloat());
        }
        return Rollout.newBuilder().setRolloutId(id).setGroupId(group).setPolicyVersion("p1")
                .setPromptTokenIds(p).setResponseTokenIds(resp).setPromptText(a.prompt()).setResponseText(a.text())
                .setPolicyLogprobs(lp).setReferenceLogprobs(lr).setFinishReason(FinishReason.STOP)
                .setCreatedAt(Instant.now()).setMetadata(Map.of("task", "math")).build();
    }
}
