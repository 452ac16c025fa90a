package io.rewardstream.training;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;
import io.rewardstream.dev.LocalStack;
import io.rewardstream.dev.SharedLocalStack;
import io.rewardstream.release.KeyFiles;
import io.rewardstream.release.ReleaseLog;
import io.rewardstream.release.ReleaseSigning;
import io.rewardstream.release.ReleaseVerifier;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.CompatibilityLevel;
import io.rewardstream.schema.SchemaRegistryClient;
import io.rewardstream.schema.SchemaRegistryConfig;
import io.rewardstream.scoring.BatchPlanner;
import io.rewardstream.scoring.BatchingConfig;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.ModelOutput;
import io.rewardstream.scoring.PlanScorer;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import io.rewardstream.scoring.SequenceParts;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Heads trained per objective through Kafka and the retraining job, on the real broker and registry. The starting
 * release is a built-in model with two named heads, {@code correct} and {@code concise}. Pairs and rankings labelled
 * with those objectives arrive on the preference topics and disagree on purpose: {@code correct} prefers the right
 * colour of a thing whatever the length, {@code concise} the shorter answer whatever its colour. A few pairs written
 * by an old producer (the schema before {@code objective}, registered first under BACKWARD compatibility) train the
 * combined score.
 *
 * <p>Asserted: one gated, signed release whose {@code eval_metrics} record each head's held-out accuracy on its own
 * objective; and, served from that release like a scorer loads it, each head ranks held-out <em>conflict</em> pairs
 * (long right answer vs short wrong one) by its own objective. Heads trained on one combined label would rank every
 * conflict pair the same way, so at most one of the two assertions could hold.
 */
@ExtendWith(SharedLocalStack.class)
class PerObjectiveRetrainIT {
    static final String CORRECT = "correct";
    static final String CONCISE = "concise";
    /** Things and their one right colour. */
    static final String[][] FACTS = {{"sky", "blue"}, {"grass", "green"}, {"snow", "white"}, {"coal", "black"},
            {"blood", "red"}, {"sun", "yellow"}};
    static final String[] FILLER = {"I think", "as you know", "of course", "for sure", "no doubt"};
    static final int PAIRS = 600;
    static final int RANKINGS = 60;
    static final int OLD_SCHEMA_PAIRS = 20;
    static final int STEPS = 400;
    /** Measured 0.966 (correct) and 1.000 (concise) on their own held-out pairs; 0.995 and 1.000 on conflict pairs. */
    static final double MIN_HEAD_ACCURACY = 0.8;

    @TempDir
    static Path shared;
    static Path base;
    static KeyPair keys;

    @TempDir
    Path dir;

    @BeforeAll
    static void baseRelease() throws Exception {
        base = baseModel(shared.resolve("base"));
        keys = ReleaseSigning.generateKeyPair();
        KeyFiles.writePrivate(shared.resolve("release.key"), keys.getPrivate());
        Files.createDirectories(shared.resolve("pub"));
        KeyFiles.writePublic(shared.resolve("pub/release.pub"), keys.getPublic());
    }

