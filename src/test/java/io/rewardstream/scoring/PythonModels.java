package io.rewardstream.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.files.FileTrees;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/**
 * The SavedModels exported by Python TensorFlow 2.21 that {@code src/test/python/export_models.py} wrote under
 * {@code src/test/resources/models/python/} (no manifest: packaging them is what the tests do), and the rewards
 * Python's reloaded signature gave for the probe batch ({@code expected-scores.json}).
 */
public final class PythonModels {
    /** Keras 3 functional model exported with keras.export.ExportArchive. */
    public static final String KERAS_EXPORT = "keras-export";
    /** tf.Module holding tf.Variables, tf.saved_model.save with a serving_default signature. */
    public static final String TF_MODULE = "tf-module";
    /** Keras 3 layers held by a tf.Module, tf.saved_model.save: fails on the first call (tensorflow#72963). */
    public static final String KERAS_IN_MODULE = "keras-in-module";
    /** Vocabulary of all three (the byte tokenizer's 260). */
    public static final int VOCAB = 260;

    private PythonModels() {
    }

    static Path root() {
        URL u = PythonModels.class.getResource("/models/python/expected-scores.json");
        if (u == null) {
            throw new IllegalStateException("models/python/expected-scores.json is not on the test class path");
        }
        try {
            return Path.of(u.toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies model {@code name} into {@code target} (created) and returns {@code target}. */
    public static Path copy(String name, Path target) throws IOException {
        FileTrees.copyTree(root().resolve(name), target);
        return target;
    }

    /** expected-scores.json: {@code input_ids}, {@code attention_mask} and {@code reward.<model>}. */
    public static JsonNode expected() {
        try {
            return new ObjectMapper().readTree(root().resolve("expected-scores.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
