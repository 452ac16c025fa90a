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
 * feeds {@code learningRate} into it (feeding a computed tensor overrides it for that call); otherwise the
 * model's own schedule applies and a warning says so. Stateless; each call owns its session.
 */
public final class SavedModelRoundTrainer implements RoundTrainer {
    private static final Logger LOG = LoggerFactory.getLogger(SavedModelRoundTrainer.class);
    static final String LR_TENSOR = "learning_rate_bt";

    @Override
    public Output train(Input in, Path target, BooleanSupplier stop) throws IOException {
        RoundTrainer.checkRound(in, target);
        long t0 = System.nanoTime();
        try (ExportedModel model = ExportedModel.load(in.currentDir())) {
            ModelManifest old = model.manifest();
            SavedModelBundle b = model.bundle();
            EvalMetrics current = EvalMetrics.evaluate(model, in.heldOut());
            LOG.info("current model {} on {} held-out pairs: {}", old.modelVersion(), in.heldOut().size(), current);
            SignatureDef sig = b.metaGraphDef().getSignatureDefMap().get("train_step");
            if (sig == null) {
                throw new IOException("model " + in.currentDir() + " has no train_step signature; it cannot be fine-tuned");
            }
            boolean lrFeed = b.graph().operation(LR_TENSOR) != null;
            if (!lrFeed) {
                LOG.warn("model {} has no '{}' tensor: retrain.learning.rate is ignored, its own schedule applies",
                        in.currentDir(), LR_TENSOR);
            }
            List<List<PreferenceExample>> batches = ReplayBuffer.mixBatches(in.fresh(), in.old(), in.steps(),
                    in.batchSize(), in.mix(), new Random(in.seed()));
            List<Double> losses = new ArrayList<>();
            List<TrainingResult.EvalPoint> curve = new ArrayList<>();
            int evalEvery = Math.max(1, in.steps() / 5);
            double ema = Double.NaN;
            curve.add(new TrainingResult.EvalPoint(0, Double.NaN, current.loss(), current.accuracy()));
            for (int s = 1; s <= in.steps(); s++) {
                if (stop.getAsBoolean()) {
                    throw new Interrupted("round stopped after " + (s - 1) + " of " + in.steps() + " steps");
                }
                double loss = step(b.session(), sig, batches.get(s - 1), old, lrFeed ? in.learningRate() : -1);
                losses.add(loss);
                ema = Double.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
                if (s % evalEvery == 0 || s == in.steps()) {
                    EvalMetrics m = EvalMetrics.evaluate(model, in.heldOut());
                    curve.add(new TrainingResult.EvalPoint(s, ema, m.loss(), m.accuracy()));
                    LOG.info("fine-tune step {}/{}: train loss (EMA) {} held-out acc {}", s, in.steps(),
                            String.format("%.4f", ema), String.format("%.3f", m.accuracy()));
                }
            }
            EvalMetrics candidate = EvalMetrics.evaluate(model, in.heldOut());
            Files.createDirectories(target);
            SavedModelBundle.exporter(target.toString())
                    .withFunctions(b.function("serving_default"), b.function("train_step")).export();
            double secs = (System.nanoTime() - t0) / 1e9;
            TrainingResult tr = new TrainingResult(losses, curve, candidate, secs, in.fresh().size() + in.old().size());
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("fine_tuned_from", old.modelVersion());
            summary.put("steps", in.steps());
            summary.put("new_pairs", in.fresh().size());
            summary.put("replayed_pairs", in.old().size());
            summary.put("held_out_pairs", in.heldOut().size());
            current.asMap().forEach((k, v) -> summary.put("current." + k, v));
            candidate.asMap().forEach((k, v) -> summary.put("candidate." + k, v));
            summary.putAll(in.summary());
            TrainingReport.write(target, tr, summary);
            Map<String, Double> metrics = new LinkedHashMap<>(candidate.asMap());
            Map<String, String> lineage = new LinkedHashMap<>(old.lineage());
            lineage.put("fine_tuned_from", old.modelVersion());
            lineage.put("fine_tune_steps", Integer.toString(in.steps()));
            lineage.put("fine_tune_seed", Long.toString(in.seed()));
            ModelManifest.Normalization norm = candidate.scoreStd() > 0 && Double.isFinite(candidate.scoreMean())
                    ? new ModelManifest.Normalization(candidate.scoreMean(), candidate.scoreStd()) : old.normalization();
            ModelManifest m = new ModelManifest(old.name(), old.version() + 1, old.maxSeqLen(), old.padId(),
                    old.vocabSize(), old.tokenizer(), old.tokenizerFile(), old.heads(), norm, metrics, old.version(),
                    lineage, System.currentTimeMillis(), null).withDigestsOf(target);
            m.write(target);
            LOG.info("round trained in {} s: current {} | candidate {}", String.format("%.1f", secs), current, candidate);
            return new Output(current, candidate, tr, m);
        }
    }

    /** One train_step through the session, feeding the signature's tensors (and the learning rate if >= 0). */
    static double step(Session session, SignatureDef sig, List<PreferenceExample> batch, ModelManifest mf, double lr) {
        List<int[]> c = new ArrayList<>();
        List<int[]> r = new ArrayList<>();
        float[] margin = new float[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            PreferenceExample e = batch.get(i);
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
            try (Result res = run.run()) {
                return ((TFloat32) res.get(0)).getFloat();
            }
        }
    }
}
