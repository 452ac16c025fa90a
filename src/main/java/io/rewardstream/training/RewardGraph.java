package io.rewardstream.training;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.Max;
import org.tensorflow.op.math.Mean;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Builds the TensorFlow graph of the built-in reward model: the transformer, the Bradley-Terry and
 * Plackett-Luce losses, a hand-written Adam with an in-graph learning-rate schedule and global-norm
 * clipping, the initialiser and the two exported signatures. Not thread-safe while building; the built
 * graph is used through a (thread-safe) Session.
 *
 * <p>All parameters and optimiser slots are {@code VariableV2} (the only kind the SavedModel exporter
 * saves), read through {@code tf.identity} because the C API gradient of BatchMatMul fails on raw
 * {@code float_ref} inputs.
 */
final class RewardGraph {
    static final float NEG_INF = -1e9f;

    final Graph graph;
    final Ops tf;
    final ModelConfig cfg;
    final TrainConfig tc;

    /** Parameters in creation order, with their initial values (seeded, computed in Java). */
    final Map<String, Variable<TFloat32>> params = new LinkedHashMap<>();
    private final Map<String, Operand<TFloat32>> reads = new LinkedHashMap<>();
    private final Map<String, float[]> initValues = new LinkedHashMap<>();
    private final Map<String, Shape> shapes = new LinkedHashMap<>();
    private final List<Variable<TFloat32>> slots = new ArrayList<>();
    private final Map<String, Variable<TFloat32>> slotsByParam = new LinkedHashMap<>();
    private Variable<TFloat32> stepVar;
    private final SplittableRandom rng;
    private final int hd;

    // serving
    Placeholder<TInt32> inputIds;
    Placeholder<TInt32> attentionMask;
    Forward serving;
    // pairwise training
    Placeholder<TInt32> chosenIds;
    Placeholder<TInt32> chosenMask;
    Placeholder<TInt32> rejectedIds;
    Placeholder<TInt32> rejectedMask;
    Placeholder<TFloat32> margin;
    /**
     * [N,H] weights of each pair's heads in its loss: one-hot for an objective; defaults to the serving weights. Fed
     * by tensor name ({@link #HEAD_WEIGHTS}), not a signature input: SessionFunction callers of {@code train_step}
     * would have to pass it.
     */
    Operand<TFloat32> headWeights;
    Operand<TFloat32> rankedHeadWeights;
    Operand<TFloat32> pairLoss;
    Operand<TFloat32> trainLoss;  // identity of pairLoss with a control dependency on the optimiser step
    Operand<TFloat32> evalLoss;   // pairLoss without the step
    // Plackett-Luce training
    Placeholder<TInt32> rankedIds;   // [N, K, T]
    Placeholder<TInt32> rankedMask;
    Operand<TFloat32> rankedTrainLoss;
    Operand<TFloat32> learningRate;
    // init
    Op initOp;
    final Map<String, Placeholder<TFloat32>> initFeeds = new LinkedHashMap<>();

    /** Outputs of one application of the model to ids/mask. */
    record Forward(Operand<TFloat32> reward, Operand<TFloat32> members, Operand<TFloat32> rewards,
                   Operand<TFloat32> rewardStd, Operand<TFloat32> heads, Operand<TFloat32> hidden) {
    }

    /** With a per-token process head (see {@link #process}). */
    final boolean process;
    // process reward training: ids/mask [B,T], per-token labels [B,T] in {0,1}, loss weights [B,T] (0 on the prompt)
    Placeholder<TInt32> prmIds;
    Placeholder<TInt32> prmMask;
    Placeholder<TFloat32> prmLabels;
    Placeholder<TFloat32> prmWeights;
    Operand<TFloat32> prmTrainLoss;
    Operand<TFloat32> servingTokenRewards;  // [B,T]: 2*sigmoid(logit)-1 on real tokens, 0 on padding
    /**
     * The served sequence {@code reward}: the sequence head's, or with a process head its token reward at the last
     * real token (the verdict on the whole answer; the sequence head is not trained by {@link ProcessRewardTrainer}).
     */
    Operand<TFloat32> servingReward;

    RewardGraph(ModelConfig cfg, TrainConfig tc) {
        this(cfg, tc, false);
    }

