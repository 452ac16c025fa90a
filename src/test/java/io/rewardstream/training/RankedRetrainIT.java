package io.rewardstream.training;

import io.rewardstream.release.ReleaseLog;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.release.ReleaseSigning;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Only ranked lists arrive (on {@code ranked-preferences}, none on {@code preferences}): the retraining job keeps
 * each list as one replay-buffer entry, trains the built-in model through its {@code train_step_ranked} signature
 * (Plackett-Luce), gates the candidate on the held-out lists' implied pairs and publishes a release. Fails if the
 * lists were split into k(k-1)/2 pairs for training: the consumed count, the release's step counters and the
 * manifest's loss would say so.
 */
@ExtendWith(SharedLocalStack.class)
class RankedRetrainIT {
    static final int LISTS = 160;
    static final int K = 4;
    static final int STEPS = 120;

    @TempDir
    static Path shared;
    static Path base;

    @TempDir
    Path dir;

    @BeforeAll
    static void trainBaseModel() throws Exception {
        base = SavedModelRoundTrainerTest.additionModel(shared, 200);
        KeyPair keys = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(shared.resolve("release.key"), keys.getPrivate());
    }

    /** Multiplication rankings: the correct product first, then misses by 1, 10 and 100 (random sign), shuffled. */
    static List<RankedPreference> rankings(int n, long seed) {
        Random rnd = new Random(seed);
        ArithmeticTask mul = new ArithmeticTask(ArithmeticTask.Config.defaults()
                .withOps(List.of(ArithmeticTask.Operation.MUL)).withVerbosityTrap(0).withSeed(seed));
        List<RankedPreference> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ArithmeticTask.Sample s = mul.sample(rnd, true);
            long v = Long.parseLong(s.answer());
            List<String> bestFirst = new ArrayList<>(List.of(Long.toString(v)));
            for (int off : new int[]{1, 10, 100}) {
                bestFirst.add(Long.toString(v + (rnd.nextBoolean() ? off : -off)));
            }
            // responses in a random order; ranking[r] = index of the response at rank r
            List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
            java.util.Collections.shuffle(order, rnd);
            RankedResponse[] rs = new RankedResponse[K];
            List<Integer> ranking = new ArrayList<>();
            for (int r = 0; r < K; r++) {
                rs[order.get(r)] = RankedResponse.newBuilder().setText(bestFirst.get(r)).build();
                ranking.add(order.get(r));
            }
            out.add(RankedPreference.newBuilder().setRankingId("mul-rank-" + seed + "-" + i)
                    .setPromptText(s.prompt()).setResponses(List.of(rs)).setRanking(ranking)
                    .setAnnotatorId("ranker").setCreatedAt(Instant.now()).build());
        }
        return out;
    }

    @Test
    void shouldReleaseAModelTrainedWithPlackettLuceOnRankedListsOnly(LocalStack stack) throws Exception {
        RetrainJobIT.Topics t = RetrainJobIT.topics(stack);
        RetrainJobIT.publishRanked(stack, t.ranked(), rankings(LISTS, 5));
        Map<String, String> m = RetrainJobIT.configMap(stack, t, LISTS, dir, base, shared);
        m.remove(RetrainConfig.REPLAY_MIX);   // the default mix
        m.put("retrain.group.id", "retrain-" + t.ranked());
        m.put("retrain.steps", Integer.toString(STEPS));
        m.put("retrain.model.name", "tiny-ranked");
        RetrainConfig cfg = RetrainConfig.from(m);

        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, null);
        RetrainJobIT.runUntil(job, () -> RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "released")
                + RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "refused") >= 1,
                Duration.ofSeconds(150));

        // one buffer entry per list, not k(k-1)/2 = 6 pairs per list
        assertThat(RetrainJobIT.count(meters, "rewardstream.retrain.pairs", "result", "valid")).isEqualTo(LISTS);
        assertThat(ReplayBuffer.open(cfg.replayDir(), cfg.replayMaxPairs()).pairs())
                .hasSize(LISTS).allMatch(StoredPair::isRanking);
        assertThat(RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "released")).isEqualTo(1);

        ModelRelease r;
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            r = log.latest("tiny-ranked");
        }
        assertThat(r).isNotNull();
        Map<String, Double> em = r.getEvalMetrics();
        System.out.println("ranked release metrics: " + em);
        // every step was a Plackett-Luce step on whole lists; no pair was trained
        assertThat(em.get(RoundTrainer.PL_STEPS)).isEqualTo((double) STEPS);
        assertThat(em.get(RoundTrainer.BT_STEPS)).isZero();
        assertThat(em.get(RoundTrainer.BT_EXAMPLES)).isZero();
        assertThat(em.get("train_new_pairs")).isZero();
        double trainLists = em.get("train_new_rankings");
        assertThat(trainLists + em.get("heldout_rankings")).isEqualTo(LISTS);
        assertThat(em.get(RoundTrainer.PL_EXAMPLES)).isEqualTo(STEPS * Math.max(1, 2 * 32 / K));
        // held-out: the held-out lists' implied pairs, and the model learned the new task from lists alone
        assertThat(em.get("pairs")).isEqualTo(em.get("heldout_rankings") * K * (K - 1) / 2);
        assertThat(em.get("accuracy")).isGreaterThan(em.get("current_accuracy") + 0.05);

        ModelManifest mf = ModelManifest.read(cfg.modelRoot().resolve(r.getLocation()));
        assertThat(mf.lineage()).containsEntry("fine_tune_ranked_loss", "plackett-luce");
        // the release keeps the list signature, so the next round trains lists too
        try (ExportedModel em2 = ExportedModel.load(cfg.modelRoot().resolve(r.getLocation()))) {
            assertThat(em2.signatures()).containsKeys("serving_default", "train_step", RewardGraph.RANKED_TRAIN_STEP);
        }
    }
}
