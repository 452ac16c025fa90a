package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BooleanSupplier;

/**
 * {@link RoundTrainer} over an exported model with the contract's {@code train_step} signature (the
 * built-in model, loaded with {@link ExportedModel}): evaluates the current model, runs {@code steps}
 * {@code train_step} calls on batches mixed by {@link ReplayBuffer#mixBatches}, evaluates the candidate on the
 * same held-out pairs, and re-exports both signatures like {@link FineTuner}.
 *
 * <p>Learning rate: when the graph has the built-in model's schedule tensor {@value #LR_TENSOR}, the round
 * feeds {@link #scheduledRate} of {@code learningRate} (the peak: warmup, then cosine decay) into it (feeding a
 * computed tensor overrides it for that call); otherwise the
 * model's own schedule applies and a warning says so. Stateless; each call owns its session.
 */
public final class SavedModelRoundTrainer implements RoundTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SavedModelRoundTrainer.class);
    static final String LR_TENSOR = "learning_rate_bt";
    static final String RANKED_LR_TENSOR = "learning_rate_pl";
    /** Held-out accuracy of the served combined score over every pair, objectives ignored (multi-head models). */
    static final String COMBINED_ACCURACY = "combined_accuracy";

    @Override
    public Output train(Input given, Path target, BooleanSupplier stop) throws IOException {
        RoundTrainer.checkRound(given, target);
        long t0 = System.nanoTime();
        try (ExportedModel model = ExportedModel.load(given.currentDir())) {
            ModelManifest old = model.manifest();
            Input in = knownObjectivesOnly(given, old);
            SavedModelBundle b = model.bundle();
            // a pair with an objective is judged by its own head, so objectives that disagree do not cancel out
            java.util.function.Function<String, Scorer> heads = head -> (ps, rs) -> model.scoreHead(head, ps, rs);
            java.util.function.Function<List<PreferenceExample>, EvalMetrics> eval = ps -> old.heads().isEmpty()
                    ? EvalMetrics.evaluate(model, ps) : EvalMetrics.evaluatePerObjective(model, heads, ps);
            EvalMetrics current = eval.apply(in.heldOut());
            Map<String, EvalMetrics> currentHeads = HeadWeights.evaluate(old.heads(), in.heldOut(), heads);
            LOG.info("current model {} on {} held-out pairs: {}; per head {}", old.modelVersion(), in.heldOut().size(),
                    current, currentHeads);
            SignatureDef sig = b.metaGraphDef().getSignatureDefMap().get("train_step");
            if (sig == null) {
                throw new IOException("model " + in.currentDir() + " has no train_step signature; it cannot be fine-tuned");
            }
            boolean lrFeed = b.graph().operation(LR_TENSOR) != null;
            boolean headFeed = b.graph().operation(RewardGraph.HEAD_WEIGHTS) != null;
            if (!lrFeed) {
                LOG.warn("model {} has no '{}' tensor: retrain.learning.rate is ignored, its own schedule applies",
                        in.currentDir(), LR_TENSOR);
            }
            SignatureDef rankedSig = b.metaGraphDef().getSignatureDefMap().get(RewardGraph.RANKED_TRAIN_STEP);
            List<PreferenceExample> fresh = in.fresh();
            List<PreferenceExample> old2 = in.old();
            String rankedLoss = in.hasRankings() ? "plackett-luce" : "none";
            if (in.hasRankings() && rankedSig == null) {
                // an older export without the list signature: train the rankings' implied pairs, and say so
                LOG.warn("model {} has no {} signature: {} rankings are trained as their implied Bradley-Terry pairs",
                        in.currentDir(), RewardGraph.RANKED_TRAIN_STEP, in.freshRanked().size() + in.oldRanked().size());
                fresh = new ArrayList<>(fresh);
                old2 = new ArrayList<>(old2);
                for (RankedExample r : in.freshRanked()) {
                    fresh.addAll(r.impliedPairs());
                }
                for (RankedExample r : in.oldRanked()) {
                    old2.addAll(r.impliedPairs());
                }
                rankedLoss = "bradley-terry on implied pairs (model has no " + RewardGraph.RANKED_TRAIN_STEP + ")";
            }
            boolean pl = in.hasRankings() && rankedSig != null;
            boolean bt = !fresh.isEmpty() || !old2.isEmpty();
            // steps split between the two losses in proportion to their examples, interleaved evenly
            int plSteps = !pl ? 0 : !bt ? in.steps() : (int) Math.max(1, Math.min(in.steps() - 1, Math.round(
                    in.steps() * (double) (in.freshRanked().size() + in.oldRanked().size())
                            / (in.freshRanked().size() + in.oldRanked().size() + fresh.size() + old2.size()))));
            int btSteps = in.steps() - plSteps;
            Random rnd = new Random(in.seed());
            List<List<PreferenceExample>> batches = btSteps == 0 ? List.of()
                    : ReplayBuffer.mixBatches(fresh, old2, btSteps, in.batchSize(), in.mix(), rnd);
            // a ranking of k scores k sequences: about as many sequences per step as a pair batch
            int kMean = pl ? (int) Math.round(java.util.stream.Stream.concat(in.freshRanked().stream(),
                    in.oldRanked().stream()).mapToInt(r -> r.responsesBestFirst().size()).average().orElse(2)) : 2;
            int rankedBatch = Math.max(1, 2 * in.batchSize() / kMean);
            List<List<RankedExample>> rankedBatches = plSteps == 0 ? List.of()
                    : ReplayBuffer.mixBatches(in.freshRanked(), in.oldRanked(), plSteps, rankedBatch, in.mix(), rnd);
            boolean rankedLrFeed = pl && b.graph().operation(RANKED_LR_TENSOR) != null;
            List<Double> losses = new ArrayList<>();
            List<TrainingResult.EvalPoint> curve = new ArrayList<>();
            int evalEvery = Math.max(1, in.steps() / 5);
            double ema = Double.NaN;
            curve.add(new TrainingResult.EvalPoint(0, Double.NaN, current.loss(), current.accuracy()));
            int btDone = 0;
            int plDone = 0;
            long btExamples = 0;
            long plExamples = 0;
            for (int s = 1; s <= in.steps(); s++) {
                if (stop.getAsBoolean()) {
                    throw new Interrupted("round stopped after " + (s - 1) + " of " + in.steps() + " steps");
                }
                boolean plNext = plDone < plSteps && (btDone >= btSteps
                        || (plDone + 1) * (double) btSteps <= (btDone + 1) * (double) plSteps);
                double loss;
                double lr = scheduledRate(in.learningRate(), s, in.steps());
                if (plNext) {
                    List<RankedExample> rb = rankedBatches.get(plDone++);
                    loss = rankedStep(b.session(), rankedSig, rb, old, rankedLrFeed ? lr : -1);
                    plExamples += rb.size();
                } else {
                    List<PreferenceExample> pb = batches.get(btDone++);
                    loss = step(b.session(), sig, pb, old, lrFeed ? lr : -1, headFeed);
                    btExamples += pb.size();
                }
                losses.add(loss);
                ema = Double.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
                if (s % evalEvery == 0 || s == in.steps()) {
                    EvalMetrics m = eval.apply(in.heldOut());
                    curve.add(new TrainingResult.EvalPoint(s, ema, m.loss(), m.accuracy()));
                    LOG.info("fine-tune step {}/{}: train loss (EMA) {} held-out acc {}", s, in.steps(),
                            String.format("%.4f", ema), String.format("%.3f", m.accuracy()));
                }
            }
            Map<String, Double> stats = new LinkedHashMap<>();
            stats.put(BT_STEPS, (double) btDone);
            stats.put(PL_STEPS, (double) plDone);
            stats.put(BT_EXAMPLES, (double) btExamples);
            stats.put(PL_EXAMPLES, (double) plExamples);
            LOG.info("round steps: {} Bradley-Terry ({} pairs drawn), {} Plackett-Luce ({} rankings drawn)", btDone,
                    btExamples, plDone, plExamples);
            EvalMetrics candidate = eval.apply(in.heldOut());
            Map<String, EvalMetrics> candidateHeads = HeadWeights.evaluate(old.heads(), in.heldOut(), heads);
            Files.createDirectories(target);
            SavedModelBundle.Exporter ex = SavedModelBundle.exporter(target.toString())
                    .withFunctions(b.function("serving_default"), b.function("train_step"));
            if (rankedSig != null) {
                ex.withFunction(b.function(RewardGraph.RANKED_TRAIN_STEP));
            }
            ex.export();
            double secs = (System.nanoTime() - t0) / 1e9;
            TrainingResult tr = new TrainingResult(losses, curve, candidate, secs, in.fresh().size() + in.old().size()
                    + in.freshRanked().size() + in.oldRanked().size());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("fine_tuned_from", old.modelVersion());
            summary.put("steps", in.steps());
            summary.put("new_pairs", in.fresh().size());
            summary.put("replayed_pairs", in.old().size());
            summary.put("new_rankings", in.freshRanked().size());
            summary.put("replayed_rankings", in.oldRanked().size());
            summary.put("ranked_loss", rankedLoss);
            stats.forEach(summary::put);
            summary.put("held_out_pairs", in.heldOut().size());
            current.asMap().forEach((k, v) -> summary.put("current." + k, v));
            candidate.asMap().forEach((k, v) -> summary.put("candidate." + k, v));
            summary.putAll(in.summary());
            TrainingReport.write(target, tr, summary);
            Map<String, Double> metrics = new LinkedHashMap<>(candidate.asMap());
            // per-objective heads: each head of the candidate on its own objective's held-out pairs
            HeadWeights.putMetrics(metrics, candidateHeads);
            if (!candidateHeads.isEmpty()) {
                // what one combined label would score on the same pairs (about 0.5 when the objectives disagree)
                metrics.put(COMBINED_ACCURACY, EvalMetrics.evaluate(model, in.heldOut()).accuracy());
            }
            Map<String, String> lineage = new LinkedHashMap<>(old.lineage());
            lineage.put("fine_tuned_from", old.modelVersion());
            lineage.put("fine_tune_steps", Integer.toString(in.steps()));
            lineage.put("fine_tune_seed", Long.toString(in.seed()));
            lineage.put("fine_tune_ranked_loss", rankedLoss);
            ModelManifest.Normalization norm = candidate.scoreStd() > 0 && Double.isFinite(candidate.scoreMean())
                    ? new ModelManifest.Normalization(candidate.scoreMean(), candidate.scoreStd()) : old.normalization();
            ModelManifest m = new ModelManifest(old.name(), old.version() + 1, old.maxSeqLen(), old.padId(),
                    old.vocabSize(), old.tokenizer(), old.tokenizerFile(), old.heads(), norm, metrics, old.version(),
                    lineage, System.currentTimeMillis(), null).withDigestsOf(target);
            m.write(target);
            LOG.info("round trained in {} s: current {} | candidate {}", String.format("%.1f", secs), current, candidate);
            return new Output(current, candidate, tr, m, stats, currentHeads, candidateHeads);
        }
    }

    /**
     * The round's learning rate at step {@code s} of {@code steps} (1-based): linear warmup over the first 5% of the
     * steps to {@code peak}, then cosine decay to 10% of it (part of the demo's measured recipe; not isolated against
     * a constant rate, see the README's Demo section).
     */
    static double scheduledRate(double peak, int s, int steps) {
        int warmup = Math.max(1, steps / 20);
        if (s <= warmup) {
            return peak * s / warmup;
        }
        double progress = Math.min(1.0, (s - warmup) / (double) Math.max(1, steps - warmup));
        return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    /**
     * One {@code train_step_ranked} call per distinct k in the batch (the signature takes [N, K, T]); returns the
     * loss averaged over the batch's rankings.
     */
    static double rankedStep(Session session, SignatureDef sig, List<RankedExample> batch, ModelManifest mf,
                             double lr) {
        Map<Integer, List<RankedExample>> byK = new java.util.TreeMap<>();
        for (RankedExample r : batch) {
            byK.computeIfAbsent(r.responsesBestFirst().size(), k -> new ArrayList<>()).add(r);
        }
        double sum = 0;
        var ins = sig.getInputsMap();
        for (var e : byK.entrySet()) {
            int k = e.getKey();
            List<int[]> rows = new ArrayList<>();
            for (RankedExample r : e.getValue()) {
                for (String resp : r.responsesBestFirst()) {
                    rows.add(Batches.encode(mf.tokenizer(), mf.vocabSize(), r.prompt(), resp, mf.maxSeqLen()));
                }
            }
            Batches.Padded p = Batches.pad(rows, 1);
            org.tensorflow.ndarray.Shape shape = org.tensorflow.ndarray.Shape.of(e.getValue().size(), k, p.cols());
            try (TInt32 ids = TInt32.tensorOf(shape, org.tensorflow.ndarray.buffer.DataBuffers.of(p.ids(), true, false));
                 TInt32 mask = TInt32.tensorOf(shape, org.tensorflow.ndarray.buffer.DataBuffers.of(p.mask(), true, false));
                 TFloat32 lrt = TFloat32.scalarOf((float) Math.max(lr, 0));
                 TFloat32 hw = rankedHeadWeights(session, e.getValue(), mf)) {
                Session.Runner run = session.runner().feed(ins.get("ranked_ids").getName(), ids)
                        .feed(ins.get("ranked_mask").getName(), mask)
                        .fetch(sig.getOutputsMap().get("loss").getName());
                if (lr >= 0) {
                    run.feed(RANKED_LR_TENSOR, lrt);
                }
                if (hw != null) {
                    run.feed(RewardGraph.RANKED_HEAD_WEIGHTS, hw);
                }
                try (Result res = run.run()) {
                    sum += ((TFloat32) res.get(0)).getFloat() * e.getValue().size();
                }
            }
        }
        return sum / batch.size();
    }

    /**
     * Leaves out examples whose objective names no head of the model (a model without named heads trains every
     * example on its one score): one mislabelled record must not stop every round. Logged as a warning.
     */
    static Input knownObjectivesOnly(Input in, ModelManifest mf) {
        if (mf.heads().isEmpty()) {
            return in;
        }
        java.util.Set<String> unknown = new java.util.TreeSet<>();
        java.util.function.Predicate<String> keep = o -> {
            if (HeadWeights.knows(mf.heads(), o)) {
                return true;
            }
            unknown.add(o);
            return false;
        };
        java.util.function.Function<List<PreferenceExample>, List<PreferenceExample>> pairs = l -> l.stream()
                .filter(e -> keep.test(e.objective())).toList();
        java.util.function.Function<List<RankedExample>, List<RankedExample>> ranked = l -> l.stream()
                .filter(e -> keep.test(e.objective())).toList();
        Input out = new Input(in.currentDir(), pairs.apply(in.fresh()), pairs.apply(in.old()), pairs.apply(in.heldOut()),
                in.steps(), in.batchSize(), in.mix(), in.learningRate(), in.seed(), in.summary(),
                ranked.apply(in.freshRanked()), ranked.apply(in.oldRanked()));
        if (!unknown.isEmpty()) {
            LOG.warn("left out preferences whose objective names no head of {} (heads {}): objectives {}",
                    mf.modelVersion(), mf.heads().stream().map(ModelManifest.Head::name).toList(), unknown);
        }
        return out;
    }

    /** Per-ranking head weights, or null (no objective, no named heads, or a model without the tensor). */
    private static TFloat32 rankedHeadWeights(Session session, List<RankedExample> batch, ModelManifest mf) {
        List<String> objectives = batch.stream().map(RankedExample::objective).toList();
        float[] w = HeadWeights.rows(mf.heads(), objectives, mf.name());
        if (w == null || session.graph().operation(RewardGraph.RANKED_HEAD_WEIGHTS) == null) {
            return null;
        }
        return TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(batch.size(), mf.heads().size()),
                org.tensorflow.ndarray.buffer.DataBuffers.of(w, true, false));
    }

    /** One train_step through the session, feeding the signature's tensors (and the learning rate if >= 0). */
    static double step(Session session, SignatureDef sig, List<PreferenceExample> batch, ModelManifest mf, double lr) {
        return step(session, sig, batch, mf, lr, false);
    }

    /**
     * As {@link #step(Session, SignatureDef, List, ModelManifest, double)}; with {@code headFeed} (the graph has the
     * {@code head_weights} tensor) pairs with an objective train their named head alone.
     */
    static double step(Session session, SignatureDef sig, List<PreferenceExample> batch, ModelManifest mf, double lr,
                       boolean headFeed) {
        List<int[]> c = new ArrayList<>();
        List<int[]> r = new ArrayList<>();
        float[] margin = new float[batch.size()];
        List<String> objectives = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
            PreferenceExample e = batch.get(i);
            objectives.add(e.objective());
            c.add(Batches.encode(mf.tokenizer(), mf.vocabSize(), e.prompt(), e.chosen(), mf.maxSeqLen()));
            r.add(Batches.encode(mf.tokenizer(), mf.vocabSize(), e.prompt(), e.rejected(), mf.maxSeqLen()));
            margin[i] = (float) e.margin();
        }
        int t = 1;
        for (int[] x : c) {
            t = Math.max(t, x.length);
        }
        for (int[] x : r) {
            t = Math.max(t, x.length);
        }
        Batches.Padded pc = Batches.pad(c, t);
        Batches.Padded pr = Batches.pad(r, t);
        var ins = sig.getInputsMap();
        try (TInt32 ci = pc.idsTensor(); TInt32 cm = pc.maskTensor(); TInt32 ri = pr.idsTensor();
             TInt32 rm = pr.maskTensor(); TFloat32 mt = TFloat32.vectorOf(margin);
             TFloat32 lrt = TFloat32.scalarOf((float) Math.max(lr, 0))) {
            Session.Runner run = session.runner()
                    .feed(ins.get("chosen_ids").getName(), ci).feed(ins.get("chosen_mask").getName(), cm)
                    .feed(ins.get("rejected_ids").getName(), ri).feed(ins.get("rejected_mask").getName(), rm)
                    .feed(ins.get("margin").getName(), mt)
                    .fetch(sig.getOutputsMap().get("loss").getName());
            if (lr >= 0) {
                run.feed(LR_TENSOR, lrt);
            }
            // pairs with an objective train their head alone (models exported before head_weights: the combined score)
            float[] hw = headFeed ? HeadWeights.rows(mf.heads(), objectives, mf.name()) : null;
            try (TFloat32 hwt = hw == null ? null : TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(batch.size(),
                    mf.heads().size()), org.tensorflow.ndarray.buffer.DataBuffers.of(hw, true, false))) {
                if (hwt != null) {
                    run.feed(RewardGraph.HEAD_WEIGHTS, hwt);
                }
                try (Result res = run.run()) {
                    return ((TFloat32) res.get(0)).getFloat();
                }
            }
        }
    }
}
