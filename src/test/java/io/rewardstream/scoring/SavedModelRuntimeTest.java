package io.rewardstream.scoring;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The SavedModel runtime against tiny models built in Java by {@link TinySavedModels}. */
class SavedModelRuntimeTest {
    /** Small warm-up shapes keep the suite fast. */
    private static final BatchingConfig BATCHING = new BatchingConfig(16, 1024, 8, 200);
    private static final RuntimeConfig CFG = RuntimeConfig.from(Map.of("model.intra.op.threads", "1",
            "model.inter.op.threads", "1"));

    @TempDir
    static Path tmp;
    static Path v1;
    static Path v2;

    @BeforeAll
    static void buildModels() {
        v1 = TinySavedModels.build(tmp.resolve("v1"), "tiny", 1, 11);
        v2 = TinySavedModels.build(tmp.resolve("v2"), "tiny", 2, 22);
    }

    private static List<EncodedSequence> randomSequences(int n, long seed) {
        Random rnd = new Random(seed);
        List<EncodedSequence> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] ids = new int[1 + rnd.nextInt(TinySavedModels.MAX_SEQ_LEN)];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = 4 + rnd.nextInt(256);
            }
            out.add(EncodedSequence.of(ids));
        }
        return out;
    }

    /** serving_default called straight through TF Java's SessionFunction, no runtime code involved. */
    private static Map<String, float[][]> direct(SavedModelBundle bundle, PaddedBatch batch) {
        try (TInt32 ids = TInt32.tensorOf(StdArrays.ndCopyOf(batch.ids()));
             TInt32 mask = TInt32.tensorOf(StdArrays.ndCopyOf(batch.mask()));
             Result r = bundle.function("serving_default").call(Map.of("input_ids", ids, "attention_mask", mask))) {
            TFloat32 reward = (TFloat32) r.get("reward").orElseThrow();
            float[][] rew = new float[1][batch.rows()];
            for (int i = 0; i < batch.rows(); i++) {
                rew[0][i] = reward.getFloat(i);
            }
            Map<String, float[][]> out = new java.util.HashMap<>(Map.of("reward", rew));
            r.get("rewards").ifPresent(t -> out.put("rewards", StdArrays.array2dCopyOf((TFloat32) t)));
            return out;
        }
    }

    private static void assertBitForBit(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i])).as("row %d: %s vs %s", i, actual[i], expected[i])
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }

    /** Scores the plan through the runtime and compares every batch with a direct call, in original order. */
    private static void assertPlanMatchesDirect(RewardModel model, Path dir, List<EncodedSequence> seqs) {
        BatchPlan plan = BatchPlanner.forModel(BATCHING, model.manifest()).plan(seqs);
        assertThat(plan.batches().size()).isGreaterThan(1);
        ModelOutput out = PlanScorer.score(model, plan);
        float[] expected = new float[seqs.size()];
        try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
            for (PaddedBatch b : plan.batches()) {
                float[] d = direct(bundle, b).get("reward")[0];
                for (int r = 0; r < b.rows(); r++) {
                    expected[b.originalIndex()[r]] = d[r];
                }
            }
        }
        assertBitForBit(out.reward(), expected);
    }

    @Test
    void shouldScoreBitForBitLikeADirectSessionCallInOriginalOrder() {
        try (SavedModelRewardModel model = ModelLoader.load(v1, CFG, BATCHING)) {
            assertThat(model.modelVersion()).isEqualTo("tiny:1");
            assertThat(model.devicesUsed()).isNotEmpty().allMatch(d -> d.contains("CPU"));
            assertPlanMatchesDirect(model, v1, randomSequences(100, 1));
        }
    }

    @Test
    void shouldKeepAnInFlightBatchOnTheOldModelAcrossAHotSwap() {
        List<EncodedSequence> seqs = randomSequences(60, 2);
        SavedModelRewardModel first = ModelLoader.load(v1, CFG, BATCHING);
        SavedModelRewardModel second = ModelLoader.load(v2, CFG, BATCHING);
        try (ModelHolder holder = new ModelHolder(first)) {
            ModelHolder.Lease inFlight = holder.acquire();
            holder.swap(second);
            // the old model stays open and correct while its batch is in flight
            assertThat(first.isClosed()).isFalse();
            assertThat(inFlight.model()).isSameAs(first);
            assertPlanMatchesDirect(inFlight.model(), v1, seqs);
            try (ModelHolder.Lease fresh = holder.acquire()) {
                assertThat(fresh.model()).isSameAs(second);
                assertThat(holder.modelVersion()).isEqualTo("tiny:2");
                assertPlanMatchesDirect(fresh.model(), v2, seqs);
            }
            inFlight.close();
            assertThat(first.isClosed()).isTrue();
            assertThat(second.isClosed()).isFalse();
            assertThatThrownBy(() -> first.score(PaddedBatch.of(new int[][]{{5}}, new int[]{0}, 8, 0)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("tiny:1 is closed");
        }
        assertThat(second.isClosed()).isTrue();
    }

    @Test
    void shouldReturnNamedHeadsAndTheirWeightedSum() {
        Path dir = TinySavedModels.build(tmp.resolve("heads"), TinySavedModels.Spec.valid("multi", 1, 5)
                .withHeads(List.of(new ModelManifest.Head("helpful", 0.75), new ModelManifest.Head("harmless", 0.25))));
        List<EncodedSequence> seqs = randomSequences(20, 3);
        try (SavedModelRewardModel model = ModelLoader.load(dir, CFG, BATCHING);
             SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
            PaddedBatch batch = BatchPlanner.forModel(BATCHING, model.manifest()).plan(seqs).batches().get(0);
            ModelOutput out = model.score(batch);
            float[][] expectedHeads = direct(bundle, batch).get("rewards");
            assertThat(out.heads()).hasNumberOfRows(batch.rows());
            for (int r = 0; r < batch.rows(); r++) {
                assertBitForBit(out.heads()[r], expectedHeads[r]);
                assertThat(out.reward()[r]).isCloseTo(0.75f * out.heads()[r][0] + 0.25f * out.heads()[r][1],
                        org.assertj.core.data.Offset.offset(1e-5f));
            }
            try (Ensemble overHeads = Ensemble.ofHeads(model)) {
                ModelOutput e = overHeads.score(batch);
                float[] h = out.heads()[0];
                assertThat(e.reward()[0]).isCloseTo((h[0] + h[1]) / 2, org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(e.uncertainty()[0]).isCloseTo(Math.abs(h[0] - h[1]) / 2,
                        org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
    }

    @Test
    void shouldReportMeanAndStdOfAnEnsemble() {
        List<EncodedSequence> seqs = randomSequences(10, 4);
        try (Ensemble ensemble = Ensemble.of(List.of(ModelLoader.load(v1, CFG, BATCHING),
                ModelLoader.load(v2, CFG, BATCHING)))) {
            PaddedBatch batch = BatchPlanner.forModel(BATCHING, ensemble.manifest()).plan(seqs).batches().get(0);
            float[] a = ensemble.members().get(0).score(batch).reward();
            float[] b = ensemble.members().get(1).score(batch).reward();
            ModelOutput out = ensemble.score(batch);
            assertThat(ensemble.modelVersion()).isEqualTo("ensemble(tiny:1,tiny:2)");
            for (int i = 0; i < batch.rows(); i++) {
                assertThat(out.reward()[i]).isCloseTo((a[i] + b[i]) / 2, org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(out.uncertainty()[i]).isCloseTo(Math.abs(a[i] - b[i]) / 2,
                        org.assertj.core.data.Offset.offset(1e-6f));
            }
            assertThat(a).isNotEqualTo(b);
        }
    }

    @Test
    void shouldAcceptARewardShapedBx1() {
        Path dir = TinySavedModels.build(tmp.resolve("column"), TinySavedModels.Spec.valid("column", 1, 11)
                .withRewardAsColumn());
        try (SavedModelRewardModel model = ModelLoader.load(dir, CFG, BATCHING)) {
            assertPlanMatchesDirectColumn(model, dir, randomSequences(30, 5));
        }
    }

    private static void assertPlanMatchesDirectColumn(RewardModel model, Path dir, List<EncodedSequence> seqs) {
        BatchPlan plan = BatchPlanner.forModel(BATCHING, model.manifest()).plan(seqs);
        ModelOutput out = PlanScorer.score(model, plan);
        float[] expected = new float[seqs.size()];
        try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve")) {
            for (PaddedBatch b : plan.batches()) {
                try (TInt32 ids = TInt32.tensorOf(StdArrays.ndCopyOf(b.ids()));
                     TInt32 mask = TInt32.tensorOf(StdArrays.ndCopyOf(b.mask()));
                     Result r = bundle.function("serving_default").call(Map.of("input_ids", ids, "attention_mask", mask))) {
                    TFloat32 reward = (TFloat32) r.get("reward").orElseThrow();
                    assertThat(reward.shape().asArray()).containsExactly(b.rows(), 1);
                    for (int i = 0; i < b.rows(); i++) {
                        expected[b.originalIndex()[i]] = reward.getFloat(i, 0);
                    }
                }
            }
        }
        assertBitForBit(out.reward(), expected);
    }

    @Test
    void shouldRefuseAnOutputNamedScore() {
        Path dir = TinySavedModels.build(tmp.resolve("score"), TinySavedModels.Spec.valid("bad", 1, 1)
                .withRewardOutputName("score"));
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOfSatisfying(ModelLoadException.class,
                        e -> assertThat(e.reason()).isEqualTo(ModelLoadException.Reason.SIGNATURE))
                .hasMessage("serving_default has no output 'reward' (outputs: [score])");
    }

    @Test
    void shouldRefuseFloatInputIds() {
        Path dir = TinySavedModels.build(tmp.resolve("float"), TinySavedModels.Spec.valid("bad", 1, 1)
                .withFloatInputIds());
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("serving_default input 'input_ids' must be DT_INT32, found DT_FLOAT");
    }

    @Test
    void shouldRefuseHeadsThatDoNotMatchTheManifest() throws IOException {
        Path dir = TinySavedModels.build(tmp.resolve("heads3"), TinySavedModels.Spec.valid("multi", 1, 5)
                .withHeads(List.of(new ModelManifest.Head("a", 0.5), new ModelManifest.Head("b", 0.5))));
        ModelManifest m = ModelManifest.read(dir);
        new ModelManifest(m.name(), m.version(), m.maxSeqLen(), m.padId(), m.vocabSize(), m.tokenizer(), null,
                List.of(new ModelManifest.Head("a", 0.4), new ModelManifest.Head("b", 0.3),
                        new ModelManifest.Head("c", 0.3)), null, null, null, null, 0, m.files()).write(dir);
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("serving_default output 'rewards' has 2 columns but the manifest declares 3 heads [a, b, c]");
    }

    @Test
    void shouldRefuseAMissingManifest() throws IOException {
        Path dir = TinySavedModels.build(tmp.resolve("nomanifest"), "tiny", 1, 11);
        Files.delete(dir.resolve(ModelManifest.FILE_NAME));
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOfSatisfying(ModelLoadException.class,
                        e -> assertThat(e.reason()).isEqualTo(ModelLoadException.Reason.MANIFEST))
                .hasMessage("model manifest missing: " + dir.resolve(ModelManifest.FILE_NAME));
    }

    @Test
    void shouldRefuseATamperedMissingOrExtraFileNamingIt() throws IOException {
        Path dir = TinySavedModels.build(tmp.resolve("tampered"), "tiny", 1, 11);
        String data = "variables/variables.data-00000-of-00001";
        String expected = ModelManifest.read(dir).files().get(data);
        assertThat(expected).isNotNull();
        byte[] bytes = Files.readAllBytes(dir.resolve(data));
        bytes[bytes.length / 2] ^= 1;
        Files.write(dir.resolve(data), bytes);
        String actual = ModelManifest.sha256(dir.resolve(data));
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOfSatisfying(ModelLoadException.class,
                        e -> assertThat(e.reason()).isEqualTo(ModelLoadException.Reason.DIGEST))
                .hasMessage("model tiny:1 in " + dir + " refused: file '" + data + "' SHA-256 mismatch: manifest "
                        + expected + ", actual " + actual);

        Files.delete(dir.resolve(data));
        Files.writeString(dir.resolve("notes.txt"), "not part of the release", StandardOpenOption.CREATE_NEW);
        assertThatThrownBy(() -> ModelLoader.load(dir, CFG, BATCHING))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("model tiny:1 in " + dir + " refused: file '" + data + "' listed in the manifest is "
                        + "missing; file 'notes.txt' is not listed in the manifest");
    }

    @Test
    void shouldListTheDevicesTensorFlowSees() {
        assertThat(TfDevices.available(CFG.toConfigProto()))
                .anySatisfy(d -> assertThat(d.type()).isEqualTo("CPU"));
    }
}