    /** The starting model: built-in tiny with heads {@code correct} and {@code concise} (weight 1 each), untrained. */
    static Path baseModel(Path dir) throws Exception {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head(CORRECT, 1.0),
                new ModelManifest.Head(CONCISE, 1.0));
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY).withHeads(heads),
                TrainConfig.defaults(ModelSize.TINY).withSteps(STEPS).withSeed(7).withProgress(false))) {
            m.export(dir, List.of());
        }
        return dir;
    }

    static String prompt(int fact) {
        return "Colour of " + FACTS[fact][0] + "?";
    }

    /** A short answer ("blue") or a long one ("the sky is blue, as you know"). */
    static String answer(Random rnd, int fact, String colour, boolean longForm) {
        return longForm ? "the " + FACTS[fact][0] + " is " + colour + ", " + FILLER[rnd.nextInt(FILLER.length)] : colour;
    }

    static String wrongColour(Random rnd, int fact) {
        int other = (fact + 1 + rnd.nextInt(FACTS.length - 1)) % FACTS.length;
        return FACTS[other][1];
    }

    /**
     * Half {@code correct} pairs (right colour chosen, each side short or long at random), half {@code concise} pairs
     * (short answer chosen, each side's colour right or wrong at random).
     */
    static List<PreferencePair> pairs(int n, long seed) {
        Random rnd = new Random(seed);
        List<PreferencePair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int f = rnd.nextInt(FACTS.length);
            boolean correct = i % 2 == 0;
            String chosen;
            String rejected;
            if (correct) {
                chosen = answer(rnd, f, FACTS[f][1], rnd.nextBoolean());
                rejected = answer(rnd, f, wrongColour(rnd, f), rnd.nextBoolean());
            } else {
                chosen = answer(rnd, f, rnd.nextBoolean() ? FACTS[f][1] : wrongColour(rnd, f), false);
                rejected = answer(rnd, f, rnd.nextBoolean() ? FACTS[f][1] : wrongColour(rnd, f), true);
            }
            out.add(PreferencePair.newBuilder().setPairId("obj-" + seed + "-" + i).setPromptText(prompt(f))
                    .setChosenText(chosen).setRejectedText(rejected).setAnnotatorId("ann-" + (i % 3))
                    .setSource("colours").setObjective(correct ? CORRECT : CONCISE).setCreatedAt(Instant.now())
                    .build());
        }
        return out;
    }

    /**
     * Rankings of k = 3, half per objective: {@code correct} ranks the right colour first (then two wrong ones, any
     * length), {@code concise} ranks short, then long, then long with a second filler (any colour).
     */
    static List<RankedPreference> rankings(int n, long seed) {
        Random rnd = new Random(seed);
        List<RankedPreference> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int f = rnd.nextInt(FACTS.length);
            boolean correct = i % 2 == 0;
            List<String> bestFirst = new ArrayList<>();
            if (correct) {
                bestFirst.add(answer(rnd, f, FACTS[f][1], rnd.nextBoolean()));
                bestFirst.add(answer(rnd, f, wrongColour(rnd, f), rnd.nextBoolean()));
                bestFirst.add(answer(rnd, f, wrongColour(rnd, f), rnd.nextBoolean()));
            } else {
                String c = rnd.nextBoolean() ? FACTS[f][1] : wrongColour(rnd, f);
                bestFirst.add(answer(rnd, f, c, false));
                bestFirst.add(answer(rnd, f, c, true));
                bestFirst.add(answer(rnd, f, c, true) + " " + FILLER[rnd.nextInt(FILLER.length)]);
            }
            if (bestFirst.stream().distinct().count() < 3) {
                bestFirst.set(2, bestFirst.get(2) + " indeed");
            }
            // responses in a random order; ranking[r] = index of the response at rank r
            List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
            Collections.shuffle(order, rnd);
            RankedResponse[] rs = new RankedResponse[3];
            for (int r = 0; r < 3; r++) {
                rs[order.get(r)] = RankedResponse.newBuilder().setText(bestFirst.get(r)).build();
            }
            out.add(RankedPreference.newBuilder().setRankingId("obj-rank-" + seed + "-" + i).setPromptText(prompt(f))
                    .setResponses(List.of(rs)).setRanking(order).setAnnotatorId("ranker")
                    .setObjective(correct ? CORRECT : CONCISE).setCreatedAt(Instant.now()).build());
        }
        return out;
    }

    /** Held-out conflict pairs, never published: chosen = the long right answer, rejected = a short wrong one. */
    static List<PreferenceExample> conflictPairs(int n, long seed) {
        Random rnd = new Random(seed);
        List<PreferenceExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int f = rnd.nextInt(FACTS.length);
            out.add(new PreferenceExample("conflict-" + i, prompt(f), answer(rnd, f, FACTS[f][1], true),
                    answer(rnd, f, wrongColour(rnd, f), false)));
        }
        return out;
    }

    /** Pairs as an old producer writes them: the PreferencePair schema before {@code objective} (the baseline). */
    static List<GenericRecord> oldSchemaPairs(Schema old, int n, long seed) {
        Random rnd = new Random(seed);
        List<GenericRecord> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int f = rnd.nextInt(FACTS.length);
            // both objectives agree on these: the short right answer over the long wrong one
            GenericRecord r = new GenericData.Record(old);
            r.put("pair_id", "old-schema-" + i);
            r.put("prompt_text", prompt(f));
            r.put("chosen_text", answer(rnd, f, FACTS[f][1], false));
            r.put("rejected_text", answer(rnd, f, wrongColour(rnd, f), true));
            r.put("annotator_id", "old-client");
            r.put("created_at", Instant.now().toEpochMilli());
            out.add(r);
        }
        return out;
    }

    @Test
    void shouldReleaseHeadsEachTrainedAndServedByItsOwnObjective(LocalStack stack) throws Exception {
        RetrainJobIT.Topics t = RetrainJobIT.topics(stack);
        Schema oldSchema;
        try (InputStream in = getClass().getResourceAsStream("/schema-baseline/PreferencePair.avsc")) {
            oldSchema = new Schema.Parser().parse(in);
        }
        assertThat(oldSchema.getField("objective")).as("baseline predates objective").isNull();
        SchemaRegistryClient registry = new SchemaRegistryClient(SchemaRegistryConfig.from(Map.of(
                "schema.registry.url", stack.schemaRegistryUrl())));
        registry.setCompatibility(t.prefs() + "-value", CompatibilityLevel.BACKWARD);
        // the old producer first, then the new one: the registry must accept objective as a BACKWARD evolution
        publishGeneric(stack, t.prefs(), oldSchemaPairs(oldSchema, OLD_SCHEMA_PAIRS, 3));
        List<PreferencePair> pairs = pairs(PAIRS, 1);
        RetrainJobIT.publish(stack, t.prefs(), pairs, List.of());
        RetrainJobIT.publishRanked(stack, t.ranked(), rankings(RANKINGS, 2));
        assertThat(registry.latest(t.prefs() + "-value").schema().getField("objective")).isNotNull();

        Map<String, String> m = RetrainJobIT.configMap(stack, t, PAIRS + RANKINGS + OLD_SCHEMA_PAIRS, dir, base, shared);
        m.remove(RetrainConfig.REPLAY_MIX);   // the default mix
        m.put("retrain.steps", Integer.toString(STEPS));
        m.put("retrain.learning.rate", "0.002");
        m.put("retrain.model.name", "tiny-objectives");
        RetrainConfig cfg = RetrainConfig.from(m);

        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RetrainJob job = new RetrainJob(cfg, new SavedModelRoundTrainer(), meters, null);
        RetrainJobIT.runUntil(job, () -> RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "released")
                + RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "refused") >= 1,
                Duration.ofSeconds(150));

        // every record was valid; the objective survived Avro -> replay buffer, and old-schema pairs have none
        assertThat(RetrainJobIT.count(meters, "rewardstream.retrain.pairs", "result", "valid"))
                .isEqualTo(PAIRS + RANKINGS + OLD_SCHEMA_PAIRS);
        List<StoredPair> stored = ReplayBuffer.open(cfg.replayDir(), cfg.replayMaxPairs()).pairs();
        assertThat(stored).filteredOn(p -> p.id().startsWith("old-schema-")).hasSize(OLD_SCHEMA_PAIRS)
                .allMatch(p -> p.objective() == null);
        assertThat(stored).filteredOn(p -> !p.id().startsWith("old-schema-"))
                .extracting(StoredPair::objective).containsOnly(CORRECT, CONCISE);
        assertThat(stored).filteredOn(StoredPair::isRanking).hasSize(RANKINGS);
        assertThat(RetrainJobIT.count(meters, "rewardstream.retrain.rounds", "outcome", "released")).isEqualTo(1);

        // a gated, signed release recording each head's held-out accuracy on its own objective
        ModelRelease r;
        try (ReleaseLog log = new ReleaseLog(Map.of("bootstrap.servers", stack.bootstrapServers(),
                "schema.registry.url", stack.schemaRegistryUrl()), t.releases(), Duration.ofSeconds(30))) {
            r = log.latest("tiny-objectives");
        }
        assertThat(r).isNotNull();
        Map<String, Double> em = r.getEvalMetrics();
        System.out.printf("PerObjectiveRetrainIT: release metrics: accuracy %.3f (current %.3f), head correct %.3f "
                        + "(current %.3f, %s pairs), head concise %.3f (current %.3f, %s pairs), combined score %.3f%n",
                em.get("accuracy"), em.get("current_accuracy"), em.get("head.correct.accuracy"),
                em.get("head.correct.current_accuracy"), em.get("head.correct.pairs"), em.get("head.concise.accuracy"),
                em.get("head.concise.current_accuracy"), em.get("head.concise.pairs"), em.get("combined_accuracy"));
        assertThat(em.get("head.correct.accuracy")).isGreaterThanOrEqualTo(MIN_HEAD_ACCURACY);
        assertThat(em.get("head.concise.accuracy")).isGreaterThanOrEqualTo(MIN_HEAD_ACCURACY);
        assertThat(em.get("head.correct.pairs")).isPositive();
        assertThat(meters.find("rewardstream.retrain.head.heldout.accuracy").tag("head", CONCISE).gauge().value())
                .isEqualTo(em.get("head.concise.accuracy"));
        assertThat(em.get("head.concise.pairs")).isPositive();
        // the gate compared each pair under its own head: well above what one combined label can reach here
        assertThat(em.get("accuracy")).isGreaterThanOrEqualTo(MIN_HEAD_ACCURACY)
                .isGreaterThan(em.get("current_accuracy"));
        ReleaseVerifier verifier = new ReleaseVerifier(cfg.modelRoot(), KeyFiles.readPublicKeyDir(shared.resolve("pub")),
                false, false);
        ReleaseVerifier.Verdict v = verifier.verify(r, null);
        assertThat(v.signed()).isTrue();
        assertThat(v.manifest().metrics()).containsEntry("head.correct.accuracy", em.get("head.correct.accuracy"))
                .containsEntry("head.concise.accuracy", em.get("head.concise.accuracy"));

        // served as a scorer loads it: each head ranks the conflict pairs by its own objective
        List<PreferenceExample> conflict = conflictPairs(200, 4);
        float[][] heads = servedHeads(v.modelDir(), conflict);
        int correctHead = 0;
        int conciseHead = 0;
        for (int i = 0; i < conflict.size(); i++) {
            // row i: the long right answer; row n + i: the short wrong one
            correctHead += heads[i][0] > heads[conflict.size() + i][0] ? 1 : 0;
            conciseHead += heads[conflict.size() + i][1] > heads[i][1] ? 1 : 0;
        }
        double correctPrefersRight = correctHead / (double) conflict.size();
        double concisePrefersShort = conciseHead / (double) conflict.size();
        System.out.printf("PerObjectiveRetrainIT: served, on %d conflict pairs: head correct prefers the right answer "
                + "%.3f, head concise prefers the shorter %.3f%n", conflict.size(), correctPrefersRight,
                concisePrefersShort);
        assertThat(correctPrefersRight).isGreaterThanOrEqualTo(MIN_HEAD_ACCURACY);
        assertThat(concisePrefersShort).isGreaterThanOrEqualTo(MIN_HEAD_ACCURACY);
    }

    /** Head scores {@code [2n][heads]} of every chosen then every rejected response, through the serving runtime. */
    static float[][] servedHeads(Path modelDir, List<PreferenceExample> pairs) {
        BatchingConfig batching = new BatchingConfig(64, 8192, 8, 200);
        try (SavedModelRewardModel model = ModelLoader.load(modelDir, RuntimeConfig.from(Map.of(
                "model.intra.op.threads", "1", "model.inter.op.threads", "1")), batching)) {
            assertThat(model.manifest().heads()).extracting(ModelManifest.Head::name).containsExactly(CORRECT, CONCISE);
            List<EncodedSequence> seqs = new ArrayList<>();
            for (PreferenceExample e : pairs) {
                seqs.add(model.encoder().encode(SequenceParts.ofText(e.prompt(), e.chosen())));
            }
            for (PreferenceExample e : pairs) {
                seqs.add(model.encoder().encode(SequenceParts.ofText(e.prompt(), e.rejected())));
            }
            ModelOutput out = PlanScorer.score(model, BatchPlanner.forModel(batching, model.manifest()).plan(seqs));
            assertThat(out.hasHeads()).isTrue();
            return out.heads();
        }
    }

    static void publishGeneric(LocalStack stack, String topic, List<GenericRecord> records) {
        AvroSerializer<GenericRecord> values = new AvroSerializer<>();
        values.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
        try (KafkaProducer<String, GenericRecord> prod = new KafkaProducer<>(Map.of("bootstrap.servers",
                stack.bootstrapServers(), "acks", "all"), new StringSerializer(), values)) {
            for (GenericRecord r : records) {
                prod.send(new ProducerRecord<>(topic, r.get("pair_id").toString(), r));
            }
        }
    }
}
