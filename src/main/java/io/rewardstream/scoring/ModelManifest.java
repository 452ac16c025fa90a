package io.rewardstream.scoring;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The manifest that sits beside a reward-model SavedModel as {@value #FILE_NAME} (see
 * {@code scoring/MODEL_CONTRACT.md}). Immutable; thread-safe.
 *
 * <p>JSON keys are snake_case. {@code files} maps every file of the model directory (relative path,
 * '/'-separated, the manifest itself excluded) to its lower-case hex SHA-256.
 *
 * @param name          model family name, e.g. {@code builtin-small}
 * @param version       version number within the family (monotonic)
 * @param maxSeqLen     longest sequence the model accepts (prompt + response tokens)
 * @param padId         token id used for padding
 * @param vocabSize     token ids must be in [0, vocabSize)
 * @param tokenizer     {@code ids} (use the rollout's token ids), {@code bytes} (built-in UTF-8 byte
 *                      tokenizer over the text), {@code hf} (HuggingFace tokenizer.json, see
 *                      {@code tokenizerFile}) or {@code wordpiece} (uncased BERT WordPiece over a
 *                      {@code vocab.txt}, pair = [CLS] prompt [SEP] response [SEP], see {@link WordPieceTokenizer})
 * @param tokenizerFile tokenizer file relative to the model directory, for {@code hf} and {@code wordpiece}; else null
 * @param heads         named heads and the weights of their sum; empty for a single scalar head
 * @param normalization mean/std of scores on the evaluation set, for {@code static} normalization; may be null
 * @param metrics       evaluation metrics (accuracy, mean_margin, length_correlation, ...)
 * @param parentVersion version this one was fine-tuned from, or null
 * @param lineage       free-form provenance (training data offsets, seeds, sizes)
 * @param createdAt     epoch milliseconds
 * @param files         SHA-256 of every file, by relative path
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelManifest(
        @JsonProperty("name") String name,
        @JsonProperty("version") long version,
        @JsonProperty("max_seq_len") int maxSeqLen,
        @JsonProperty("pad_id") int padId,
        @JsonProperty("vocab_size") int vocabSize,
        @JsonProperty("tokenizer") String tokenizer,
        @JsonProperty("tokenizer_file") String tokenizerFile,
        @JsonProperty("heads") List<Head> heads,
        @JsonProperty("normalization") Normalization normalization,
        @JsonProperty("metrics") Map<String, Double> metrics,
        @JsonProperty("parent_version") Long parentVersion,
        @JsonProperty("lineage") Map<String, String> lineage,
        @JsonProperty("created_at") long createdAt,
        @JsonProperty("files") Map<String, String> files) {

    /** File name of the manifest inside a model directory. */
    public static final String FILE_NAME = "rewardstream-model.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** One named head of a multi-objective model and its weight in the scalar score. */
    public record Head(@JsonProperty("name") String name, @JsonProperty("weight") double weight) {
        public Head {
            Objects.requireNonNull(name, "head name");
            if (!Double.isFinite(weight)) {
                throw new IllegalArgumentException("head '" + name + "' weight must be finite");
            }
        }
    }

    /** Score mean and standard deviation measured on the evaluation set. */
    public record Normalization(@JsonProperty("mean") double mean, @JsonProperty("std") double std) {
        public Normalization {
            if (!Double.isFinite(mean) || !Double.isFinite(std) || std <= 0) {
                throw new IllegalArgumentException("normalization needs a finite mean and a std > 0, got mean="
                        + mean + " std=" + std);
            }
        }
    }

    public ModelManifest {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("manifest: name is required");
        }
        if (version < 0) {
            throw new IllegalArgumentException("manifest: version must be >= 0, got " + version);
        }
        if (maxSeqLen < 1) {
            throw new IllegalArgumentException("manifest: max_seq_len must be >= 1, got " + maxSeqLen);
        }
        if (vocabSize < 1) {
            throw new IllegalArgumentException("manifest: vocab_size must be >= 1, got " + vocabSize);
        }
        if (padId < 0 || padId >= vocabSize) {
            throw new IllegalArgumentException("manifest: pad_id must be in [0, vocab_size), got " + padId);
        }
        if (tokenizer == null) {
            tokenizer = "ids";
        }
        if (!List.of("ids", "bytes", "hf", "wordpiece").contains(tokenizer)) {
            throw new IllegalArgumentException("manifest: tokenizer must be ids, bytes, hf or wordpiece, got '"
                    + tokenizer + "'");
        }
        if (("hf".equals(tokenizer) || "wordpiece".equals(tokenizer))
                && (tokenizerFile == null || tokenizerFile.isBlank())) {
            throw new IllegalArgumentException("manifest: tokenizer=" + tokenizer + " needs tokenizer_file");
        }
        heads = heads == null ? List.of() : List.copyOf(heads);
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
        lineage = lineage == null ? Map.of() : Map.copyOf(lineage);
        files = files == null ? Map.of() : Map.copyOf(new TreeMap<>(files));
    }

    /** Model version string carried by rewards: {@code name:version}. */
    public String modelVersion() {
        return name + ":" + version;
    }

    /** A copy with {@code files} replaced by fresh digests of {@code dir}'s current content. */
    public ModelManifest withDigestsOf(Path dir) {
        return new ModelManifest(name, version, maxSeqLen, padId, vocabSize, tokenizer, tokenizerFile, heads,
                normalization, metrics, parentVersion, lineage, createdAt, digest(dir));
    }

    /** Copy with other heads (e.g. none, for an ensemble of separate models whose output has none). */
    public ModelManifest withHeads(List<Head> newHeads) {
        return new ModelManifest(name, version, maxSeqLen, padId, vocabSize, tokenizer, tokenizerFile, newHeads,
                normalization, metrics, parentVersion, lineage, createdAt, files);
    }

    /** Copy with another version, parent and metrics (for releases). */
    public ModelManifest withVersion(long newVersion, Long parent, Map<String, Double> newMetrics) {
        return new ModelManifest(name, newVersion, maxSeqLen, padId, vocabSize, tokenizer, tokenizerFile, heads,
                normalization, newMetrics, parent, lineage, createdAt, files);
    }

    /** Reads {@value #FILE_NAME} from a model directory. @throws IOException when missing or malformed */
    public static ModelManifest read(Path modelDir) throws IOException {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new IOException("model manifest missing: " + file);
        }
        try {
            return JSON.readValue(file.toFile(), ModelManifest.class);
        } catch (IOException | RuntimeException e) {
            throw new IOException("model manifest " + file + " is malformed: " + e.getMessage(), e);
        }
    }

    /** Writes this manifest as {@value #FILE_NAME} into {@code modelDir}. */
    public void write(Path modelDir) throws IOException {
        JSON.writeValue(modelDir.resolve(FILE_NAME).toFile(), this);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * SHA-256 of every regular file below {@code dir} (the manifest excluded), keyed by '/'-separated
     * relative path, sorted.
     */
    public static Map<String, String> digest(Path dir) {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                String rel = dir.relativize(p).toString().replace('\\', '/');
                if (!rel.equals(FILE_NAME)) {
                    out.put(rel, sha256(p));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot digest model directory " + dir, e);
        }
        return out;
    }

    /** Lower-case hex SHA-256 of a file. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
