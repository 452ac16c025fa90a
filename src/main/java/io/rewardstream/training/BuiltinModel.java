package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The built-in reward model, in process: build, train (Bradley-Terry or Plackett-Luce), score, export a
 * SavedModel with {@code serving_default} and {@code train_step} plus the manifest.
 *
 * <p>Owns a TensorFlow graph and session: close it. Scoring is thread-safe (a Session is); training and
 * export are not and must not overlap with each other.
 *
 * <p>Reproducibility: {@code TrainConfig.seed} fixes the initial weights and the data order, but runs are
 * not bit-exact because TensorFlow's multi-threaded CPU kernels reduce in varying order.
 */
public final class BuiltinModel implements Scorer, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BuiltinModel.class);
    private static final int EVAL_BATCH = 128;

    private final ModelConfig cfg;
    private final TrainConfig tc;
    private final RewardGraph g;
    private final Session session;
    private TrainingResult lastResult;
    private List<PreferenceExample> lastHeldOut = List.of();
    private final Map<String, String> lineage = new LinkedHashMap<>();

    private BuiltinModel(ModelConfig cfg, TrainConfig tc, boolean process) {
        this.cfg = cfg;
        this.tc = tc;
        this.g = new RewardGraph(cfg, tc, process);
        this.session = new Session(g.graph);
        Session.Runner init = session.runner().addTarget(g.initOp);
        List<Tensor> feeds = new ArrayList<>();
        try {
            for (var e : g.initFeeds.entrySet()) {
                TFloat32 t = TFloat32.tensorOf(g.shape(e.getKey()), DataBuffers.of(g.initValue(e.getKey()), true, false));
                feeds.add(t);
                init.feed(e.getValue(), t);
            }
            init.run();
        } finally {
            feeds.forEach(Tensor::close);
        }
    }

    /** A freshly initialised model (seeded by {@code tc.seed()}); the schedule length is {@code tc.steps()}. */
    public static BuiltinModel create(ModelConfig cfg, TrainConfig tc) {
        return new BuiltinModel(cfg, tc, false);
    }

    /**
     * Like {@link #create} plus a per-token process head: the export gains the {@code token_rewards} output
     * [B,T] and its {@code reward} is the token reward at the last real token; train it with {@link
     * ProcessRewardTrainer}.
     */
    public static BuiltinModel createWithProcessHead(ModelConfig cfg, TrainConfig tc) {
        return new BuiltinModel(cfg, tc, true);
    }

    RewardGraph graph() {
        return g;
    }

    Session session() {
        return session;
    }

    TrainConfig trainConfig() {
        return tc;
    }

    public ModelConfig config() {
        return cfg;
    }

    public long parameterCount() {
        return g.parameterCount();
    }

    /** Adds provenance written into the manifest's {@code lineage}. */
    public BuiltinModel withLineage(String key, String value) {
        lineage.put(key, value);
        return this;
    }

    /**
     * Trains for {@code tc.steps()} Bradley-Terry steps on {@code train} (shuffled per epoch with the seed),
     * evaluating on {@code heldOut} every {@code tc.evalEvery()} steps and at the end of each epoch.
     * Prints a progress bar and one summary line per epoch on stderr when {@code tc.progress()}.
     */
    public TrainingResult train(List<PreferenceExample> train, List<PreferenceExample> heldOut) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training pairs");
        }
        long t0 = System.nanoTime();
        Random rnd = new Random(tc.seed());
        List<PreferenceExample> order = new ArrayList<>(train);
        Collections.shuffle(order, rnd);
        int pos = 0;
        int epoch = 1;
        double epochLoss = 0;
        int epochSteps = 0;
        List<Double> losses = new ArrayList<>();
        List<TrainingResult.EvalPoint> curve = new ArrayList<>();
        ProgressBar bar = new ProgressBar(tc.steps(), tc.progress());
        double ema = Double.NaN;
        for (int step = 1; step <= tc.steps(); step++) {
            List<PreferenceExample> batch = new ArrayList<>(tc.batchSize());
            boolean epochEnded = false;
            while (batch.size() < Math.min(tc.batchSize(), train.size())) {
                if (pos == order.size()) {
                    Collections.shuffle(order, rnd);
                    pos = 0;
                    epochEnded = true;
                }
                batch.add(order.get(pos++));
            }
            if (epochEnded) {
                bar.println(epochSummary(epoch, epochLoss / Math.max(1, epochSteps), heldOut));
                epoch++;
                epochLoss = 0;
                epochSteps = 0;
            }
            double loss = trainStep(batch);
            losses.add(loss);
            epochLoss += loss;
            epochSteps++;
            ema = Double.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
            bar.update(step, ema);
            if (!heldOut.isEmpty() && tc.evalEvery() > 0 && (step % tc.evalEvery() == 0 || step == tc.steps())) {
                EvalMetrics m = evaluate(heldOut);
                curve.add(new TrainingResult.EvalPoint(step, ema, m.loss(), m.accuracy()));
            }
        }
        bar.println(epochSummary(epoch, epochLoss / Math.max(1, epochSteps), heldOut)
                + (epochSteps < Math.max(1, train.size() / tc.batchSize()) ? " (partial epoch)" : ""));
        EvalMetrics fin = heldOut.isEmpty() ? null : evaluate(heldOut);
        double secs = (System.nanoTime() - t0) / 1e9;
        LOG.info("trained {} for {} steps in {} s; held-out: {}", cfg.name(), tc.steps(), String.format("%.1f", secs), fin);
        lastResult = new TrainingResult(losses, curve, fin, secs, train.size());
        lastHeldOut = List.copyOf(heldOut);
        return lastResult;
    }

    private String epochSummary(int epoch, double trainLoss, List<PreferenceExample> heldOut) {
        if (heldOut.isEmpty()) {
            return String.format("epoch %d: train loss %.4f", epoch, trainLoss);
        }
        EvalMetrics m = evaluate(heldOut);
        return String.format("epoch %d: train loss %.4f | held-out loss %.4f acc %.3f margin %.3f", epoch, trainLoss,
                m.loss(), m.accuracy(), m.meanMargin());
    }

    /**
     * One Bradley-Terry Adam step on a batch; returns the loss before the update. A pair with an
     * {@link PreferenceExample#objective() objective} trains that named head alone; a pair without one trains the
     * combined score (the heads' weighted sum, as served). A model without named heads trains its one score on
     * every pair.
     *
     * @throws IllegalArgumentException when an objective names no head of this model
     */
    public double trainStep(List<PreferenceExample> batch) {
        List<int[]> c = new ArrayList<>();
        List<int[]> r = new ArrayList<>();
        float[] m = new float[batch.size()];
        List<String> objectives = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            PreferenceExample e = batch.get(i);
            c.add(enc(e.prompt(), e.chosen()));
            r.add(enc(e.prompt(), e.rejected()));
            m[i] = (float) e.margin();
            objectives.add(e.objective());
        }
        Batches.Padded pc = Batches.pad(c, 1);
        Batches.Padded pr = Batches.pad(r, 1);
        try (TInt32 ci = pc.idsTensor(); TInt32 cm = pc.maskTensor(); TInt32 ri = pr.idsTensor();
             TInt32 rm = pr.maskTensor(); TFloat32 mt = TFloat32.vectorOf(m);
             TFloat32 hw = headWeights(objectives)) {
            Session.Runner run = session.runner().feed(g.chosenIds, ci).feed(g.chosenMask, cm).feed(g.rejectedIds, ri)
                    .feed(g.rejectedMask, rm).feed(g.margin, mt);
            if (hw != null) {
                run.feed(g.headWeights, hw);
            }
            try (Result res = run.fetch(g.trainLoss).run()) {
                return ((TFloat32) res.get(0)).getFloat();
            }
        }
    }

    private TFloat32 headWeights(List<String> objectives) {
        float[] w = HeadWeights.rows(cfg.heads(), objectives, cfg.name());
        return w == null ? null : TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(objectives.size(),
                cfg.heads().size()), DataBuffers.of(w, true, false));
    }

    private int headIndex(String name) {
        return HeadWeights.index(cfg.heads(), name, cfg.name());
    }

    /** The named head's own scores (not the combined reward). */
    public float[] scoreHead(String head, List<String> prompts, List<String> responses) {
        int j = headIndex(head);
        int h = cfg.heads().size();
        return scoreWith(prompts, responses, this::enc, EVAL_BATCH, (ids, mask) -> {
            try (Result r = session.runner().feed(g.inputIds, ids).feed(g.attentionMask, mask)
                    .fetch(g.serving.rewards()).run()) {
                return HeadWeights.column((TFloat32) r.get(0), h, j);
            }
        });
    }

    /**
     * Held-out metrics of each named head on the pairs of its own objective (heads without such pairs are left out).
     */
    public Map<String, EvalMetrics> evaluatePerHead(List<PreferenceExample> pairs) {
        return HeadWeights.evaluate(cfg.heads(), pairs, head -> (ps, rs) -> scoreHead(head, ps, rs));
    }

    /** One Plackett-Luce Adam step on rankings that all have the same k; returns the loss before the update. */
    public double trainRankedStep(List<RankedExample> batch) {
        int k = batch.get(0).responsesBestFirst().size();
        List<int[]> rows = new ArrayList<>();
        List<String> objectives = new ArrayList<>(batch.size());
        for (RankedExample e : batch) {
            objectives.add(e.objective());
            if (e.responsesBestFirst().size() != k) {
                throw new IllegalArgumentException("all rankings of a batch need the same k; got " + k + " and "
                        + e.responsesBestFirst().size() + " (" + e.id() + ")");
            }
            for (String resp : e.responsesBestFirst()) {
                rows.add(enc(e.prompt(), resp));
            }
        }
        Batches.Padded p = Batches.pad(rows, 1);
        org.tensorflow.ndarray.Shape s = org.tensorflow.ndarray.Shape.of(batch.size(), k, p.cols());
        try (TInt32 ids = TInt32.tensorOf(s, DataBuffers.of(p.ids(), true, false));
             TInt32 mask = TInt32.tensorOf(s, DataBuffers.of(p.mask(), true, false));
             TFloat32 hw = headWeights(objectives)) {
            Session.Runner run = session.runner().feed(g.rankedIds, ids).feed(g.rankedMask, mask);
            if (hw != null) {
                run.feed(g.rankedHeadWeights, hw);
            }
            try (Result res = run.fetch(g.rankedTrainLoss).run()) {
                return ((TFloat32) res.get(0)).getFloat();
            }
        }
    }

    /** Current learning rate of the schedule (for the next step). */
    public double learningRate() {
        try (Result r = session.runner().fetch(g.learningRate).run()) {
            return ((TFloat32) r.get(0)).getFloat();
        }
    }

    @Override
    public float[] score(List<String> prompts, List<String> responses) {
        return scoreWith(prompts, responses, this::enc, EVAL_BATCH, (ids, mask) -> {
            try (Result r = session.runner().feed(g.inputIds, ids).feed(g.attentionMask, mask)
                    .fetch(g.servingReward).run()) {
                TFloat32 t = (TFloat32) r.get(0);
                float[] out = new float[(int) t.shape().size(0)];
                t.asRawTensor().data().asFloats().read(out);
                return out;
            }
        });
    }

    interface BatchScorer {
        float[] run(TInt32 ids, TInt32 mask);
    }

    private int[] enc(String prompt, String response) {
        return Batches.encode(cfg.tokenizer(), cfg.vocabSize(), prompt, response, cfg.maxSeqLen());
    }

    static float[] scoreWith(List<String> prompts, List<String> responses,
                             java.util.function.BiFunction<String, String, int[]> encoder, int batch, BatchScorer f) {
        if (prompts.size() != responses.size()) {
            throw new IllegalArgumentException("prompts and responses differ in length");
        }
        float[] out = new float[prompts.size()];
        for (int from = 0; from < prompts.size(); from += batch) {
            int to = Math.min(prompts.size(), from + batch);
            List<int[]> rows = new ArrayList<>();
            for (int i = from; i < to; i++) {
                rows.add(encoder.apply(prompts.get(i), responses.get(i)));
            }
            Batches.Padded p = Batches.pad(rows, 1);
            try (TInt32 ids = p.idsTensor(); TInt32 mask = p.maskTensor()) {
                float[] s = f.run(ids, mask);
                System.arraycopy(s, 0, out, from, s.length);
            }
        }
        return out;
    }

    public EvalMetrics evaluate(List<PreferenceExample> pairs) {
        return EvalMetrics.evaluate(this, pairs);
    }

    /** {@link #export(Path, List)} with the held-out pairs of the last {@link #train} call (none if untrained). */
    public ModelManifest export(Path dir) throws IOException {
        return export(dir, lastHeldOut);
    }

    /**
     * Exports the SavedModel ({@code serving_default} and {@code train_step}) into {@code dir} (created;
     * must not already hold a SavedModel), the training report under {@code dir/report} when this model
     * was trained, and the manifest (version 1) with digests of every file.
     *
     * @param eval pairs for the manifest's metrics and normalisation; may be empty
     * @throws IOException when the directory cannot be written
     */
    public ModelManifest export(Path dir, List<PreferenceExample> eval) throws IOException {
        if (Files.exists(dir.resolve("saved_model.pb"))) {
            throw new IOException("refusing to overwrite an existing SavedModel in " + dir);
        }
        Files.createDirectories(dir);
        SavedModelBundle.exporter(dir.toString()).withSession(session)
                .withSignatures(g.servingSignature(), g.trainStepSignature(), g.rankedTrainStepSignature()).export();
        // each pair judged by the score it trains (its objective's head, else the combined score), as the gate does
        EvalMetrics m = eval.isEmpty() ? null : cfg.heads().isEmpty() ? evaluate(eval)
                : EvalMetrics.evaluatePerObjective(this, head -> (ps, rs) -> scoreHead(head, ps, rs), eval);
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (m != null) {
            metrics.putAll(m.asMap());
        }
        // per-objective heads: each head on its own objective's held-out pairs
        HeadWeights.putMetrics(metrics, evaluatePerHead(eval));
        metrics.put("parameters", (double) parameterCount());
        Map<String, String> lin = new LinkedHashMap<>(lineage);
        lin.put("seed", Long.toString(tc.seed()));
        lin.put("steps", Integer.toString(tc.steps()));
        lin.put("architecture", String.format("d=%d layers=%d heads=%d mlp=%dx ensemble=%d", cfg.dModel(),
                cfg.layers(), cfg.attentionHeads(), cfg.mlpRatio(), cfg.ensemble()));
        if (lastResult != null) {
            metrics.put("train_seconds", lastResult.seconds());
            lin.put("train_pairs", Integer.toString(lastResult.trainPairs()));
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("model", cfg.name());
            summary.putAll(lin);
            summary.putAll(metrics);
            TrainingReport.write(dir, lastResult, summary);
        }
        ModelManifest.Normalization norm = m != null && m.scoreStd() > 0
                ? new ModelManifest.Normalization(m.scoreMean(), m.scoreStd()) : null;
        ModelManifest manifest = new ModelManifest(cfg.name(), 1, cfg.maxSeqLen(), ByteTokenizer.PAD, cfg.vocabSize(),
                cfg.tokenizer(), null, cfg.heads(), norm, metrics, null, lin, System.currentTimeMillis(), null)
                .withDigestsOf(dir);
        manifest.write(dir);
        return manifest;
    }

    @Override
    public void close() {
        session.close();
        g.graph.close();
    }
}