    /**
     * @param process adds a per-token head ({@code token_head_w/b}, created after every other parameter so the
     *                seeded initial values of the others are unchanged), its per-token binary cross-entropy
     *                training op and the {@code token_rewards} serving output
     */
    RewardGraph(ModelConfig cfg, TrainConfig tc, boolean process) {
        this.process = process;
        this.cfg = cfg;
        this.tc = tc;
        this.graph = new Graph();
        this.tf = Ops.create(graph);
        this.rng = new SplittableRandom(tc.seed());
        this.hd = cfg.dModel() / cfg.attentionHeads();
        build();
    }

    private void build() {
        int d = cfg.dModel();
        double std = 0.02;
        double projStd = 0.02 / Math.sqrt(2.0 * cfg.layers());
        param("tok_emb", Shape.of(cfg.vocabSize(), d), Init.normal(std));
        param("pos_emb", Shape.of(cfg.maxSeqLen(), d), Init.normal(std));
        for (int l = 0; l < cfg.layers(); l++) {
            String p = "block" + l + "_";
            param(p + "ln1_g", Shape.of(d), Init.ones());
            param(p + "ln1_b", Shape.of(d), Init.zeros());
            for (String w : new String[]{"wq", "wk", "wv"}) {
                param(p + w, Shape.of(d, d), Init.normal(std));
                param(p + "b" + w.substring(1), Shape.of(d), Init.zeros());
            }
            param(p + "wo", Shape.of(d, d), Init.normal(projStd));
            param(p + "bo", Shape.of(d), Init.zeros());
            param(p + "ln2_g", Shape.of(d), Init.ones());
            param(p + "ln2_b", Shape.of(d), Init.zeros());
            int f = d * cfg.mlpRatio();
            param(p + "w_fc", Shape.of(d, f), Init.normal(std));
            param(p + "b_fc", Shape.of(f), Init.zeros());
            param(p + "w_proj", Shape.of(f, d), Init.normal(projStd));
            param(p + "b_proj", Shape.of(d), Init.zeros());
        }
        param("lnf_g", Shape.of(d), Init.ones());
        param("lnf_b", Shape.of(d), Init.zeros());
        int outs = cfg.ensemble() * cfg.headCount();
        param("head_w", Shape.of(d, outs), Init.normal(std));
        param("head_b", Shape.of(outs), Init.zeros());
        if (process) {
            param("token_head_w", Shape.of(d, 1), Init.normal(std));
            param("token_head_b", Shape.of(1), Init.zeros());
        }

        inputIds = tf.withName("input_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        attentionMask = tf.withName("attention_mask").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        serving = forward(inputIds, attentionMask);

        chosenIds = tf.withName("chosen_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        chosenMask = tf.withName("chosen_mask").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        rejectedIds = tf.withName("rejected_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        rejectedMask = tf.withName("rejected_mask").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
        margin = tf.withName("margin").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1)));
        Forward c = forward(chosenIds, chosenMask);
        Forward r = forward(rejectedIds, rejectedMask);
        headWeights = tf.withName(HEAD_WEIGHTS).placeholderWithDefault(servingHeadWeights(),
                Shape.of(-1, cfg.headCount()));
        pairLoss = bradleyTerryLoss(selectHeads(c.heads(), headWeights), selectHeads(r.heads(), headWeights));
        evalLoss = tf.withName("eval_loss").identity(pairLoss);

        // slots and step counter, then the two training ops
        stepVar = tf.withName("global_step").variable(Shape.scalar(), TFloat32.class);
        initValues.put("global_step", new float[]{0f});
        shapes.put("global_step", Shape.scalar());
        Op step = adamStep(pairLoss, "bt");
        trainLoss = tf.withControlDependencies(List.of(step)).withName("train_loss").identity(pairLoss);

