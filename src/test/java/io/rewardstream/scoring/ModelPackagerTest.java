package io.rewardstream.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@link ModelPackager} on the SavedModels Python TensorFlow 2.21 exported ({@link PythonModels}): the two working
 * recipes package, load with digest verification and score the probe batch exactly as Python's reloaded signature
 * did; the failing recipe (Keras layers in a tf.Module) is refused with the known issue named and nothing written.
 */
class ModelPackagerTest {
    @TempDir
    Path tmp;

    @Test
    void shouldPackageTheKerasExportArchiveModelAndScoreLikePython() throws Exception {
        packageLoadAndCompare(PythonModels.KERAS_EXPORT);
    }

    @Test
    void shouldPackageTheTfModuleModelAndScoreLikePython() throws Exception {
        packageLoadAndCompare(PythonModels.TF_MODULE);
    }

    private void packageLoadAndCompare(String name) throws Exception {
        Path dir = PythonModels.copy(name, tmp.resolve(name));
        ModelPackager.Result r = ModelPackager.pack(new ModelPackager.Request(dir, "py-" + name, 3, "bytes", null,
                null, 256, 0, false));

        ModelManifest m = ModelManifest.read(dir);
        assertThat(m).isEqualTo(r.manifest());
        assertThat(m.modelVersion()).isEqualTo("py-" + name + ":3");
        assertThat(m.vocabSize()).isEqualTo(ByteTokenizer.VOCAB_SIZE);
        assertThat(m.tokenizer()).isEqualTo("bytes");
        assertThat(m.files()).containsOnlyKeys("saved_model.pb", "fingerprint.pb", "variables/variables.index",
                "variables/variables.data-00000-of-00001");
        assertThat(m.files().get("fingerprint.pb")).isEqualTo(ModelManifest.sha256(dir.resolve("fingerprint.pb")));
        assertThat(r.dummyRewards()).hasSize(3);

        JsonNode expected = PythonModels.expected();
        int[][] ids = ints(expected.path("input_ids"));
        int[][] mask = ints(expected.path("attention_mask"));
        JsonNode want = expected.path("reward").path(name);
        try (SavedModelRewardModel model = ModelLoader.load(dir, RuntimeConfig.DEFAULTS)) {
            PaddedBatch b = new PaddedBatch(ids, mask, new int[]{0, 1, 2}, 15, 24);
            float[] got = model.score(b).reward();
            assertThat(got).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat((double) got[i]).as("row %d of %s vs Python", i, name)
                        .isCloseTo(want.get(i).asDouble(), within(1e-5));
            }
        }
    }

    @Test
    void shouldRefuseKerasLayersHeldByATfModuleNamingTheKnownIssueAndWriteNothing() throws Exception {
        Path dir = PythonModels.copy(PythonModels.KERAS_IN_MODULE, tmp.resolve("kim"));
        assertThatThrownBy(() -> ModelPackager.pack(new ModelPackager.Request(dir, "kim", 1, "bytes", null, null, 64,
                0, false)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("Could not find variable ")
                .hasMessageContaining("tensorflow#72963")
                .extracting(e -> ((ModelLoadException) e).reason()).isEqualTo(ModelLoadException.Reason.WARMUP);
        assertThat(dir.resolve(ModelManifest.FILE_NAME)).doesNotExist();
    }

    @Test
    void shouldRequireTheVocabularySizeForTokenIdsAndRefuseAnExistingManifest() throws Exception {
        Path dir = PythonModels.copy(PythonModels.TF_MODULE, tmp.resolve("m"));
        assertThatThrownBy(() -> ModelPackager.pack(new ModelPackager.Request(dir, "m", 1, "ids", null, null, 64, 0,
                false))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--vocab-size is required");
        ModelPackager.pack(new ModelPackager.Request(dir, "m", 1, "ids", 260, null, 64, 0, false));
        assertThatThrownBy(() -> ModelPackager.pack(new ModelPackager.Request(dir, "m", 2, "ids", 260, null, 64, 0,
                false))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exists already");
        ModelPackager.Result again = ModelPackager.pack(new ModelPackager.Request(dir, "m", 2, "ids", 260, null, 64, 0,
                true));
        assertThat(ModelManifest.read(dir).version()).isEqualTo(2);
        assertThat(again.manifest().files()).doesNotContainKey(ModelManifest.FILE_NAME);
    }

    @Test
    void shouldRefuseADirectoryThatIsNotASavedModel() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> ModelPackager.pack(new ModelPackager.Request(dir, "x", 1, "bytes", null, null, 64, 0,
                false))).isInstanceOf(ModelLoadException.class).hasMessageContaining("no saved_model.pb");
    }

    private static int[][] ints(JsonNode rows) {
        int[][] out = new int[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            out[r] = new int[rows.get(r).size()];
            for (int c = 0; c < out[r].length; c++) {
                out[r][c] = rows.get(r).get(c).asInt();
            }
        }
        return out;
    }
}
