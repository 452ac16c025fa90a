package io.rewardstream.training;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SaverDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The BERT reward model's graph with training ops: the model's own MetaGraph (imported as protobuf, variables
 * restored through its own saver), a trainable linear head on the {@code features} tensor, the Bradley-Terry loss on
 * [chosen rows ; rejected rows], gradients for the top k encoder layers + pooler + head (or every variable), global-norm
 * clipping and AdamW ({@code ResourceApplyAdam} plus decoupled weight decay on weight matrices, not on biases or
 * LayerNorm). Learning rate and Adam bias corrections are fed per step, so the schedule lives in Java.
 *
 * <p>{@code all} needs a gradient for the word-embedding lookup: {@code ResourceGather} has none in TensorFlow's C++
 * gradient registry, so it is rewritten into {@code GatherV2(ReadVariableOp(table), ids, 0)} (same values; GatherV2 has
 * a gradient). {@link #save} writes every variable of the original model (optimizer slots and the head are not in the
 * saver) through the graph's own saver, which is what a resource-variable SavedModel needs.
 *
 * <p>Owns a native graph and session: close it. Not thread-safe (one training loop).
 */
final class BertTrainGraph implements AutoCloseable {
    static final int ALL = -1;
    static final int LAYERS = 12;
    static final String APPLY = "module_apply_tokens/";

    private final Graph graph;
    private final Session session;
    private final SaverDef saver;
    private final List<String> trainable;
    private final long trainableParams;
    private final Placeholder<TFloat32> margin;
    private final Placeholder<TFloat32> lr;
    private final Placeholder<TFloat32> lrHead;
    private final String cut;
    private final Placeholder<TFloat32> beta1Power;
    private final Placeholder<TFloat32> beta2Power;
    private final Placeholder<TFloat32> w0;
    private final Placeholder<TFloat32> b0;
    private final Operand<TFloat32> reward;
    private final Operand<TFloat32> loss;
    private final Operand<TFloat32> gradNorm;
    private final Operand<TFloat32> readW;
    private final Operand<TFloat32> readB;
    private final Op trainOp;
    private final Op initOp;

