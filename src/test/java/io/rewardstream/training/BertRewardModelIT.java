package io.rewardstream.training;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.files.FileTrees;
import io.rewardstream.scoring.EncodedSequence;
import io.rewardstream.scoring.ModelLoader;
import io.rewardstream.scoring.ModelManifest;
import io.rewardstream.scoring.PaddedBatch;
import io.rewardstream.scoring.RuntimeConfig;
import io.rewardstream.scoring.SavedModelRewardModel;
import io.rewardstream.scoring.SequenceEncoder;
import io.rewardstream.scoring.SequenceParts;
import io.rewardstream.scoring.WordPieceTokenizer;
import io.rewardstream.testing.TestTopics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * BERT-base reward model end to end on the real artifact (the build resolves it into the local Maven
 * repository and passes its path as {@value BertBackbone#JAR_PROPERTY}; {@code -DskipBert} skips the download and
 * this test). A helpfulness preference set (80 pairs: helpful answer vs an evasive or off-topic one of similar
 * length) needs language understanding: the frozen backbone + linear head must beat the built-in tiny model trained
 * on the same pairs, export one contract SavedModel, and score identically after a reload in a fresh process.
 * About 1-2 minutes on 2 cores (160 backbone sequences of ~40 tokens).
 */
@Tag("bert")
@EnabledIfSystemProperty(named = BertBackbone.JAR_PROPERTY, matches = ".+")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BertRewardModelIT {
    static final Path DATA = Path.of("src/test/resources/bert/helpfulness.jsonl");
    static final double HELD_OUT = 0.3;
    static Path tmp;
    static BertBackbone backbone;
    static List<PreferenceExample> train;
    static List<PreferenceExample> heldOut;
    static Path exported;
    static EvalMetrics inProcess;

    @BeforeAll
    static void setUp() throws Exception {
        tmp = Files.createTempDirectory("bert-it");
        backbone = BertBackbone.load();   // unpacks into ~/.cache/rewardstream/bert on first use
        PreferenceJsonl.LoadResult r = PreferenceJsonl.load(DATA);
        assertThat(r.errors()).isEmpty();
        Splits.Split<PreferenceExample> s = Splits.byPairId(r.examples(), HELD_OUT);
        train = s.train();
        heldOut = s.heldOut();
        assertThat(train).hasSizeGreaterThan(40);
        assertThat(heldOut).hasSizeGreaterThan(15);
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (backbone != null) {
            backbone.close();
        }
        if (tmp != null) {
            FileTrees.deleteTree(tmp);
        }
    }

    @Test
    @Order(1)
    void shouldTokenizeLikeBertWithTheRealVocabulary() {
        WordPieceTokenizer t = backbone.tokenizer();
        assertThat(t.vocabSize()).isEqualTo(30522);
        assertThat(List.of(t.clsId(), t.sepId(), t.unkId(), t.padId())).containsExactly(101, 102, 100, 0);
        // greedy longest match: "una" (no unaffa/unaffab/unaffabl/unaffable), "##ffa" (no ##ffable/##ffabl/##ffab), "##ble"
        assertThat(t.tokenize("unaffable")).containsExactly("una", "##ffa", "##ble");
        assertThat(t.encode("unaffable")).containsExactly(14477, 20961, 3468);
        // the BERT README example: "puppeteer" -> puppet ##eer
        assertThat(t.tokenize("Jim Henson was a puppeteer")).containsExactly("jim", "henson", "was", "a", "puppet", "##eer");
        assertThat(t.encode("Hello, World!")).containsExactly(7592, 1010, 2088, 999);
        assertThat(t.encode("Caf\u00E9 NA\u00CFVE")).containsExactly(7668, 15743);          // accents stripped
        assertThat(t.encode("don't")).containsExactly(2123, 1005, 1056);
        assertThat(t.encode("\u4E2D\u56FD")).containsExactly(1746, 1799);                // one word per CJK char
        EncodedSequence pair = t.encodePair("Hello", "world", 128);
        assertThat(pair.ids()).containsExactly(101, 7592, 102, 2088, 102);
    }

    @Test
    @Order(1)
    void shouldAgreeWithHuggingFaceBertTokenizerOnManyTexts() throws Exception {
        // an independent implementation: HuggingFace tokenizers (Rust, via DJL) configured as BERT uncased
        WordPieceTokenizer t = backbone.tokenizer();
        ObjectMapper om = new ObjectMapper();
        var vocab = om.createObjectNode();
        for (int i = 0; i < t.vocabSize(); i++) {
            vocab.put(t.token(i), i);
        }
        var json = om.createObjectNode();
        json.put("version", "1.0");
        json.putNull("truncation");
        json.putNull("padding");
        json.putArray("added_tokens");
        json.putObject("normalizer").put("type", "BertNormalizer").put("clean_text", true)
                .put("handle_chinese_chars", true).putNull("strip_accents").put("lowercase", true);
        json.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        json.putNull("post_processor");
        json.putNull("decoder");
        var model = json.putObject("model");
        model.put("type", "WordPiece").put("unk_token", "[UNK]").put("continuing_subword_prefix", "##")
                .put("max_input_chars_per_word", 100).set("vocab", vocab);
        Path file = tmp.resolve("bert-tokenizer.json");
        om.writeValue(file.toFile(), json);
        List<String> texts = new ArrayList<>(List.of("unaffable", "Jim Henson was a puppeteer", "Hello, World!",
                "Caf\u00E9 NA\u00CFVE r\u00E9sum\u00E9 \u00C5ngstr\u00F6m", "don't stop-believing... (really?!)",
                "\u4E2D\u56FD\u4EBA and \u65E5\u672C\u8A9E mixed", "tabs\tand\nnewlines\r\nhere", "zero\u200Bwidth",
                "e-mail: someone@example.com, price $3.50 #1 50% off", "\u00BFQu\u00E9 tal? \u00A1Bien!",
                "\u201Cquoted\u201D \u2014 dash \u2026 ellipsis", "ﬁne ligature and Ǆ", "x".repeat(101) + " tail",
                "supercalifragilisticexpialidocious antidisestablishmentarianism", "[CLS] literal [SEP]",
                "emoji \uD83D\uDE00 and symbols \u00A9 \u2122 \u00B0C", "ÀÉÎÕÜ àéîõü ñ ç ß ø æ œ"));
        for (PreferenceExample e : PreferenceJsonl.load(DATA).examples()) {
            texts.add(e.prompt());
            texts.add(e.chosen());
            texts.add(e.rejected());
        }
        try (ai.djl.huggingface.tokenizers.HuggingFaceTokenizer hf = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer
                .newInstance(file, Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            for (String text : texts) {
                long[] ref = hf.encode(text, false, false).getIds();
                int[] ours = t.encode(text);
                assertThat(java.util.Arrays.stream(ours).asLongStream().toArray()).as("'%s' -> %s", text, t.tokenize(text))
                        .containsExactly(ref);
            }
        }
    }

    @Test
    @Order(2)
    void shouldBeatTheBuiltinModelOnHeldOutHelpfulnessPairs() throws Exception {
        BertFeatures features = new BertFeatures(backbone, tmp.resolve("features"));   // fresh: exercises the backbone
        exported = tmp.resolve("bert-rm");
        BertHeadTrainer.Result r = BertHeadTrainer.train(features, train, heldOut, BertHeadTrainer.Config.defaults(),
                exported, 1, Map.of("data", DATA.toString()));
        assertThat(r.featuresComputed()).isEqualTo(2 * (train.size() + heldOut.size()));
        double bert = r.heldOut().accuracy();

        double tiny;
        try (BuiltinModel m = BuiltinModel.create(ModelConfig.of(ModelSize.TINY), TrainConfig.defaults(ModelSize.TINY))) {
            tiny = m.train(train, heldOut).finalEval().accuracy();
        }
        System.err.printf("held-out pairwise accuracy on %d pairs: bert-base head %.3f, builtin-tiny %.3f%n",
                heldOut.size(), bert, tiny);
        assertThat(bert).isGreaterThanOrEqualTo(0.9);
        assertThat(bert).isGreaterThanOrEqualTo(tiny + 0.2);

        // a second pass is served from the cache, without the backbone
        int before = features.computed();
        BertHeadTrainer.Result again = BertHeadTrainer.train(features, train, heldOut, BertHeadTrainer.Config.defaults(),
                tmp.resolve("again"), 1, Map.of());
        assertThat(features.computed()).isEqualTo(before);
        assertThat(again.heldOut().accuracy()).isEqualTo(bert);
    }

    @Test
    @Order(3)
    void shouldExportOneContractModelThatTheScoringRuntimeRuns() throws Exception {
        ModelManifest m = ModelManifest.read(exported);
        assertThat(m.tokenizer()).isEqualTo("wordpiece");
        assertThat(m.tokenizerFile()).isEqualTo("assets/vocab.txt");
        assertThat(m.files()).containsKeys("saved_model.pb", "variables/variables.index", "assets/vocab.txt", "head.json");
        try (SavedModelRewardModel model = ModelLoader.load(exported, RuntimeConfig.from(Map.of(RuntimeConfig.WARMUP, "false")));
             SequenceEncoder enc = SequenceEncoder.forModel(exported, model.manifest());
             ExportedModel e = ExportedModel.load(exported)) {
            assertThat(e.signatures().get("serving_default").get("inputs")).containsOnlyKeys("input_ids", "attention_mask");
            assertThat(e.parameterCount()).isBetween(100_000_000L, 120_000_000L);
            List<PreferenceExample> few = heldOut.subList(0, 4);
            int[][] rows = new int[2 * few.size()][];
            List<String> prompts = new ArrayList<>();
            List<String> responses = new ArrayList<>();
            int max = 0;
            for (int i = 0; i < few.size(); i++) {
                for (int k = 0; k < 2; k++) {
                    String resp = k == 0 ? few.get(i).chosen() : few.get(i).rejected();
                    rows[2 * i + k] = enc.encode(SequenceParts.ofText(few.get(i).prompt(), resp)).ids();
                    max = Math.max(max, rows[2 * i + k].length);
                    prompts.add(few.get(i).prompt());
                    responses.add(resp);
                }
            }
            int[] index = new int[rows.length];
            for (int i = 0; i < index.length; i++) {
                index[i] = i;
            }
            float[] runtime = model.score(PaddedBatch.of(rows, index, max, 0)).reward();
            float[] training = e.score(prompts, responses);
            for (int i = 0; i < few.size(); i++) {
                assertThat(runtime[2 * i]).isGreaterThan(runtime[2 * i + 1]);
            }
            // same graph, same ids; padding to another length may change the last float bits only
            for (int i = 0; i < runtime.length; i++) {
                assertThat(runtime[i]).isCloseTo(training[i], org.assertj.core.data.Offset.offset(1e-3f));
            }
            inProcess = EvalMetrics.evaluate(e, heldOut);
        }
    }

    @Test
    @Order(4)
    void shouldScoreIdenticallyAfterReloadInAFreshProcess() throws Exception {
        Path out = tmp.resolve("eval.json");
        FreshProcessEval.assertSameAggregates(FreshProcessEval.run(exported, out, "--data", DATA.toString(),
                "--held-out", Double.toString(HELD_OUT)), inProcess, heldOut.size());
    }

    @Test
    @Order(5)
    void shouldFineTuneTheHeadOnNewPairsAndReExport() throws Exception {
        Path v2 = tmp.resolve("bert-rm-v2");
        BertHeadTrainer.Result r = BertHeadTrainer.fineTune(exported, heldOut.subList(0, 8), heldOut,
                new BertHeadTrainer.Config(100, 0.01, 0.05), v2);
        assertThat(r.manifest().version()).isEqualTo(2);
        assertThat(r.manifest().parentVersion()).isEqualTo(1L);
        assertThat(r.heldOut().accuracy()).isGreaterThanOrEqualTo(0.9);
        assertThat(ModelLoader.verifyFiles(v2, true).modelVersion()).isEqualTo(BertHeadTrainer.MODEL_NAME + ":2");
        assertThat(LinearHead.read(v2).w()).isNotEqualTo(LinearHead.read(exported).w());
    }

    @Test
    @Order(5)
    void shouldRunARetrainingRoundOnTheHeadForTheRetrainJob() throws Exception {
        Path target = tmp.resolve("round");
        RoundTrainer.Input in = new RoundTrainer.Input(exported, heldOut.subList(0, 6), train, heldOut, 200, 32, 0.5,
                1e-4, 7, Map.of("source", "BertRewardModelIT"));
        RoundTrainer.Output out = BertRoundTrainer.orElse((i, t, s) -> {
            throw new AssertionError("a BERT model must not reach the train_step trainer");
        }).train(in, target, () -> false);
        assertThat(out.current().accuracy()).isGreaterThanOrEqualTo(0.9);
        assertThat(out.candidate().accuracy()).isGreaterThanOrEqualTo(0.9);
        assertThat(out.manifest().parentVersion()).isEqualTo(1L);
        assertThat(target.resolve("report/index.html")).exists();
        assertThat(ModelLoader.verifyFiles(target, true).files()).containsKey("report/index.html");
        assertThatThrownByStop(in);
    }

    private static void assertThatThrownByStop(RoundTrainer.Input in) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new BertRoundTrainer().train(in,
                tmp.resolve("stopped"), () -> true)).isInstanceOf(RoundTrainer.Interrupted.class);
    }

    @Test
    @Order(6)
    @org.junit.jupiter.api.extension.ExtendWith(io.rewardstream.dev.SharedLocalStack.class)
    void shouldScoreTextRolloutsThroughTheScorerTopology(io.rewardstream.dev.LocalStack stack) throws Exception {
        String suffix = "-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> topics = TestTopics.provision(stack.bootstrapServers(), "bert", suffix, 1);
        Map<String, Object> cfg = new java.util.HashMap<>(topics);
        cfg.put("application.id", "bert-scorer" + suffix);
        cfg.put("bootstrap.servers", stack.bootstrapServers());
        cfg.put("schema.registry.url", stack.schemaRegistryUrl());
        cfg.put("state.dir", tmp.resolve("state").toString());
        cfg.put("model.dir", exported.toString());
        cfg.put("model.warmup", "false");   // BERT-base warm-up of every bucket shape takes ~30 s on 2 cores
        cfg.put("metrics.port", "0");
        io.rewardstream.topology.ScorerConfig config = io.rewardstream.topology.ScorerConfig.from(cfg);

        // one group per held-out question: the helpful answer and the unhelpful one, as text rollouts
        List<io.rewardstream.avro.Rollout> rollouts = new ArrayList<>();
        for (PreferenceExample e : heldOut.subList(0, 10)) {
            for (int k = 0; k < 2; k++) {
                rollouts.add(io.rewardstream.avro.Rollout.newBuilder()
                        .setRolloutId(e.id() + (k == 0 ? "-chosen" : "-rejected")).setGroupId(e.id()).setGroupSize(2)
                        .setPolicyVersion("p1").setPromptTokenIds(List.of(11, 12)).setResponseTokenIds(List.of(13, 14, 15))
                        .setPolicyLogprobs(List.of(-1f, -1f, -1f)).setReferenceLogprobs(null)
                        .setFinishReason(io.rewardstream.avro.FinishReason.STOP)
                        .setPromptText(e.prompt()).setResponseText(k == 0 ? e.chosen() : e.rejected())
                        .setCreatedAt(java.time.Instant.now()).build());
            }
        }
        Map<String, Double> rewards = new java.util.HashMap<>();
        try (io.rewardstream.topology.ScorerApp app = new io.rewardstream.topology.ScorerApp(config,
                io.rewardstream.topology.ReleaseHook.none(), null, tmp.resolve("ready"));
             ExportedModel reference = ExportedModel.load(exported)) {
            app.start();
            long readyBy = System.nanoTime() + java.time.Duration.ofSeconds(120).toNanos();
            while (!app.isReady() && System.nanoTime() < readyBy) {
                Thread.sleep(100);
            }
            assertThat(app.isReady()).as("scorer RUNNING within 120 s").isTrue();
            io.rewardstream.schema.AvroSerializer<io.rewardstream.avro.Rollout> ser = new io.rewardstream.schema.AvroSerializer<>();
            ser.configure(config.serdeProperties(), false);
            try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(
                    Map.<String, Object>of("bootstrap.servers", stack.bootstrapServers(), "acks", "all"),
                    new org.apache.kafka.common.serialization.StringSerializer(),
                    new org.apache.kafka.common.serialization.ByteArraySerializer())) {
                for (io.rewardstream.avro.Rollout r : rollouts) {
                    producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(config.rolloutsTopic(),
                            r.getGroupId(), ser.serialize(config.rolloutsTopic(), r)));
                }
                producer.flush();
            }
            io.rewardstream.schema.AvroDeserializer<io.rewardstream.avro.Reward> de =
                    new io.rewardstream.schema.AvroDeserializer<>(io.rewardstream.avro.Reward.class);
            de.configure(Map.of("schema.registry.url", stack.schemaRegistryUrl()), false);
            Map<String, Object> c = new java.util.HashMap<>();
            c.put("bootstrap.servers", stack.bootstrapServers());
            c.put("group.id", "bert-reader" + suffix);
            c.put("auto.offset.reset", "earliest");
            c.put("isolation.level", "read_committed");
            try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<String, io.rewardstream.avro.Reward>(c,
                    new org.apache.kafka.common.serialization.StringDeserializer(),
                    (org.apache.kafka.common.serialization.Deserializer<io.rewardstream.avro.Reward>) de)) {
                consumer.subscribe(List.of(config.rewardsTopic()));
                long deadline = System.nanoTime() + java.time.Duration.ofSeconds(120).toNanos();
                while (rewards.size() < rollouts.size() && System.nanoTime() < deadline) {
                    for (var rec : consumer.poll(java.time.Duration.ofMillis(200))) {
                        assertThat(rec.value().getModelVersion()).isEqualTo(BertHeadTrainer.MODEL_NAME + ":1");
                        rewards.put(rec.value().getRolloutId(), rec.value().getScore());
                    }
                }
            }
            assertThat(rewards).hasSize(rollouts.size());
            for (io.rewardstream.avro.Rollout r : rollouts) {
                float expected = reference.score(List.of(r.getPromptText()), List.of(r.getResponseText()))[0];
                assertThat(rewards.get(r.getRolloutId())).as(r.getRolloutId())
                        .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-3));
            }
            for (PreferenceExample e : heldOut.subList(0, 10)) {
                assertThat(rewards.get(e.id() + "-chosen")).as(e.id()).isGreaterThan(rewards.get(e.id() + "-rejected"));
            }
        }
    }
}
