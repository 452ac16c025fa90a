package io.rewardstream.it;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.topology.ScorerApp;
import io.rewardstream.topology.ScorerConfig;
import io.rewardstream.release.ReleaseWatcher;
import io.rewardstream.topology.ReleaseWatcherHook;
import io.rewardstream.training.ArithmeticTask;
import io.rewardstream.training.PreferenceExample;
import io.rewardstream.release.ReleaseLog;
import io.rewardstream.training.RetrainConfig;
import io.rewardstream.training.RetrainJob;
import io.rewardstream.training.RetrainJobIT;
import io.rewardstream.training.SavedModelRoundTrainer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole loop on the real broker and registry: a scorer ({@link ScorerApp} with the production release wiring)
 * serves {@code fb:1}, a built-in {@code tiny} model trained here on ADDITION and published as a signed release;
 * the retraining job ({@link RetrainJob}, in process, same model root, matching private key) receives preference
 * pairs of a SHIFTED task (multiplication), releases {@code fb:2}, the scorer swaps to it, and rollouts of
 * multiplication problems (a correct and a wrong answer each, as text, byte token ids, log-probs; drawn like the
 * training pairs with another seed) are then rewarded by {@code fb:2} and ranked correct-above-wrong clearly better
 * than under {@code fb:1}. Problems on operand tuples never trained on are scored and reported too (not asserted).
 */
@ExtendWith(SharedLocalStack.class)
class FeedbackLoopIT {
    private ScorerApp app;
    private RetrainJob job;
    private Thread jobThread;

    @AfterEach
    void stopEverything() throws InterruptedException {
        if (job != null) {
            job.stop();
            if (jobThread != null) {
                jobThread.join(30_000);
            }
            job.close();
        }
        if (app != null) {
            app.close();
        }
    }

    @Test
    void shouldRewardTheShiftedTaskCorrectlyAfterTheJobReleasesAndTheScorerSwaps(LocalStack stack) throws Exception {
        long t0 = System.nanoTime();
        // fb:1 = the built-in tiny model trained on addition only, published as a signed release
        FeedbackFixture f = FeedbackFixture.publishBase(stack, "feedback");
        ScorerIt.Names n = f.names();
        long tBase = System.nanoTime();

        // no model.dir: the scorer starts on the newest valid release of the topic (fb:1)
        Map<String, String> sc = ScorerIt.config(stack, n, null, f.work().resolve("state"));
        sc.put("batch.max.size", "32");
        sc.put("batch.max.delay.ms", "100");
        sc.put("model.root", f.root().toString());
        sc.put("release.topic", n.releases());
        sc.put("release.public.keys.dir", f.publicKeys().toString());
        sc.put("release.model.name", "fb");
        sc.put("release.poll.ms", "200");
        ScorerConfig scorerConfig = ScorerConfig.from(sc);
        app = new ScorerApp(scorerConfig, ReleaseWatcherHook.forConfig(scorerConfig), null, null);
        app.start();
        ScorerIt.await("scorer ready", Duration.ofMinutes(2), app::isReady);
        assertThat(app.holder().modelVersion()).isEqualTo("fb:1");

        // multiplication problems drawn like the training pairs (other seed: other wrong answers), correct and wrong
        // answers; plus problems on operand tuples never in the training pairs (reported, not asserted: the tiny
        // model fine-tuned for 300 steps barely generalizes to unseen operands)
        ArithmeticTask evalTask = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(77));
        List<PreferenceExample> problems = evalTask.generate(80, ArithmeticTask.Part.TRAIN, false);
        List<PreferenceExample> unseen = evalTask.generate(40, ArithmeticTask.Part.HELD_OUT, false);