    /**
     * Builds the training graph of the model in {@code modelDir} (an exported BERT reward model or the prepared
     * backbone) and restores its variables.
     *
     * @param trainLayers number of top encoder layers to train (1..12; the pooler and head always train), or
     *                    {@link #ALL} for every variable including the embeddings
     */
    BertTrainGraph(Path modelDir, int trainLayers, double weightDecay, double clipNorm) throws IOException {
        // the frozen layers' output: the input of the lowest trained layer (a [B*T, 768] matrix), fed from a cache
        this.cut = trainLayers >= 1 && trainLayers < LAYERS
                ? APPLY + "bert/encoder/layer_" + (LAYERS - 1 - trainLayers) + "/output/LayerNorm/batchnorm/add_1" : null;
        if (trainLayers != ALL && (trainLayers < 0 || trainLayers > LAYERS)) {
            throw new IllegalArgumentException("train layers must be 0.." + LAYERS + " or all, got " + trainLayers);
        }
        SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(modelDir.resolve("saved_model.pb")));
        MetaGraphDef mg = sm.getMetaGraphs(0);
        GraphDef gd = trainLayers == ALL ? BertGraphSurgery.differentiableLookup(mg.getGraphDef()) : mg.getGraphDef();
        this.saver = mg.getSaverDef();
        this.graph = new Graph();
        boolean ok = false;
        try {
            graph.importGraphDef(gd);
            this.session = new Session(graph);
            try (TString prefix = TString.scalarOf(modelDir.resolve("variables/variables").toString())) {
                session.runner().feed(saver.getFilenameTensorName(), prefix).addTarget(saver.getRestoreOpName()).run();
            }
            // the reads on the path to the features, grouped by variable
            Set<String> onPath = BertGraphSurgery.ancestors(gd, BertBackbone.FEATURES_OP);
            Map<String, List<String>> reads = new LinkedHashMap<>();
            long params = 0;
            for (NodeDef n : gd.getNodeList()) {
                if (n.getOp().equals("ReadVariableOp") && n.getName().startsWith(APPLY) && onPath.contains(n.getName())
                        && BertGraphSurgery.trains(n.getInput(0), trainLayers)) {
                    reads.computeIfAbsent(n.getInput(0), k -> new ArrayList<>()).add(n.getName());
                }
            }
            for (NodeDef n : gd.getNodeList()) {
                if (n.getOp().equals("VarHandleOp") && reads.containsKey(n.getName())) {
                    long p = 1;
                    for (var d : n.getAttrOrThrow("shape").getShape().getDimList()) {
                        p *= d.getSize();
                    }
                    params += p;
                }
            }
            Ops tf = Ops.create(graph).withSubScope("rs_train");
            Output<TInt32> ids = graph.operation("input_ids").output(0);
            @SuppressWarnings("unchecked")
            Output<TFloat32> features = (Output<TFloat32>) graph.operation(BertBackbone.FEATURES_OP).<TFloat32>output(0);
            margin = tf.withName("margin").placeholder(TFloat32.class);
            lr = tf.withName("lr").placeholder(TFloat32.class);
            lrHead = tf.withName("lr_head").placeholder(TFloat32.class);
            beta1Power = tf.withName("beta1_power").placeholder(TFloat32.class);
            beta2Power = tf.withName("beta2_power").placeholder(TFloat32.class);
            w0 = tf.withName("w0").placeholder(TFloat32.class);
            b0 = tf.withName("b0").placeholder(TFloat32.class);
            VarHandleOp w = tf.withName("head_w").varHandleOp(TFloat32.class, Shape.of(BertBackbone.FEATURES, 1),
                    VarHandleOp.sharedName("rs_train_head_w"));
            VarHandleOp b = tf.withName("head_b").varHandleOp(TFloat32.class, Shape.scalar(),
                    VarHandleOp.sharedName("rs_train_head_b"));
            readW = tf.readVariableOp(w, TFloat32.class);
            readB = tf.readVariableOp(b, TFloat32.class);
            reward = tf.withName("reward").reshape(tf.math.add(tf.linalg.matMul(features, readW), readB),
                    tf.constant(new int[]{-1}));
            // rows are [chosen ; rejected]: d = r_chosen - r_rejected through a [1,2] x [2,B] product
            Operand<TFloat32> pairs = tf.reshape(reward, tf.constant(new int[]{2, -1}));
            Operand<TFloat32> d = tf.reshape(tf.linalg.matMul(tf.constant(new float[][]{{1f, -1f}}), pairs),
                    tf.constant(new int[]{-1}));
            loss = tf.withName("loss").math.mean(tf.math.softplus(tf.math.sub(margin, d)), tf.constant(0));

            List<String> varNames = new ArrayList<>(reads.keySet());
            List<Output<?>> xs = new ArrayList<>();
            for (String v : varNames) {
                for (String r : reads.get(v)) {
                    xs.add(graph.operation(r).output(0));
                }
            }
            xs.add(readW.asOutput());
            xs.add(readB.asOutput());
            Output<?>[] dx = graph.addGradients("rs_grad", new Output<?>[]{loss.asOutput()}, xs.toArray(new Output<?>[0]),
                    null);
            List<Operand<?>> handles = new ArrayList<>();
            List<Operand<TFloat32>> grads = new ArrayList<>();
            List<String> names = new ArrayList<>();
            int k = 0;
            for (String v : varNames) {
                List<Operand<TFloat32>> parts = new ArrayList<>();
                for (int i = 0; i < reads.get(v).size(); i++) {
                    @SuppressWarnings("unchecked")
                    Operand<TFloat32> g = (Operand<TFloat32>) dx[k++];
                    parts.add(g);
                }
                handles.add(graph.operation(v).output(0));
                grads.add(parts.size() == 1 ? parts.get(0) : tf.math.addN(parts));
                names.add(v);
            }
            for (String h : List.of("head_w", "head_b")) {
                @SuppressWarnings("unchecked")
                Operand<TFloat32> g = (Operand<TFloat32>) dx[k++];
                grads.add(g);
                handles.add(h.equals("head_w") ? w : b);
                names.add(h);
            }
            params += BertBackbone.FEATURES + 1;
            this.trainable = List.copyOf(names);
            this.trainableParams = params;
            // global-norm clipping: g * clip / max(|g|, clip)
            List<Operand<TFloat32>> squares = new ArrayList<>();
            for (Operand<TFloat32> g : grads) {
                squares.add(tf.sum(tf.math.square(tf.reshape(g, tf.constant(new int[]{-1}))), tf.constant(0)));
            }
            gradNorm = tf.withName("grad_norm").math.sqrt(tf.math.addN(squares));
            Operand<TFloat32> clip = tf.constant((float) clipNorm);
            Operand<TFloat32> scale = tf.math.div(clip, tf.math.maximum(gradNorm, clip));
            List<Op> inits = new ArrayList<>();
            inits.add(tf.assignVariableOp(w, w0));
            inits.add(tf.assignVariableOp(b, b0));
            List<Op> applies = new ArrayList<>();
            Ops after = tf.withControlDependencies(List.of(scale));   // every update after every gradient (and read)
            for (int i = 0; i < grads.size(); i++) {
                Operand<?> var = handles.get(i);
                Operand<TFloat32> value = tf.readVariableOp(var, TFloat32.class);
                VarHandleOp m = tf.varHandleOp(TFloat32.class, Shape.unknown(), VarHandleOp.sharedName("rs_train_m_" + i));
                VarHandleOp v = tf.varHandleOp(TFloat32.class, Shape.unknown(), VarHandleOp.sharedName("rs_train_v_" + i));
                inits.add(tf.assignVariableOp(m, tf.zerosLike(value)));
                inits.add(tf.assignVariableOp(v, tf.zerosLike(value)));
                Ops step = after;
                String name = names.get(i);
                if (weightDecay > 0 && !name.contains("LayerNorm") && !name.endsWith("bias") && !name.equals("head_b")) {
                    // AdamW: decoupled decay p -= lr * wd * p, before the Adam step
                    Op decay = after.assignSubVariableOp(var, after.math.mul(after.math.mul(
                            name.startsWith("head_") ? lrHead : lr,
                            after.constant((float) weightDecay)), after.readVariableOp(var, TFloat32.class)));
                    step = after.withControlDependencies(List.of(decay));
                }
                applies.add(step.train.resourceApplyAdam(var, m, v, beta1Power, beta2Power,
                        name.startsWith("head_") ? lrHead : lr, tf.constant(0.9f),
                        tf.constant(0.999f), tf.constant(1e-6f), tf.math.mul(grads.get(i), scale)));
            }
            trainOp = tf.withName("step").withControlDependencies(applies).noOp();
            initOp = tf.withName("init").withControlDependencies(inits).noOp();
            ok = true;
        } finally {
            if (!ok) {
                graph.close();
            }
        }
    }

    /** Sets the head and zeroes the optimizer state. */
    void init(float[] w, float b) {
        try (TFloat32 wt = TFloat32.tensorOf(Shape.of(w.length, 1), DataBuffers.of(w, true, false));
             TFloat32 bt = TFloat32.scalarOf(b)) {
            session.runner().feed(w0, wt).feed(b0, bt).addTarget(initOp).run();
        }
    }

    /** Variables (handle names, then head_w, head_b) that train. */
    List<String> trainable() {
        return trainable;
    }

    long trainableParams() {
        return trainableParams;
    }

    /** Whether the frozen layers' output can be cached ({@link #lower}): 1..11 trained layers. */
    boolean caches() {
        return cut != null;
    }

    /**
     * The frozen layers' output for each row of {@code rows}: {@code len_i x 768} floats (real tokens only). They do not
     * change while training, so a caller computes them once and passes them to {@link #step} and {@link #rewards}.
     */
    List<float[]> lower(Batches.Padded rows) {
        try (TInt32 ids = rows.idsTensor(); TInt32 mask = rows.maskTensor();
             Result r = session.runner().feed("input_ids", ids).feed("input_mask", mask).fetch(cut).run()) {
            float[] flat = new float[rows.rows() * rows.cols() * BertBackbone.HIDDEN];
            ((TFloat32) r.get(0)).asRawTensor().data().asFloats().read(flat);
            List<float[]> out = new ArrayList<>();
            for (int i = 0; i < rows.rows(); i++) {
                int len = 0;
                while (len < rows.cols() && rows.mask()[i * rows.cols() + len] == 1) {
                    len++;
                }
                int from = i * rows.cols() * BertBackbone.HIDDEN;
                out.add(java.util.Arrays.copyOfRange(flat, from, from + len * BertBackbone.HIDDEN));
            }
            return out;
        }
    }

    /** Cached lower states of the rows as the [B*T, 768] feed (zeros on padding, which attention masks out). */
    private TFloat32 lowerTensor(Batches.Padded rows, List<float[]> states) {
        float[] flat = new float[rows.rows() * rows.cols() * BertBackbone.HIDDEN];
        for (int i = 0; i < rows.rows(); i++) {
            float[] s = states.get(i);
            System.arraycopy(s, 0, flat, i * rows.cols() * BertBackbone.HIDDEN, s.length);
        }
        return TFloat32.tensorOf(Shape.of((long) rows.rows() * rows.cols(), BertBackbone.HIDDEN),
                DataBuffers.of(flat, true, false));
    }

    private Session.Runner runner(Batches.Padded rows, List<float[]> states, List<AutoCloseable> open) {
        TInt32 ids = rows.idsTensor();
        TInt32 mask = rows.maskTensor();
        open.add(ids);
        open.add(mask);
        Session.Runner run = session.runner().feed("input_ids", ids).feed("input_mask", mask);
        if (states != null) {
            TFloat32 low = lowerTensor(rows, states);
            open.add(low);
            run.feed(cut, low);
        }
        return run;
    }

    private static void closeAll(List<AutoCloseable> open) {
        for (AutoCloseable c : open) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * One optimizer step on {@code rows} = [chosen ; rejected] (2B rows), with their cached lower states or null;
     * returns {loss, gradient norm before clipping}.
     */
    float[] step(Batches.Padded rows, List<float[]> states, float[] margins, double learningRate,
                 double headLearningRate, int t) {
        List<AutoCloseable> open = new ArrayList<>();
        try (TFloat32 m = TFloat32.vectorOf(margins); TFloat32 l = TFloat32.scalarOf((float) learningRate);
             TFloat32 lh = TFloat32.scalarOf((float) headLearningRate);
             TFloat32 p1 = TFloat32.scalarOf((float) Math.pow(0.9, t));
             TFloat32 p2 = TFloat32.scalarOf((float) Math.pow(0.999, t));
             Result r = runner(rows, states, open).feed(margin, m).feed(lr, l).feed(lrHead, lh)
                     .feed(beta1Power, p1).feed(beta2Power, p2).fetch(loss).fetch(gradNorm).addTarget(trainOp).run()) {
            return new float[]{((TFloat32) r.get(0)).getFloat(), ((TFloat32) r.get(1)).getFloat()};
        } finally {
            closeAll(open);
        }
    }

    /** Rewards of padded rows with the current weights (cached lower states or null). */
    float[] rewards(Batches.Padded rows, List<float[]> states) {
        List<AutoCloseable> open = new ArrayList<>();
        try (Result r = runner(rows, states, open).fetch(reward).run()) {
            float[] out = new float[rows.rows()];
            ((TFloat32) r.get(0)).asRawTensor().data().asFloats().read(out);
            return out;
        } finally {
            closeAll(open);
        }
    }

    /** Features [pooled ; mean] of padded rows with the current weights (cached lower states or null). */
    float[] features(Batches.Padded rows, List<float[]> states) {
        List<AutoCloseable> open = new ArrayList<>();
        try (Result r = runner(rows, states, open).fetch(BertBackbone.FEATURES_OP).run()) {
            float[] out = new float[rows.rows() * BertBackbone.FEATURES];
            ((TFloat32) r.get(0)).asRawTensor().data().asFloats().read(out);
            return out;
        } finally {
            closeAll(open);
        }
    }

    /** The head's current weights (folded: reward = features . w + b) and bias as the last element. */
    float[] head() {
        try (Result r = session.runner().fetch(readW).fetch(readB).run()) {
            float[] out = new float[BertBackbone.FEATURES + 1];
            ((TFloat32) r.get(0)).asRawTensor().data().asFloats().read(out, 0, BertBackbone.FEATURES);
            out[BertBackbone.FEATURES] = ((TFloat32) r.get(1)).getFloat();
            return out;
        }
    }

    /** Writes every model variable through the graph's own saver into {@code variablesDir/variables.*}. */
    void save(Path variablesDir) throws IOException {
        Files.createDirectories(variablesDir);
        try (TString prefix = TString.scalarOf(variablesDir.resolve("variables").toString());
             Result r = session.runner().feed(saver.getFilenameTensorName(), prefix)
                     .fetch(saver.getSaveTensorName()).run()) {
            // the fetched tensor is the prefix; the saver wrote variables.index and the data shard
        }
    }

    @Override
    public void close() {
        session.close();
        graph.close();
    }
}
