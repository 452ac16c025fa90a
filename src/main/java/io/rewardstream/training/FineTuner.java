package io.rewardstream.training;

import io.rewardstream.scoring.ModelManifest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
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
 * Fine-tunes an exported built-in model (any SavedModel with the {@code train_step} signature and the
 * bytes tokenizer): loads it, calls {@code train_step} on new pairs for N steps, and re-exports both
 * signatures into another directory with a new manifest (version + 1, parent = old version, fresh
 * metrics and normalisation, digests). The learning rate is whatever the exported schedule gives at the
 * saved step counter: after the original run that is the floor {@code learningRate * minLrFraction}.
 * Stateless; each call owns its session.
 */
public final class FineTuner {
    private static final Logger LOG = LoggerFactory.getLogger(FineTuner.class);

    private FineTuner() {
    }

    /**
     * What a fine-tuning run did.
     *
     * @param losses   train_step loss of every step (each before its own update)
     * @param before   evaluation of the source model on {@code eval} (null when eval is empty)
     * @param after    evaluation of the re-exported model
     * @param manifest the new manifest written into the target directory
     */
    public record Result(List<Double> losses, EvalMetrics before, EvalMetrics after, ModelManifest manifest) {
    }

    /**
     * @param source    exported model directory (read only)
     * @param target    new directory (must not hold a SavedModel)
     * @param pairs     new training pairs
     * @param eval      pairs for before/after metrics and the new normalisation; may be empty
     * @throws IOException when a directory cannot be read or written
     */
    public static Result fineTune(Path source, Path target, List<PreferenceExample> pairs, List<PreferenceExample> eval,
                                  int steps, int batchSize, long seed) throws IOException {
        return fineTune(source, target, pairs, eval, steps, batchSize, seed, -1);
    }

    /**
     * As {@link #fineTune(Path, Path, List, List, int, int, long)} with an explicit manifest version for the
     * result ({@code newVersion < 0}: source version + 1), e.g. a release number chosen by the retraining job.
     */
    public static Result fineTune(Path source, Path target, List<PreferenceExample> pairs, List<PreferenceExample> eval,
                                  int steps, int batchSize, long seed, long newVersion) throws IOException {
        if (pairs.isEmpty() || steps < 1 || batchSize < 1) {
            throw new IllegalArgumentException("fine-tuning needs pairs, steps >= 1 and batch_size >= 1");
        }
        if (Files.exists(target.resolve("saved_model.pb"))) {
            throw new IOException("refusing to overwrite an existing SavedModel in " + target);
        }
        try (ExportedModel model = ExportedModel.load(source)) {
            ModelManifest old = model.manifest();
            SavedModelBundle b = model.bundle();
            EvalMetrics before = eval.isEmpty() ? null : EvalMetrics.evaluate(model, eval);
            SessionFunction train = b.function("train_step");
            Random rnd = new Random(seed);
            List<PreferenceExample> order = new ArrayList<>(pairs);
            Collections.shuffle(order, rnd);
            int pos = 0;
            List<Double> losses = new ArrayList<>();
            ProgressBar bar = new ProgressBar(steps, true);
            for (int s = 1; s <= steps; s++) {
                List<PreferenceExample> batch = new ArrayList<>();
                while (batch.size() < Math.min(batchSize, order.size())) {
                    if (pos == order.size()) {
                        Collections.shuffle(order, rnd);
                        pos = 0;
                    }
                    batch.add(order.get(pos++));
                }
                losses.add(step(train, batch, model::encode));
                bar.update(s, losses.get(losses.size() - 1));
            }
            Files.createDirectories(target);
            SavedModelBundle.Exporter ex = SavedModelBundle.exporter(target.toString())
                    .withFunctions(b.function("serving_default"), b.function("train_step"));
            if (b.metaGraphDef().getSignatureDefMap().containsKey(RewardGraph.RANKED_TRAIN_STEP)) {
                ex.withFunction(b.function(RewardGraph.RANKED_TRAIN_STEP));
            }
            ex.export();
            EvalMetrics after = eval.isEmpty() ? null : EvalMetrics.evaluate(model, eval);
            Map<String, Double> metrics = new LinkedHashMap<>(old.metrics());
            if (after != null) {
                metrics.putAll(after.asMap());
            }
            Map<String, String> lineage = new LinkedHashMap<>(old.lineage());
            lineage.put("fine_tuned_from", old.modelVersion());
            lineage.put("fine_tune_steps", Integer.toString(steps));
            lineage.put("fine_tune_pairs", Integer.toString(pairs.size()));
            lineage.put("fine_tune_seed", Long.toString(seed));
            ModelManifest.Normalization norm = after != null && after.scoreStd() > 0
                    ? new ModelManifest.Normalization(after.scoreMean(), after.scoreStd()) : old.normalization();
            ModelManifest m = new ModelManifest(old.name(), newVersion < 0 ? old.version() + 1 : newVersion, old.maxSeqLen(), old.padId(),
                    old.vocabSize(), old.tokenizer(), old.tokenizerFile(), old.heads(), norm, metrics, old.version(),
                    lineage, System.currentTimeMillis(), null).withDigestsOf(target);
            m.write(target);
            LOG.info("fine-tuned {} -> version {} in {} steps: loss {} -> {}", old.modelVersion(), m.version(), steps,
                    losses.get(0), losses.get(losses.size() - 1));
            return new Result(losses, before, after, m);
        }
    }

    /** One call of the {@code train_step} signature; returns its loss. */
    static double step(SessionFunction train, List<PreferenceExample> batch,
                       java.util.function.BiFunction<String, String, int[]> encoder) {
        List<int[]> c = new ArrayList<>();
        List<int[]> r = new ArrayList<>();
        float[] margin = new float[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            PreferenceExample e = batch.get(i);
            c.add(encoder.apply(e.prompt(), e.chosen()));
            r.add(encoder.apply(e.prompt(), e.rejected()));
            margin[i] = (float) e.margin();
        }
        // one T for all four matrices: callers of the contract may assume a common [B,T]
        int t = 1;
        for (int[] x : c) {
            t = Math.max(t, x.length);
        }
        for (int[] x : r) {
            t = Math.max(t, x.length);
        }
        Batches.Padded pc = Batches.pad(c, t);
        Batches.Padded pr = Batches.pad(r, t);
        try (TInt32 ci = pc.idsTensor(); TInt32 cm = pc.maskTensor(); TInt32 ri = pr.idsTensor();
             TInt32 rm = pr.maskTensor(); TFloat32 mt = TFloat32.vectorOf(margin)) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("chosen_ids", ci);
            in.put("chosen_mask", cm);
            in.put("rejected_ids", ri);
            in.put("rejected_mask", rm);
            in.put("margin", mt);
            try (org.tensorflow.Result res = train.call(in)) {
                return ((TFloat32) res.get("loss").orElseThrow()).getFloat();
            }
        }
    }
}
