package io.rewardstream.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.tensorflow.SavedModelBundle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * Turns a SavedModel exported elsewhere (Keras, a {@code tf.Module}, ...) into a rewardstream model directory:
 * checks it against {@code scoring/MODEL_CONTRACT.md} (the {@code serving_default} signature with its names, dtypes
 * and ranks; a test call on a dummy batch that must return one finite reward per row, independent of the other rows
 * and of extra padding), then writes the manifest {@value ModelManifest#FILE_NAME} with the SHA-256 of every file
 * (including TensorFlow's {@code fingerprint.pb}) and finally loads the result exactly as a scorer would
 * ({@link ModelLoader#load}: digests and warm-up).
 *
 * <p>Stateless and thread-safe. Nothing is written unless every check passed: a model that fails the final load has
 * its new manifest removed again.
 */
public final class ModelPackager {
    /** Largest absolute difference allowed between a row scored alone and in a padded batch. */
    static final double TOLERANCE = 1e-4;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelPackager() {
    }

    /**
     * What the user says about the model; everything else is read from the SavedModel.
     *
     * @param vocabSize     null to derive it from the tokenizer ({@code bytes}: 260, {@code wordpiece}: lines of the
     *                      vocab file, {@code hf}: the vocabulary of tokenizer.json); required for {@code ids}
     * @param tokenizerFile path relative to the model directory, for {@code hf} / {@code wordpiece}; null for the
     *                      default ({@code tokenizer.json} / {@code assets/vocab.txt})
     */
    public record Request(Path dir, String name, long version, String tokenizer, Integer vocabSize,
                          String tokenizerFile, int maxSeqLen, int padId, boolean overwrite) {
        public Request {
            Objects.requireNonNull(dir, "dir");
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("--name is required");
            }
            if (version < 0) {
                throw new IllegalArgumentException("--version must be >= 0, got " + version);
            }
            tokenizer = tokenizer == null ? "ids" : tokenizer;
        }
    }

    /** The manifest written and what the test call returned (rewards of the dummy rows). */
    public record Result(ModelManifest manifest, double[] dummyRewards, List<String> devices) {
    }

    /**
     * Checks and packages {@code req.dir()} in place.
     *
     * @throws IllegalArgumentException for bad options (unknown tokenizer, missing vocabulary size, existing manifest)
     * @throws ModelLoadException       when the SavedModel breaks the contract, with the exact reason
     * @throws IOException              when the directory cannot be read or written
     */
    public static Result pack(Request req) throws IOException {
        Path dir = req.dir();
        if (!Files.isRegularFile(dir.resolve("saved_model.pb"))) {
            throw new ModelLoadException(ModelLoadException.Reason.LOAD, dir + " is not a SavedModel directory "
                    + "(no saved_model.pb)");
        }
        if (Files.exists(dir.resolve(ModelManifest.FILE_NAME)) && !req.overwrite()) {
            throw new IllegalArgumentException(dir.resolve(ModelManifest.FILE_NAME) + " exists already (use --force "
                    + "to replace it)");
        }
        String tokenizerFile = tokenizerFile(req);
        int vocab = vocabSize(req, tokenizerFile);
        Map<String, String> lineage = new LinkedHashMap<>();
        lineage.put("packaged_by", "rewardstream model package");
        lineage.put("source_dir", dir.toAbsolutePath().normalize().toString());
        ModelManifest manifest = new ModelManifest(req.name(), req.version(), req.maxSeqLen(), req.padId(), vocab,
                req.tokenizer(), tokenizerFile, List.of(), null, Map.of(), null, lineage, System.currentTimeMillis(),
                Map.of());

        double[] dummy = check(dir, manifest);
        Files.deleteIfExists(dir.resolve(ModelManifest.FILE_NAME));
        ModelManifest written = manifest.withDigestsOf(dir);
        written.write(dir);
        List<String> devices;
        try (SavedModelRewardModel loaded = ModelLoader.load(dir, RuntimeConfig.DEFAULTS)) {
            devices = loaded.devicesUsed();
        } catch (RuntimeException e) {
            Files.deleteIfExists(dir.resolve(ModelManifest.FILE_NAME));
            throw e;
        }
        return new Result(written, dummy, devices);
    }

    /** Signature check and the dummy-batch call; returns the rewards of the dummy rows. */
    static double[] check(Path dir, ModelManifest manifest) {
        SavedModelBundle bundle;
        try {
            bundle = SavedModelBundle.loader(dir.toString()).withTags(ModelLoader.SERVE_TAG).load();
        } catch (RuntimeException e) {
            throw new ModelLoadException(ModelLoadException.Reason.LOAD, "cannot load SavedModel " + dir + " (tag "
                    + ModelLoader.SERVE_TAG + "): " + e.getMessage(), e);
        }
        try (SavedModelRewardModel model = new SavedModelRewardModel(bundle, manifest,
                ModelLoader.bind(bundle, manifest), SequenceEncoder.forModel(dir, manifest))) {
            return dummyCall(model, manifest);
        } catch (ModelLoadException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelLoadException(ModelLoadException.Reason.WARMUP, "test call of " + dir + " on a dummy batch "
                    + "failed: " + e.getMessage() + hint(e), e);
        }
    }

    /**
     * Three rows of random in-vocabulary ids (lengths 1, 5, min(13, max_seq_len)), padded to the longest and again
     * with 8 more pad columns (capped at max_seq_len), plus each row alone: same rewards expected everywhere.
     */
    private static double[] dummyCall(SavedModelRewardModel model, ModelManifest m) {
        Random rnd = new Random(42);
        int[] lengths = {1, Math.min(5, m.maxSeqLen()), Math.min(13, m.maxSeqLen())};
        int[][] rows = new int[lengths.length][];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = new int[lengths[r]];
            for (int c = 0; c < lengths[r]; c++) {
                int id;
                do {
                    id = rnd.nextInt(m.vocabSize());
                } while (id == m.padId() && m.vocabSize() > 1);
                rows[r][c] = id;
            }
        }
        int[] index = {0, 1, 2};
        int longest = lengths[2];
        double[] batch = rewards(model, PaddedBatch.of(rows, index, longest, m.padId()), rows.length, "batch");
        int wider = Math.min(m.maxSeqLen(), longest + 8);
        double[] padded = rewards(model, PaddedBatch.of(rows, index, wider, m.padId()), rows.length, "padded batch");
        List<String> problems = new ArrayList<>();
        for (int r = 0; r < rows.length; r++) {
            double alone = rewards(model, PaddedBatch.of(new int[][]{rows[r]}, new int[]{0}, lengths[r], m.padId()), 1,
                    "single row")[0];
            if (Math.abs(padded[r] - batch[r]) > TOLERANCE) {
                problems.add("row " + r + " scores " + batch[r] + " padded to " + longest + " but " + padded[r]
                        + " padded to " + wider);
            }
            if (Math.abs(alone - batch[r]) > TOLERANCE) {
                problems.add("row " + r + " scores " + alone + " alone but " + batch[r] + " in a batch of "
                        + rows.length);
            }
        }
        if (!problems.isEmpty()) {
            throw new ModelLoadException(ModelLoadException.Reason.WARMUP, "the score of a row must not depend on "
                    + "padding or on the other rows (MODEL_CONTRACT.md section 2; is the last token read at position "
                    + "T-1 instead of through the mask?): " + String.join("; ", problems));
        }
        return batch;
    }

    private static double[] rewards(SavedModelRewardModel model, PaddedBatch b, int rows, String what) {
        float[] r = model.score(b).reward();
        if (r.length != rows) {
            throw new ModelLoadException(ModelLoadException.Reason.WARMUP, "the " + what + " of " + rows
                    + " rows returned " + r.length + " rewards");
        }
        double[] out = new double[r.length];
        for (int i = 0; i < r.length; i++) {
            if (!Float.isFinite(r[i])) {
                throw new ModelLoadException(ModelLoadException.Reason.WARMUP, "the " + what + " returned a "
                        + "non-finite reward " + r[i] + " for row " + i);
            }
            out[i] = r[i];
        }
        return out;
    }

    /** Known failure of Keras 3 layers held by a tf.Module and saved with tf.saved_model.save. */
    private static String hint(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("Could not find variable")) {
                return " -- Keras 3 layers held by a tf.Module and saved with tf.saved_model.save do not restore "
                        + "their variables (tensorflow#72963); export with keras.export.ExportArchive or keep plain "
                        + "tf.Variables in the tf.Module (scoring/MODEL_CONTRACT.md section 11)";
            }
        }
        return "";
    }

    private static String tokenizerFile(Request req) {
        if (req.tokenizerFile() != null) {
            return req.tokenizerFile();
        }
        return switch (req.tokenizer()) {
            case "hf" -> "tokenizer.json";
            case "wordpiece" -> "assets/vocab.txt";
            default -> null;
        };
    }

    private static int vocabSize(Request req, String tokenizerFile) throws IOException {
        if (req.vocabSize() != null) {
            return req.vocabSize();
        }
        switch (req.tokenizer()) {
            case "bytes":
                return ByteTokenizer.VOCAB_SIZE;
            case "wordpiece": {
                Path f = req.dir().resolve(tokenizerFile);
                requireFile(f, "wordpiece vocabulary");
                try (var lines = Files.lines(f)) {
                    return (int) lines.count();
                }
            }
            case "hf": {
                Path f = req.dir().resolve(tokenizerFile);
                requireFile(f, "HuggingFace tokenizer");
                JsonNode t = JSON.readTree(f.toFile());
                int size = t.path("model").path("vocab").size();
                for (JsonNode added : t.path("added_tokens")) {
                    size = Math.max(size, added.path("id").asInt() + 1);
                }
                if (size == 0) {
                    throw new IllegalArgumentException(f + " has no model.vocab: give --vocab-size");
                }
                return size;
            }
            case "ids":
                throw new IllegalArgumentException("--vocab-size is required with --tokenizer ids (every token id "
                        + "must be below it)");
            default:
                throw new IllegalArgumentException("--tokenizer must be ids, bytes, hf or wordpiece, got '"
                        + req.tokenizer() + "'");
        }
    }

    private static void requireFile(Path f, String what) {
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException(what + " " + f + " is not a file (give --tokenizer-file, relative to "
                    + "the model directory)");
        }
    }
}