        try (ScorerTraffic traffic = new ScorerTraffic(stack);
             ScorerTraffic.Reader<Reward> rewards = traffic.rewards(n.rewards())) {
            Ranking before = score(traffic, rewards, n, problems, "before");
            Ranking beforeUnseen = score(traffic, rewards, n, unseen, "before-unseen");
            assertThat(before.versions()).containsOnly("fb:1");

            // the retraining job on the same model root, with the private key matching the scorer's public key
            Map<String, String> rc = new HashMap<>();
            rc.put("bootstrap.servers", stack.bootstrapServers());
            rc.put("schema.registry.url", stack.schemaRegistryUrl());
            rc.put("retrain.group.id", n.prefix() + "-retrain");
            rc.put("topics.preferences.name", f.prefs());
            rc.put("topics.ranked-preferences.name", f.ranked());
            rc.put("topics.model-releases.name", n.releases());
            rc.put("topics.rewardstream-dead-letters.name", n.deadLetters());
            rc.put("retrain.min.new.pairs", "500");
            rc.put("retrain.steps", "300");
            rc.put("retrain.batch.size", "32");
            rc.put("retrain.learning.rate", "0.001");
            rc.put("retrain.replay.dir", f.work().resolve("replay").toString());
            rc.put("retrain.heldout.fraction", "0.2");
            rc.put("retrain.gate.tolerance", "0.02");
            rc.put("retrain.model.root", f.root().toString());
            rc.put("retrain.model.name", "fb");
            rc.put("retrain.signing.key", f.signingKey().toString());
            rc.put("retrain.signing.key.id", "release");
            rc.put("kafka.group.instance.id", n.prefix() + "-retrain-0");
            SimpleMeterRegistry jobMeters = new SimpleMeterRegistry();
            job = new RetrainJob(RetrainConfig.from(rc), new SavedModelRoundTrainer(), jobMeters, null);
            jobThread = new Thread(() -> {
                try {
                    job.run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "feedback-retrain-job");
            jobThread.start();

            // preference pairs of the shifted task, on training operand tuples only
            ArithmeticTask shifted = new ArithmeticTask(ArithmeticTask.Config.defaults()
                    .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(78));
            List<PreferencePair> pairs = new ArrayList<>();
            for (PreferenceExample e : shifted.generate(500, ArithmeticTask.Part.TRAIN, false)) {
                pairs.add(RetrainJobIT.toAvro(e, "ann-" + pairs.size() % 3));
            }
            long tPairs = System.nanoTime();
            RetrainJobIT.publish(stack, f.prefs(), pairs, List.of());

            ScorerIt.await("the scorer serves fb:2", Duration.ofSeconds(120),
                    () -> app.holder().modelVersion().equals("fb:2"));
            long tSwap = System.nanoTime();
            assertThat(app.registry().find(ReleaseWatcher.REFUSED_METRIC).counters()).allMatch(c -> c.count() == 0);
            ModelRelease v2;
            try (ReleaseLog log = new ReleaseLog(f.client(), n.releases(), Duration.ofSeconds(30))) {
                v2 = log.latest("fb");
            }
            assertThat(v2.getVersion()).isEqualTo(2);
            assertThat(v2.getParentVersion()).isEqualTo(1L);

            Ranking after = score(traffic, rewards, n, problems, "after");
            Ranking afterUnseen = score(traffic, rewards, n, unseen, "after-unseen");
            assertThat(afterUnseen.versions()).containsOnly("fb:2");
            assertThat(after.versions()).containsOnly("fb:2");
            long tEnd = System.nanoTime();
            System.out.printf("feedback loop: job held-out accuracy %.3f (fb:1 %.3f); rewards on %d "
                            + "multiplication problems: fb:1 AUC %.3f, pairwise %.3f, mean gap %.3f | fb:2 AUC %.3f, "
                            + "pairwise %.3f, mean gap %.3f; unseen operands (%d): fb:1 AUC %.3f -> fb:2 AUC %.3f; "
                            + "base %.1f s, pairs->swap %.1f s, total %.1f s%n",
                    v2.getEvalMetrics().get("accuracy"), v2.getEvalMetrics().get("current_accuracy"), problems.size(),
                    before.auc(), before.pairwise(), before.gap(), after.auc(), after.pairwise(), after.gap(),
                    unseen.size(), beforeUnseen.auc(), afterUnseen.auc(),
                    (tBase - t0) / 1e9, (tSwap - tPairs) / 1e9, (tEnd - t0) / 1e9);
            assertThat(v2.getEvalMetrics().get("accuracy")).isGreaterThan(v2.getEvalMetrics().get("current_accuracy")
                    + 0.1);
            assertThat(after.auc()).as("AUC correct over wrong, all problems").isGreaterThan(0.65)
                    .isGreaterThan(before.auc() + 0.15);
            assertThat(after.pairwise()).as("correct above wrong, same problem").isGreaterThan(0.7)
                    .isGreaterThan(before.pairwise() + 0.2);
            assertThat(after.gap()).as("mean score correct - wrong under fb:2").isPositive();
        }
    }

    /** Rewards of one scoring pass: AUC and pairwise accuracy (same problem) of correct over wrong answers. */
    record Ranking(double auc, double pairwise, double gap, List<String> versions) {
    }

    private Ranking score(ScorerTraffic traffic, ScorerTraffic.Reader<Reward> rewards, ScorerIt.Names n,
                          List<PreferenceExample> problems, String pass) throws InterruptedException {
        List<Rollout> rollouts = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            PreferenceExample e = problems.get(i);
            String group = n.prefix() + "-" + pass + "-" + i;
            rollouts.add(rollout(group + "-correct", group, e.prompt(), e.chosen()));
            rollouts.add(rollout(group + "-wrong", group, e.prompt(), e.rejected()));
        }
        traffic.produce(n.rollouts(), rollouts);
        List<String> ids = rollouts.stream().map(r -> r.getRolloutId().toString()).toList();
        assertThat(rewards.awaitIds(ids, Duration.ofSeconds(60))).as("every %s rollout rewarded", pass).isTrue();
        Map<String, Reward> byId = new HashMap<>();
        rewards.all().forEach(r -> byId.put(r.getRolloutId().toString(), r));
        List<Double> correct = new ArrayList<>();
        List<Double> wrong = new ArrayList<>();
        int wins = 0;
        List<String> versions = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            String group = n.prefix() + "-" + pass + "-" + i;
            Reward c = byId.get(group + "-correct");
            Reward w = byId.get(group + "-wrong");
            correct.add(c.getScore());
            wrong.add(w.getScore());
            wins += c.getScore() > w.getScore() ? 1 : 0;
            versions.add(c.getModelVersion().toString());
            versions.add(w.getModelVersion().toString());
        }
        double auc = 0;
        for (double c : correct) {
            for (double w : wrong) {
                auc += c > w ? 1 : c == w ? 0.5 : 0;
            }
        }
        auc /= (double) correct.size() * wrong.size();
        double gap = correct.stream().mapToDouble(Double::doubleValue).average().orElseThrow()
                - wrong.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        return new Ranking(auc, wins / (double) problems.size(), gap, versions);
    }

    private static Rollout rollout(String id, String group, String prompt, String response) {
        List<Integer> responseIds = byteIds(response);
        List<Float> logprobs = new ArrayList<>(Collections.nCopies(responseIds.size(), -0.5f));
        return Rollout.newBuilder().setRolloutId(id).setGroupId(group).setGroupSize(2).setPolicyVersion("step-1")
                .setPromptTokenIds(byteIds(prompt)).setResponseTokenIds(responseIds).setPromptText(prompt)
                .setResponseText(response).setPolicyLogprobs(logprobs).setReferenceLogprobs(logprobs)
                .setFinishReason(FinishReason.STOP).setCreatedAt(Instant.now()).setMetadata(Map.of("task", "mul"))
                .build();
    }

    /** Token ids of the built-in byte tokenizer: byte b -> b + 4. */
    private static List<Integer> byteIds(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            out.add((b & 0xff) + ByteTokenizer.OFFSET);
        }
        return out;
    }
}