        rankedIds = tf.withName("ranked_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1, -1)));
        rankedMask = tf.withName("ranked_mask").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1, -1)));
        Operand<TInt32> rShape = tf.shape(rankedIds);
        Operand<TInt32> flat = tf.concat(List.of(tf.constant(new int[]{-1}), slice1(rShape, 2)), tf.constant(0));
        Forward pr = forward(tf.reshape(rankedIds, flat), tf.reshape(rankedMask, flat));
        rankedHeadWeights = tf.withName(RANKED_HEAD_WEIGHTS).placeholderWithDefault(servingHeadWeights(),
                Shape.of(-1, cfg.headCount()));
        // [N*K,E,H] -> [N,K,E,H]; each ranking's heads weighted by its own row, mean over the ensemble
        Operand<TFloat32> headsNk = tf.reshape(pr.heads(), tf.concat(List.of(tf.constant(new int[]{-1}),
                tf.slice(rShape, tf.constant(new int[]{1}), tf.constant(new int[]{1})),
                tf.constant(new int[]{cfg.ensemble(), cfg.headCount()})), tf.constant(0)));
        Operand<TFloat32> wNk = tf.reshape(rankedHeadWeights, tf.constant(new int[]{-1, 1, 1, cfg.headCount()}));
        Operand<TFloat32> scoresNk = tf.math.mean(tf.sum(tf.math.mul(headsNk, wNk), tf.constant(3)), tf.constant(2));
        Operand<TFloat32> plLoss = plackettLuceLoss(tf, scoresNk);
        Op plStep = adamStep(plLoss, "pl");
        rankedTrainLoss = tf.withControlDependencies(List.of(plStep)).withName("ranked_train_loss").identity(plLoss);

        if (process) {
            servingTokenRewards = tf.withName("token_rewards").math.mul(tf.math.sub(tf.math.mul(f(2),
                    tf.math.sigmoid(tokenLogits(serving.hidden()))), f(1)), tf.dtypes.cast(attentionMask, TFloat32.class));
            prmIds = tf.withName("prm_ids").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
            prmMask = tf.withName("prm_mask").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
            prmLabels = tf.withName("prm_labels").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1)));
            prmWeights = tf.withName("prm_weights").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, -1)));
            Operand<TFloat32> logits = tokenLogits(forward(prmIds, prmMask).hidden());
            Operand<TFloat32> m = prmWeights;
            // binary cross-entropy with logits: softplus(z) - y*z, weighted mean (the answer's tokens, not the prompt's)
            Operand<TFloat32> bce = tf.math.sub(tf.math.softplus(logits), tf.math.mul(prmLabels, logits));
            Operand<TInt32> all = tf.constant(new int[]{0, 1});
            Operand<TFloat32> prmLoss = tf.math.div(tf.sum(tf.math.mul(bce, m), all),
                    tf.math.maximum(tf.sum(m, all), f(1)));
            Op prmStep = adamStep(prmLoss, "prm");
            prmTrainLoss = tf.withControlDependencies(List.of(prmStep)).withName("prm_train_loss").identity(prmLoss);
        }

        servingReward = process ? tf.withName("process_reward").gather(servingTokenRewards, lastIndex(attentionMask),
                tf.constant(1), Gather.batchDims(1L)) : serving.reward();
        buildInit();
    }

    /** Index of each row's last real token [B] (0 for an empty row). */
    private Operand<TInt32> lastIndex(Operand<TInt32> mask) {
        return tf.math.maximum(tf.math.sub(tf.sum(mask, tf.constant(1)), tf.constant(1)), tf.constant(0));
    }

    private enum InitKind { NORMAL, ONES, ZEROS }

    private record Init(InitKind kind, double std) {
        static Init normal(double s) {
            return new Init(InitKind.NORMAL, s);
        }

        static Init ones() {
            return new Init(InitKind.ONES, 0);
        }

        static Init zeros() {
            return new Init(InitKind.ZEROS, 0);
        }
    }

    private void param(String name, Shape shape, Init init) {
        Variable<TFloat32> v = tf.withName(name).variable(shape, TFloat32.class);
        params.put(name, v);
        reads.put(name, tf.withName(name + "_read").identity(v));
        float[] vals = new float[(int) shape.size()];
        for (int i = 0; i < vals.length; i++) {
            vals[i] = switch (init.kind()) {
                case NORMAL -> (float) (truncatedGaussian() * init.std());
                case ONES -> 1f;
                case ZEROS -> 0f;
            };
        }
        initValues.put(name, vals);
        shapes.put(name, shape);
    }

    private double truncatedGaussian() {
        while (true) {
            // Box-Muller from the seeded SplittableRandom, truncated at 2 sigma
            double u1 = rng.nextDouble();
            double u2 = rng.nextDouble();
            double z = Math.sqrt(-2 * Math.log(Math.max(u1, 1e-300))) * Math.cos(2 * Math.PI * u2);
            if (Math.abs(z) <= 2) {
                return z;
            }
        }
    }

    Operand<TFloat32> read(String name) {
        return reads.get(name);
    }

    private Operand<TInt32> slice1(Operand<TInt32> vec, int from) {
        return tf.slice(vec, tf.constant(new int[]{from}), tf.constant(new int[]{-1}));
    }

    private Operand<TInt32> dim(Operand<TInt32> shape, int i) {
        return tf.gather(shape, tf.constant(i), tf.constant(0));
    }

    private Operand<TInt32> shapeOf(Object... parts) {
        List<Operand<TInt32>> ops = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof Integer i) {
                ops.add(tf.constant(new int[]{i}));
            } else {
                @SuppressWarnings("unchecked") Operand<TInt32> o = (Operand<TInt32>) p;
                ops.add(tf.reshape(o, tf.constant(new int[]{1})));
            }
        }
        return tf.concat(ops, tf.constant(0));
    }

    private Operand<TFloat32> f(double v) {
        return tf.constant((float) v);
    }

    private Operand<TFloat32> layerNorm(Operand<TFloat32> x, String p) {
        Operand<TInt32> last = tf.constant(new int[]{-1});
        Operand<TFloat32> mu = tf.math.mean(x, last, Mean.keepDims(true));
        Operand<TFloat32> xc = tf.math.sub(x, mu);
        Operand<TFloat32> var = tf.math.mean(tf.math.square(xc), last, Mean.keepDims(true));
        Operand<TFloat32> norm = tf.math.mul(xc, tf.math.rsqrt(tf.math.add(var, f(1e-5))));
        return tf.math.add(tf.math.mul(norm, read(p + "_g")), read(p + "_b"));
    }

    private Operand<TFloat32> dense(Operand<TFloat32> x2d, String w, String b) {
        return tf.math.add(tf.linalg.matMul(x2d, read(w)), read(b));
    }

    private Operand<TFloat32> gelu(Operand<TFloat32> x) {
        Operand<TFloat32> cdf = tf.math.mul(f(0.5), tf.math.add(f(1), tf.math.erf(tf.math.mul(x, f(1 / Math.sqrt(2))))));
        return tf.math.mul(x, cdf);
    }

    /** The transformer on ids/mask [B,T] (right-padded), read at the last real token. */
    Forward forward(Operand<TInt32> ids, Operand<TInt32> mask) {
        int d = cfg.dModel();
        int nh = cfg.attentionHeads();
        Operand<TInt32> idShape = tf.shape(ids);
        Operand<TInt32> t = dim(idShape, 1);
        Operand<TFloat32> x = tf.gather(read("tok_emb"), ids, tf.constant(0));             // [B,T,d]
        Operand<TFloat32> pos = tf.slice(read("pos_emb"), tf.constant(new int[]{0, 0}), shapeOf(t, -1));
        x = tf.reshape(tf.math.add(x, pos), tf.constant(new int[]{-1, d}));              // [B*T,d]

        // additive attention bias [B,1,T,T]: causal and key padding
        Operand<TInt32> range = tf.range(tf.constant(0), t, tf.constant(1));
        Operand<TFloat32> causal = tf.dtypes.cast(tf.math.lessEqual(
                tf.expandDims(range, tf.constant(0)), tf.expandDims(range, tf.constant(1))), TFloat32.class); // [T,T]
        Operand<TFloat32> maskF = tf.dtypes.cast(mask, TFloat32.class);                   // [B,T]
        Operand<TFloat32> keys = tf.reshape(maskF, shapeOf(-1, 1, 1, t));
        Operand<TFloat32> allowed = tf.math.mul(keys, causal);
        Operand<TFloat32> bias = tf.math.mul(tf.math.sub(allowed, f(1)), f(-NEG_INF));

        Operand<TInt32> headsShape = shapeOf(-1, t, nh, hd);
        Operand<TInt32> perm = tf.constant(new int[]{0, 2, 1, 3});
        for (int l = 0; l < cfg.layers(); l++) {
            String p = "block" + l + "_";
            Operand<TFloat32> h = layerNorm(x, p + "ln1");
            Operand<TFloat32> q = tf.linalg.transpose(tf.reshape(dense(h, p + "wq", p + "bq"), headsShape), perm);
            Operand<TFloat32> k = tf.linalg.transpose(tf.reshape(dense(h, p + "wk", p + "bk"), headsShape), perm);
            Operand<TFloat32> v = tf.linalg.transpose(tf.reshape(dense(h, p + "wv", p + "bv"), headsShape), perm);
            Operand<TFloat32> att = tf.train.batchMatMul(q, k, TFloat32.class, BatchMatMul.adjY(true));
            att = tf.math.add(tf.math.mul(att, f(1 / Math.sqrt(hd))), bias);
            att = tf.nn.softmax(att);
            Operand<TFloat32> o = tf.train.batchMatMul(att, v, TFloat32.class);             // [B,nh,T,hd]
            o = tf.reshape(tf.linalg.transpose(o, perm), tf.constant(new int[]{-1, d}));
            x = tf.math.add(x, dense(o, p + "wo", p + "bo"));
            Operand<TFloat32> h2 = layerNorm(x, p + "ln2");
            x = tf.math.add(x, dense(gelu(dense(h2, p + "w_fc", p + "b_fc")), p + "w_proj", p + "b_proj"));
        }
        x = layerNorm(x, "lnf");
        Operand<TFloat32> x3 = tf.reshape(x, shapeOf(-1, t, d));
        Operand<TInt32> lastIdx = lastIndex(mask);
        Operand<TFloat32> hLast = tf.gather(x3, lastIdx, tf.constant(1), Gather.batchDims(1L)); // [B,d]
        int e = cfg.ensemble();
        int hc = cfg.headCount();
        Operand<TFloat32> out = tf.reshape(dense(hLast, "head_w", "head_b"), tf.constant(new int[]{-1, e, hc}));
        float[] w = new float[hc];
        for (int i = 0; i < hc; i++) {
            w[i] = cfg.heads().isEmpty() ? 1f : (float) cfg.heads().get(i).weight();
        }
        Operand<TFloat32> members = tf.sum(tf.math.mul(out, tf.constant(w)), tf.constant(2));      // [B,E]
        Operand<TFloat32> reward = tf.math.mean(members, tf.constant(1));                            // [B]
        Operand<TFloat32> rewards = tf.math.mean(out, tf.constant(1));                               // [B,H]
        Operand<TFloat32> dev = tf.math.sub(members, tf.expandDims(reward, tf.constant(1)));
        // population std over the E members (divide by E): the one definition, ScoreCombiner.ensembleStd
        Operand<TFloat32> rstd = tf.math.sqrt(tf.math.mean(tf.math.square(dev), tf.constant(1)));
        return new Forward(reward, members, rewards, rstd, out, x3);
    }

    /** Per-token logits [B,T] of the process head on hidden states [B,T,d]. */
    private Operand<TFloat32> tokenLogits(Operand<TFloat32> hidden) {
        Operand<TInt32> hs = tf.shape(hidden);
        Operand<TFloat32> flat = tf.reshape(hidden, tf.constant(new int[]{-1, cfg.dModel()}));
        return tf.reshape(dense(flat, "token_head_w", "token_head_b"), tf.slice(hs, tf.constant(new int[]{0}),
                tf.constant(new int[]{2})));
    }

    /** The serving combination of the heads as one [1,H] row (all ones without named heads). */
    private Operand<TFloat32> servingHeadWeights() {
        float[][] w = new float[1][cfg.headCount()];
        for (int i = 0; i < w[0].length; i++) {
            w[0][i] = cfg.heads().isEmpty() ? 1f : (float) cfg.heads().get(i).weight();
        }
        return tf.constant(w);
    }

    /** [B,E,H] heads weighted per row by [B or 1,H] weights: [B,E]. */
    private Operand<TFloat32> selectHeads(Operand<TFloat32> heads, Operand<TFloat32> weights) {
        Operand<TFloat32> w = tf.reshape(weights, tf.constant(new int[]{-1, 1, cfg.headCount()}));
        return tf.sum(tf.math.mul(heads, w), tf.constant(2));
    }

    /** Mean over pairs and ensemble members of softplus(-(r_c - r_r - m)), plus the centring term. */
    private Operand<TFloat32> bradleyTerryLoss(Operand<TFloat32> mc, Operand<TFloat32> mr) {
        Operand<TFloat32> diff = tf.math.sub(tf.math.sub(mc, mr), tf.expandDims(margin, tf.constant(1)));
        Operand<TFloat32> bt = tf.math.mean(tf.math.softplus(tf.math.neg(diff)), tf.constant(new int[]{0, 1}));
        if (tc.centerRewardsCoefficient() > 0) {
            Operand<TFloat32> center = tf.math.mean(tf.math.square(tf.math.add(mc, mr)), tf.constant(new int[]{0, 1}));
            bt = tf.math.add(bt, tf.math.mul(f(tc.centerRewardsCoefficient()), center));
        }
        return bt;
    }

    /**
     * Plackett-Luce negative log-likelihood of rankings: scores [N,K] in rank order (best first);
     * mean over N of sum_i (logsumexp_{j>=i} s_j - s_i). For K = 2 it equals the Bradley-Terry loss.
     */
    static Operand<TFloat32> plackettLuceLoss(Ops tf, Operand<TFloat32> scores) {
        Operand<TInt32> k = tf.gather(tf.shape(scores), tf.constant(1), tf.constant(0));
        Operand<TInt32> range = tf.range(tf.constant(0), k, tf.constant(1));
        // allowed[i][j] = j >= i
        Operand<TFloat32> allowed = tf.dtypes.cast(tf.math.lessEqual(
                tf.expandDims(range, tf.constant(1)), tf.expandDims(range, tf.constant(0))), TFloat32.class);
        Operand<TFloat32> bias = tf.math.mul(tf.math.sub(allowed, tf.constant(1f)), tf.constant(-NEG_INF));
        Operand<TFloat32> x = tf.math.add(tf.expandDims(scores, tf.constant(1)), bias);            // [N,K,K]
        Operand<TFloat32> m = tf.stopGradient(tf.max(x, tf.constant(2), Max.keepDims(true)));
        Operand<TFloat32> lse = tf.math.add(tf.math.log(tf.sum(tf.math.exp(tf.math.sub(x, m)), tf.constant(2),
                Sum.keepDims(true))), m);
        Operand<TFloat32> perItem = tf.math.sub(tf.squeeze(lse, org.tensorflow.op.core.Squeeze.axis(List.of(2L))),
                scores);
        return tf.math.mean(tf.sum(perItem, tf.constant(1)), tf.constant(0));
    }

    /** One Adam step on {@code loss} over all parameters, with global-norm clipping and the lr schedule. */
    private Op adamStep(Operand<TFloat32> loss, String tag) {
        List<String> names = new ArrayList<>(params.keySet());
        // the C API refuses a gradient for an unreachable parameter: the process head trains only on its own loss,
        // the sequence heads only on theirs
        boolean prm = "prm".equals(tag);
        names.removeIf(n -> prm ? n.startsWith("head_") : n.startsWith("token_head_"));
        List<Operand<?>> xs = new ArrayList<>();
        for (String n : names) {
            xs.add(read(n));
        }
        List<Operand<TFloat32>> grads = new ArrayList<>();
        var g = tf.gradients(loss, xs);
        for (int i = 0; i < names.size(); i++) {
            Operand<TFloat32> gi = g.dy(i);
            // IndexedSlices are densified by the C API; an unused parameter would give a null gradient
            grads.add(gi);
        }
        List<Operand<TFloat32>> sq = new ArrayList<>();
        for (Operand<TFloat32> gi : grads) {
            sq.add(tf.sum(tf.reshape(tf.math.square(gi), tf.constant(new int[]{-1})), tf.constant(0)));
        }
        Operand<TFloat32> gnorm = tf.withName("grad_norm_" + tag).math.sqrt(tf.math.addN(sq));
        Operand<TFloat32> clip = f(tc.clipNorm());
        Operand<TFloat32> scale = tf.math.div(clip, tf.math.maximum(gnorm, clip));

        Operand<TFloat32> t = tf.math.add(stepVar, f(1));
        double peak = tc.learningRate();
        float warm = Math.max(1, tc.warmupSteps());
        float decaySteps = Math.max(1, tc.steps() - tc.warmupSteps());
        Operand<TFloat32> warmFrac = tf.math.minimum(f(1), tf.math.div(t, f(warm)));
        Operand<TFloat32> progress = tf.math.minimum(f(1), tf.math.maximum(f(0),
                tf.math.div(tf.math.sub(t, f(warm)), f(decaySteps))));
        Operand<TFloat32> cosine = tf.math.mul(f(0.5), tf.math.add(f(1), tf.math.cos(tf.math.mul(progress, f(Math.PI)))));
        Operand<TFloat32> lr = tf.withName("learning_rate_" + tag).math.mul(tf.math.mul(f(peak), warmFrac),
                tf.math.add(f(tc.minLrFraction()), tf.math.mul(f(1 - tc.minLrFraction()), cosine)));
        if (learningRate == null) {
            learningRate = lr;
        }
        float b1 = 0.9f;
        float b2 = 0.999f;
        Operand<TFloat32> b1p = tf.math.pow(f(b1), t);
        Operand<TFloat32> b2p = tf.math.pow(f(b2), t);
        List<Op> updates = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            Variable<TFloat32> m = slotsByParam.computeIfAbsent(n + "_adam_m", this::slot);
            Variable<TFloat32> v = slotsByParam.computeIfAbsent(n + "_adam_v", this::slot);
            updates.add(tf.train.applyAdam(params.get(n), m, v, b1p, b2p, lr, f(b1), f(b2), f(1e-8),
                    tf.math.mul(grads.get(i), scale)));
        }
        return tf.withControlDependencies(updates).withName("adam_step_" + tag).assignAdd(stepVar, f(1));
    }

    private Variable<TFloat32> slot(String name) {
        Shape s = shapes.get(name.substring(0, name.lastIndexOf("_adam_")));
        Variable<TFloat32> v = tf.withName(name).variable(s, TFloat32.class);
        slots.add(v);
        initValues.put(name, new float[(int) s.size()]);
        shapes.put(name, s);
        return v;
    }

    private void buildInit() {
        List<Op> assigns = new ArrayList<>();
        Map<String, Variable<TFloat32>> all = new LinkedHashMap<>(params);
        for (Variable<TFloat32> s : slots) {
            all.put(s.op().name(), s);
        }
        all.put("global_step", stepVar);
        for (var e : all.entrySet()) {
            Placeholder<TFloat32> ph = tf.withName("init_" + e.getKey()).placeholder(TFloat32.class,
                    Placeholder.shape(shapes.get(e.getKey())));
            initFeeds.put(e.getKey(), ph);
            assigns.add(tf.assign(e.getValue(), ph));
        }
        initOp = tf.withControlDependencies(assigns).withName("init_all").noOp();
    }

    float[] initValue(String name) {
        return initValues.get(name);
    }

    Shape shape(String name) {
        return shapes.get(name);
    }

    long parameterCount() {
        long n = 0;
        for (String p : params.keySet()) {
            n += shapes.get(p).size();
        }
        return n;
    }

    Signature servingSignature() {
        Signature.Builder b = Signature.builder().key("serving_default")
                .input("input_ids", inputIds).input("attention_mask", attentionMask)
                .output("reward", servingReward);
        if (!cfg.heads().isEmpty()) {
            b.output("rewards", serving.rewards());
        }
        if (cfg.ensemble() > 1) {
            b.output("reward_std", serving.rewardStd());
        }
        if (process) {
            b.output("token_rewards", servingTokenRewards);
        }
        return b.build();
    }

    Signature trainStepSignature() {
        return Signature.builder().key("train_step")
                .input("chosen_ids", chosenIds).input("chosen_mask", chosenMask)
                .input("rejected_ids", rejectedIds).input("rejected_mask", rejectedMask)
                .input("margin", margin)
                .output("loss", trainLoss).build();
    }

    /** {@code train_step_ranked}: one Adam step on the Plackett-Luce loss of rankings [N, K, T], best first. */
    Signature rankedTrainStepSignature() {
        return Signature.builder().key(RANKED_TRAIN_STEP)
                .input("ranked_ids", rankedIds).input("ranked_mask", rankedMask)
                .output("loss", rankedTrainLoss).build();
    }

    static final String RANKED_TRAIN_STEP = "train_step_ranked";
    /** Graph tensor of {@code train_step}'s optional per-pair head weights [N,H]. */
    static final String HEAD_WEIGHTS = "head_weights";
    /** Graph tensor of {@code train_step_ranked}'s optional per-ranking head weights [N,H]. */
    static final String RANKED_HEAD_WEIGHTS = "ranked_head_weights";
}
