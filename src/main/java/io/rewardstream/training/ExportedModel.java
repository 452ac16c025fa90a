package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A built-in model (tokenizer {@code bytes} or {@code ids}, see {@link Batches}) or a BERT reward model
 * (tokenizer {@code wordpiece}, see {@link BertHeadTrainer}) loaded back from its SavedModel directory, for evaluation, inspection and
 * fine-tuning inside the training package (the scorers have their own runtime). Scoring is
 * thread-safe; close it to free the native session.
 */
public final class ExportedModel implements Scorer, AutoCloseable {
    private static final int BATCH = 128;
    private static final int WORDPIECE_BATCH = 8;   // BERT-base on CPU: no gain from big batches, bounded padding
    private final Path dir;
    private final ModelManifest manifest;
    private final SavedModelBundle bundle;
    private final io.rewardstream.scoring.WordPieceTokenizer wordPiece;

    private ExportedModel(Path dir, ModelManifest manifest, SavedModelBundle bundle,
                          io.rewardstream.scoring.WordPieceTokenizer wordPiece) {
        this.dir = dir;
        this.manifest = manifest;
        this.bundle = bundle;
        this.wordPiece = wordPiece;
    }

    /**
     * Loads {@code dir} (tag {@code serve}) and its manifest.
     *
     * @throws IOException when the manifest is missing or malformed, or the model is not a bytes-tokenizer model
     */
    public static ExportedModel load(Path dir) throws IOException {
        ModelManifest m = ModelManifest.read(dir);
        if (!"bytes".equals(m.tokenizer()) && !"ids".equals(m.tokenizer()) && !"wordpiece".equals(m.tokenizer())) {
            throw new IOException("model " + dir + " uses tokenizer '" + m.tokenizer()
                    + "'; the training package handles bytes, ids and wordpiece");
        }
        io.rewardstream.scoring.WordPieceTokenizer wp = "wordpiece".equals(m.tokenizer())
                ? io.rewardstream.scoring.WordPieceTokenizer.load(dir.resolve(m.tokenizerFile()), true) : null;
        SavedModelBundle b = SavedModelBundle.loader(dir.toString()).withTags("serve").load();
        return new ExportedModel(dir, m, b, wp);
    }

    public ModelManifest manifest() {
        return manifest;
    }

    public Path dir() {
        return dir;
    }

    SavedModelBundle bundle() {
        return bundle;
    }

    /**
     * The named head's own scores ({@code rewards[:, head]} of {@code serving_default}).
     *
     * @throws IllegalArgumentException when the model has no such head
     */
    public float[] scoreHead(String head, java.util.List<String> prompts, java.util.List<String> responses) {
        int j = HeadWeights.index(manifest.heads(), head, manifest.name());
        int h = manifest.heads().size();
        return serve(prompts, responses, "rewards", t -> HeadWeights.column(t, h, j));
    }

    @Override
    public float[] score(java.util.List<String> prompts, java.util.List<String> responses) {
        return serve(prompts, responses, "reward", t -> {
            float[] out = new float[(int) t.shape().size(0)];
            t.asRawTensor().data().asFloats().read(out);
            return out;
        });
    }

    /** Runs {@code serving_default} in batches and reads one output per batch. */
    private float[] serve(java.util.List<String> prompts, java.util.List<String> responses, String output,
                          java.util.function.Function<TFloat32, float[]> read) {
        SessionFunction f = bundle.function("serving_default");
        return BuiltinModel.scoreWith(prompts, responses, this::encode, wordPiece != null ? WORDPIECE_BATCH : BATCH, (ids, mask) -> {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("input_ids", ids);
            in.put("attention_mask", mask);
            try (Result r = f.call(in)) {
                return read.apply((TFloat32) r.get(output).orElseThrow(() -> new IllegalStateException(
                        "serving_default of " + dir + " has no '" + output + "' output")));
            }
        });
    }

    /** Ids of one pair under this model's tokenizer (see {@link Batches}). */
    int[] encode(String prompt, String response) {
        if (wordPiece != null) {
            return wordPiece.encodePair(prompt, response, manifest.maxSeqLen()).ids();
        }
        return Batches.encode(manifest.tokenizer(), manifest.vocabSize(), prompt, response, manifest.maxSeqLen());
    }

    /** Signatures as text: {@code key(inputs) -> outputs} with dtypes and shapes. */
    public Map<String, Map<String, Map<String, String>>> signatures() {
        Map<String, Map<String, Map<String, String>>> out = new LinkedHashMap<>();
        for (Signature s : bundle.signatures()) {
            Map<String, Map<String, String>> io = new LinkedHashMap<>();
            Map<String, String> ins = new LinkedHashMap<>();
            s.getInputs().forEach((k, v) -> ins.put(k, v.dataType + " " + v.shape));
            Map<String, String> outs = new LinkedHashMap<>();
            s.getOutputs().forEach((k, v) -> outs.put(k, v.dataType + " " + v.shape));
            io.put("inputs", ins);
            io.put("outputs", outs);
            out.put(s.key(), io);
        }
        return out;
    }

    /**
     * Trainable parameter count: elements of every {@code VariableV2} except Adam slots and the step counter;
     * for a BERT model the backbone's resource variables ({@code VarHandleOp}, counted once by shared name).
     */
    public long parameterCount() {
        long n = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (var node : bundle.metaGraphDef().getGraphDef().getNodeList()) {
            if (node.getOp().equals("VarHandleOp")) {
                String shared = node.getAttrOrThrow("shared_name").getS().toStringUtf8();
                if (seen.add(shared.isEmpty() ? node.getName() : shared)) {
                    long size = 1;
                    for (var d : node.getAttrOrThrow("shape").getShape().getDimList()) {
                        size *= d.getSize();
                    }
                    n += size;
                }
            }
        }
        for (var it = bundle.graph().operations(); it.hasNext(); ) {
            var op = it.next();
            if (op.type().equals("VariableV2") && !op.name().contains("_adam_") && !op.name().equals("global_step")) {
                n += op.output(0).shape().size();
            }
        }
        return n;
    }

    @Override
    public void close() {
        bundle.close();
    }
}
